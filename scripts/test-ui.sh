#!/usr/bin/env bash
# Checks, tests and builds the desktop UI (ui/): svelte-check (TypeScript), vitest, vite build.
# Idempotent; installs nothing globally (npm ci into ui/node_modules from ui/package-lock.json).
set -euo pipefail
cd "$(dirname "$0")/../ui"
npm ci --no-audit --no-fund
npm run check
npm test -- --run
npm run build
