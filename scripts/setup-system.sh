#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages Dukkan needs to build and test, only when missing.
# Idempotent: a machine that already has everything spends well under a second here.
set -euo pipefail

packages=(
  libwebkit2gtk-4.1-dev libgtk-3-dev librsvg2-dev libayatana-appindicator3-dev libsoup-3.0-dev
  build-essential pkg-config libssl-dev xvfb xauth webkit2gtk-driver
  # The till's store key lives in the Secret Service (keyring crate over libdbus); the tests run
  # against a real one: gnome-keyring in a private D-Bus session (scripts/with-keyring.sh).
  libdbus-1-dev dbus gnome-keyring
  # SQLCipher's vendored OpenSSL is built from source with perl and make.
  perl make
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing system packages: ${missing[*]}"
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The UI toolchain (Vite 7) needs Node.js 20 or newer; Debian 12's own nodejs is 18.
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "setup: Node.js 20 or newer is required for the UI (found: $(node --version 2>/dev/null || echo none))." >&2
  echo "setup: install it from your distribution's backports or nodesource, then run again." >&2
  exit 1
fi
