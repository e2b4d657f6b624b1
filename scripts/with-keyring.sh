#!/usr/bin/env bash
# Runs a command with a real Secret Service: gnome-keyring in this D-Bus session, its keyrings
# in a throwaway directory, unlocked. Call it inside a private session bus:
#   dbus-run-session -- bash scripts/with-keyring.sh cargo test ...
# The till keeps its store key there (crates/device/src/store_key.rs); the tests that check
# so are told to insist on it (DUKKAN_REQUIRE_SECRET_SERVICE=1).
set -euo pipefail

if [ -z "${DBUS_SESSION_BUS_ADDRESS:-}" ]; then
  echo "with-keyring: no D-Bus session; run me under dbus-run-session" >&2
  exit 1
fi
keyrings=$(mktemp -d)
trap 'rm -rf "$keyrings"' EXIT
export XDG_DATA_HOME="$keyrings"
# --unlock reads the (throwaway) login keyring's password from stdin and creates it unlocked.
eval "$(printf 'dukkan-test' | gnome-keyring-daemon --unlock --components=secrets)"
export GNOME_KEYRING_CONTROL
export DUKKAN_REQUIRE_SECRET_SERVICE=1
"$@"
