#!/bin/sh
# Azure App Service (Linux, Python) startup command for the package `deployer package` builds:
# set siteConfig.appCommandLine to `sh startup.sh`. The package is mounted read-only
# (WEBSITE_RUN_FROM_PACKAGE), so the pinned requirements go into a virtualenv under /home
# (persistent, shared by instances), one per requirements hash; later starts reuse it.
set -eu
cd "$(dirname "$0")"

req_hash=$(sha256sum requirements.txt | cut -c1-16)
venv="${DEPLOYER_VENV_ROOT:-/home/deployer/venvs}/$req_hash"

if [ ! -f "$venv/.complete" ]; then
    mkdir -p "$(dirname "$venv")"
    exec 9>"$venv.lock"
    if command -v flock >/dev/null 2>&1; then flock 9; fi
    if [ ! -f "$venv/.complete" ]; then
        rm -rf "$venv"
        python3 -m venv "$venv"
        "$venv/bin/pip" install --disable-pip-version-check --no-cache-dir \
            --requirement requirements.txt
        touch "$venv/.complete"
    fi
    exec 9>&-
fi

# Migrations before the app binds: App Service sends an instance no traffic until it answers on
# $PORT, so a release never serves a database it has not migrated; a failed migration fails the
# start (set -e) and the previous instances keep serving. DEPLOYER_MIGRATIONS (an app setting the
# stack sets) names the alembic.ini inside the package.
if [ -n "${DEPLOYER_MIGRATIONS:-}" ]; then
    "$venv/bin/alembic" -c "$DEPLOYER_MIGRATIONS" upgrade head
fi

# app/gunicorn.conf.py binds $HOST:$PORT; App Service sends traffic to $PORT (8000 by default).
export HOST="${HOST:-0.0.0.0}" PORT="${PORT:-8000}"
exec "$venv/bin/python" -m gunicorn --config app/gunicorn.conf.py \
    --worker-class uvicorn_worker.UvicornWorker app.main:app
