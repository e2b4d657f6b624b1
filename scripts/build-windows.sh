#!/usr/bin/env bash
# Builds the Windows installer of the Dukkan desktop app from this Linux machine:
#   scripts/build-windows.sh            -> target/windows/x86_64-pc-windows-gnu/release/bundle/nsis/Dukkan_<version>_x64-setup.exe
#
# The route (Tauri's cross-compilation guide, NSIS part): the x86_64-pc-windows-gnu Rust target
# (rustup), the MinGW-w64 cross compiler and linker (Debian: gcc-mingw-w64-x86-64; SQLCipher's
# vendored OpenSSL is cross-built with it), and NSIS's makensis (Debian: nsis) driven by the
# Tauri CLI from ui/node_modules. The installer installs WebView2 when a PC lacks it
# (tauri.conf.json: bundle.windows.webviewInstallMode = downloadBootstrapper, silent).
# Its own target directory (target/windows), so it never invalidates the Linux build.
# A release build from scratch: tens of minutes on 2 cores.
#
# Needs GitHub at the bundling step: the Tauri bundler downloads its NSIS plugin
# (nsis_tauri_utils.dll, checked against a pinned hash) from github.com/tauri-apps. On a machine
# that reaches only package registries the app builds (dukkan.exe, above) and the bundler stops
# with "failed to bundle project: failed to lookup address information" (README, Packaging).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-system.sh

packages=(gcc-mingw-w64-x86-64 nsis)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
rustup target add x86_64-pc-windows-gnu

if [ ! -d ui/node_modules ]; then
  (cd ui && npm ci --no-audit --no-fund)
fi
(cd ui && npm run build)
CARGO_TARGET_DIR="$PWD/target/windows" ui/node_modules/.bin/tauri build \
  --target x86_64-pc-windows-gnu --bundles nsis --ci
ls -l target/windows/x86_64-pc-windows-gnu/release/bundle/nsis/
