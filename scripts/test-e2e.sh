#!/usr/bin/env bash
# End-to-end tests of the real desktop app (tests/e2e_counter.rs): builds the UI, installs
# tauri-driver into target/tools (nothing outside the clone), and runs the ignored e2e tests one
# at a time (tauri-driver's ports are fixed). Starts its own Xvfb when there is no display.
# Screenshots: target/e2e/*.png
#
# Then proves packaging: packages the very binary the tests drove into a .deb with the Tauri CLI
# from ui/node_modules (`tauri bundle --debug --bundles deb`: no second compile; the `dukkan`
# package builds with `custom-protocol` by default, as `tauri build` would) and checks that it
# holds the binary. Set DUKKAN_SKIP_DEB=1 to skip that step when iterating on the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
# Always rebuild ui/dist: the app embeds it at compile time, and a stale dist tests old UI.
if [ ! -d ui/node_modules ]; then
  (cd ui && npm ci --no-audit --no-fund)
fi
(cd ui && npm run build)
if [ ! -x target/tools/bin/tauri-driver ]; then
  cargo install tauri-driver --version ^2 --locked --root "$PWD/target/tools"
fi
export TAURI_DRIVER="$PWD/target/tools/bin/tauri-driver"
cargo test -p dukkan --test e2e_counter --test e2e_sync -- --ignored --test-threads=1

if [ "${DUKKAN_SKIP_DEB:-0}" != 1 ]; then
  start=$(date +%s)
  # The binary the e2e tests drove (built by `cargo test`, so with the device crate's test-only
  # `testing` visibility on; a release goes through `tauri build`, which builds without it).
  [ -x target/debug/dukkan ] || { echo "target/debug/dukkan is missing: run the e2e tests first" >&2; exit 1; }
  ui/node_modules/.bin/tauri bundle --debug --bundles deb --ci
  deb=$(ls -t target/debug/bundle/deb/*.deb | head -n 1)
  contents=$(dpkg-deb -c "$deb")
  if ! grep -Eq ' (\./)?usr/bin/dukkan$' <<<"$contents"; then
    echo "$deb does not contain usr/bin/dukkan:" >&2
    echo "$contents" >&2
    exit 1
  fi
  echo "packaging: $deb ($(du -h "$deb" | cut -f1)) holds usr/bin/dukkan; built in $(( $(date +%s) - start )) s"
fi
