#!/usr/bin/env bash
# Makes this checkout's update-signing test key pair, once (target/e2e-update/update.key and
# .pub: under target/, never in git; a fresh clone makes a new one), and prints the TAURI_CONFIG
# that builds its public key into the app. The tests export it, so every build of a test run
# carries the same key and the updater's end-to-end test (tests/e2e_update.rs) can sign
# packages the app accepts. A release build takes the shop's real public key the same way.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=target/e2e-update
mkdir -p "$dir"
if [ ! -s "$dir/update.key.pub" ]; then
  [ -x ui/node_modules/.bin/tauri ] || (cd ui && npm ci --no-audit --no-fund >/dev/null)
  ui/node_modules/.bin/tauri signer generate --ci -f -p "" -w "$dir/update.key" >/dev/null
fi
printf '{"plugins":{"updater":{"pubkey":"%s"}}}' "$(tr -d '\n' <"$dir/update.key.pub")"
