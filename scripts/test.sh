#!/usr/bin/env bash
# Runs every check and test of Dukkan. Installs what a fresh Debian/Ubuntu machine lacks first.
#   scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "system packages"
bash scripts/setup-system.sh

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# One profile and no incremental artefacts: CI builds from scratch once.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

step "desktop UI (svelte-check, vitest, vite build -> ui/dist, which the app embeds)"
bash scripts/test-ui.sh

# Every build of this run carries the run's update-signing test key (scripts/update-test-key.sh),
# so the tests and the end-to-end updater test share one build of the app.
TAURI_CONFIG="$(bash scripts/update-test-key.sh)"
export TAURI_CONFIG

step "format"
cargo fmt --all --check

step "lints (clippy -D warnings)"
cargo clippy --workspace --all-targets --locked -- -D warnings

# The tills keep their store keys in a real Secret Service (gnome-keyring in a private D-Bus
# session, started and thrown away by scripts/with-keyring.sh), as on a Linux desktop.
step "tests (unit, property, store, server against real Postgres; a real Secret Service)"
dbus-run-session -- bash scripts/with-keyring.sh cargo test --workspace --locked

step "end to end: the real desktop app through tauri-driver under Xvfb"
dbus-run-session -- bash scripts/with-keyring.sh bash scripts/test-e2e.sh

step "all checks passed"
