#!/usr/bin/env bash
# The main job on the local default: boot a sandbox host, bootstrap the sample app on it, serve HTTPS.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/deployer quickstart "$@"
