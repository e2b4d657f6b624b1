#!/usr/bin/env bash
# Builds and starts the Dukkan desktop app on its embedded SQLite store (no server needed).
# Installs what a fresh Debian/Ubuntu machine lacks first.
#   scripts/run.sh            (data in the platform app-data dir, ~/.local/share/om.dukkan.desk)
#   DUKKAN_DATA_DIR=/tmp/shop scripts/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-system.sh
# The UI is embedded into the binary at compile time (tauri.conf.json: frontendDist = ui/dist), so
# build it first; reinstall and rebuild only when something under ui/ changed since the last build.
if [ ! -d ui/node_modules ] || [ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]; then
  (cd ui && npm ci --no-audit --no-fund)
fi
if [ ! -f ui/dist/index.html ] || [ -n "$(find ui/src ui/index.html ui/vite.config.ts i18n -newer ui/dist/index.html -print -quit)" ]; then
  (cd ui && npm run build)
fi
# No devUrl is configured, so the debug binary serves the bundled UI (tauri.conf.json: frontendDist).
cargo build --locked -p dukkan
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "run: no display found; starting the app inside a virtual X server (xvfb-run)"
  exec xvfb-run -a target/debug/dukkan "$@"
fi
exec target/debug/dukkan "$@"
