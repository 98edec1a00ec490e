#!/usr/bin/env bash
# Install everything the tests need, then lint and run the whole suite (unit, stacks, app, e2e).
# End-to-end tests boot sandbox hosts: they need root and systemd-nspawn.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/pytest "$@"
