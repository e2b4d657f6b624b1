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

# The updater's test (tests/e2e_update.rs) updates the app from this version to the next, so it
# needs the next one too: the same app built with the next patch version and signed with this
# run's test key, as a release would be. Built first, so that the build left in target/debug is
# the current version, which every e2e test starts from and the .deb below packages.
if [ -z "${TAURI_CONFIG:-}" ]; then
  TAURI_CONFIG="$(bash scripts/update-test-key.sh)"
  export TAURI_CONFIG
fi
updates="$PWD/target/e2e-update"
pubkey="$(tr -d '\n' <"$updates/update.key.pub")"
current="$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)"
next="$(awk -F. '{ printf "%d.%d.%d", $1, $2, $3 + 1 }' <<<"$current")"
TAURI_CONFIG="{\"version\":\"$next\",\"plugins\":{\"updater\":{\"pubkey\":\"$pubkey\"}}}" \
  cargo test -p dukkan --test e2e_update --no-run
cp target/debug/dukkan "$updates/dukkan-$next"
ui/node_modules/.bin/tauri signer sign -f "$updates/update.key" -p "" --app-version "$next" \
  "$updates/dukkan-$next" >/dev/null
export DUKKAN_E2E_UPDATE_DIR="$updates" DUKKAN_E2E_NEXT_VERSION="$next"

cargo test -p dukkan --test e2e_counter --test e2e_sync --test e2e_update -- --ignored --test-threads=1

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
