#!/usr/bin/env bash
# Baseline for bench/bootstrap_bench.py: the same minimum bootstrap steps as `deployer bootstrap`
# as a plain sequential shell script (no fact checks, no diffing; re-running repeats every step).
# Usage: plain_bootstrap.sh SSH_PORT SSH_KEY DOMAIN ACME_SERVER ACME_CA ARTIFACT_TAR REQUIREMENTS ASGI
set -euo pipefail
port=$1 key=$2 domain=$3 acme=$4 ca=$5 tar=$6 req=$7 asgi=$8
known=$(mktemp); trap 'rm -f "$known"' EXIT
ssh-keyscan -p "$port" -t ed25519 127.0.0.1 2>/dev/null > "$known"
ssh_() { ssh -i "$key" -p "$port" -o UserKnownHostsFile="$known" -o BatchMode=yes \
  -o LogLevel=ERROR deploy@127.0.0.1 "$@"; }
ssh_ 'cat > /tmp/plain.tar' < "$tar"
ssh_ 'cat > /tmp/plain-acme-ca.pem' < "$ca"
ssh_ sudo bash -s -- "$domain" "$acme" "$req" "$asgi" <<'REMOTE'
set -euo pipefail
domain=$1 acme=$2 req=$3 asgi=$4
export DEBIAN_FRONTEND=noninteractive
apt-get -qq update
apt-get -qq install -y --no-install-recommends nginx certbot python3-venv >/dev/null
id plain >/dev/null 2>&1 || useradd --system --user-group --home-dir /srv/plain \
  --shell /usr/sbin/nologin plain
mkdir -p /srv/plain/rel /srv/plain/data /var/www/acme
tar -x -f /tmp/plain.tar -C /srv/plain/rel
python3 -m venv /srv/plain/rel/venv
/srv/plain/rel/venv/bin/pip install -q --root-user-action=ignore -r "/srv/plain/rel/$req"
printf 'SECRET_KEY=%s\nDATABASE_URL=sqlite:////srv/plain/data/app.db\n' \
  "$(head -c 32 /dev/urandom | base64 -w0)" > /srv/plain/.env
chown -R plain: /srv/plain/data; chmod 600 /srv/plain/.env
cat > /etc/systemd/system/plain.service <<UNIT
[Service]
User=plain
WorkingDirectory=/srv/plain/rel
EnvironmentFile=/srv/plain/.env
ExecStart=/srv/plain/rel/venv/bin/gunicorn -b 127.0.0.1:8001 -k uvicorn_worker.UvicornWorker $asgi
[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload; systemctl enable --now plain
rm -f /etc/nginx/sites-enabled/default
http="server { listen 80; server_name $domain;
  location /.well-known/acme-challenge/ { root /var/www/acme; }
  location / { return 301 https://\$host\$request_uri; } }"
printf '%s\n' "$http" > /etc/nginx/sites-enabled/plain.conf
systemctl reload nginx
REQUESTS_CA_BUNDLE=/tmp/plain-acme-ca.pem certbot certonly -q --webroot -w /var/www/acme \
  -d "$domain" --server "$acme" --non-interactive --agree-tos --register-unsafely-without-email \
  --keep-until-expiring
cat > /etc/nginx/sites-enabled/plain.conf <<SITE
$http
server { listen 443 ssl; server_name $domain;
  ssl_certificate /etc/letsencrypt/live/$domain/fullchain.pem;
  ssl_certificate_key /etc/letsencrypt/live/$domain/privkey.pem;
  location / { proxy_pass http://127.0.0.1:8001; } }
SITE
systemctl reload nginx
REMOTE
