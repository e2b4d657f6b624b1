#!/usr/bin/env bash
# End-to-end tests of the real desktop app (tests/e2e_counter.rs): builds the UI, installs
# tauri-driver into target/tools (nothing outside the clone), and runs the ignored e2e tests one
# at a time (tauri-driver's ports are fixed). Starts its own Xvfb when there is no display.
# Screenshots: target/e2e/*.png
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f ui/dist/index.html ]; then
  (cd ui && npm ci --no-audit --no-fund && npm run build)
fi
if [ ! -x target/tools/bin/tauri-driver ]; then
  cargo install tauri-driver --version ^2 --locked --root "$PWD/target/tools"
fi
export TAURI_DRIVER="$PWD/target/tools/bin/tauri-driver"
cargo test -p dukkan --test e2e_counter --test e2e_sync -- --ignored --test-threads=1
