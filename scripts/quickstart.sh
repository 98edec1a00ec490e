#!/usr/bin/env bash
# The main job on the local default: boot a sandbox host, bootstrap the sample app on it, serve HTTPS.
set -euo pipefail
cd "$(dirname "$0")/.."
# Sandbox hosts are systemd-nspawn machines: this needs root.
if [ "$(id -u)" -ne 0 ]; then exec sudo bash "$0" "$@"; fi
bash scripts/setup.sh
exec .venv/bin/deployer quickstart "$@"
