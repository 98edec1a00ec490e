"""Rendered host files: hardened unit, nginx site and includes, firewall, hooks."""

from __future__ import annotations

import re
from pathlib import Path

from deployer.envfile import escape as env_escape
from deployer.steps import service, web
from deployer.steps.app import env_content
from deployer.target import build_target

REPO = Path(__file__).resolve().parents[2]
# The sample app's project: this repository, shipping only app/.
SAMPLE = {"source": str(REPO), "include": ["app"], "requirements": "app/requirements.txt"}


def target(**app):
    return build_target(
        {"host": "203.0.113.10", "domain": "api.example.com", "app": {**SAMPLE,
                                                                      **app}}
    )


def directives(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            out.setdefault(key, []).append(value)
    return out


def test_unit_runs_each_release_from_its_real_path() -> None:
    unit = service.unit_file(target()).content
    d = directives(unit)
    assert d["WorkingDirectory"] == ["/srv/app/releases/%i"]
    assert d["EnvironmentFile"] == ["/srv/app/shared/.env", "/srv/app/releases/%i/release.env"]
    exec_start = d["ExecStart"][0]
    assert exec_start.startswith("/srv/app/releases/%i/venv/bin/gunicorn ")
    assert "--bind unix:/run/deployer/app/%i/web.sock" in exec_start  # its own socket
    assert d["RuntimeDirectory"] == ["deployer/app/%i"]  # made at start, removed at stop
    assert "uvicorn_worker.UvicornWorker" in exec_start and exec_start.endswith(" app.main:app")
    assert "--config app/gunicorn.conf.py" in exec_start  # the sample app brings its own
    assert "current" not in unit
    assert d["User"] == ["app"] and d["Group"] == ["app"]


def test_unit_hardening_directives() -> None:
    d = directives(service.unit_file(target()).content)
    for key, value in {
        "ProtectSystem": "strict", "NoNewPrivileges": "yes", "CapabilityBoundingSet": "",
        "PrivateTmp": "yes", "PrivateDevices": "yes", "ProtectHome": "yes",
        "ProtectProc": "invisible", "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
        "IPAddressDeny": "any", "ReadWritePaths": "/srv/app/shared/data",
    }.items():  # fmt: skip
        assert d[key] == [value], key
    assert d["SystemCallFilter"][0] == "@system-service"


def test_unit_allows_outbound_with_a_managed_database() -> None:
    t = target(secrets={"DATABASE_URL": "postgresql+psycopg://u:p@db.internal/app"})
    assert "IPAddressDeny" not in service.unit_file(t).content


def test_unit_without_gunicorn_config(tmp_path: Path) -> None:
    src = tmp_path / "hello"
    src.mkdir()
    t = build_target({"host": "h.example.com", "domain": "a.example.com",
                      "app": {"source": str(src), "asgi": "hello.api:application"}})
    exec_start = directives(service.unit_file(t).content)["ExecStart"][0]
    assert "--config" not in exec_start and exec_start.endswith(" hello.api:application")


def test_site_before_and_after_the_certificate() -> None:
    t = target()
    files = {f.path: f.content for f in web.nginx_files(t, tls=False)}
    site = files["/etc/nginx/sites-available/app.conf"]
    assert "listen 443" not in site and "/.well-known/acme-challenge/" in site
    assert "return 301 https://$host$request_uri;" in site
    assert "/var/lib/deployer/app/serving.sock" not in files  # the release switch's own
    site = {f.path: f.content for f in web.nginx_files(t, tls=True)}[
        "/etc/nginx/sites-available/app.conf"
    ]
    assert "listen 443 ssl" in site
    # read at each handshake from one fixed file: a renewal needs no reload
    assert "default /etc/nginx/deployer/tls/api.example.com.pem;" in site
    assert "ssl_certificate $deployer_tls_app;" in site
    assert "ssl_certificate_key $deployer_tls_app;" in site
    assert "include /etc/nginx/deployer/tls.conf;" in site
    assert "include /etc/nginx/deployer/security-headers.conf;" in site
    assert "server unix:/var/lib/deployer/app/serving.sock;" in site
    block = site[site.index("upstream app_backend {") :].split("}", 1)[0]
    assert "keepalive" not in block  # an idle connection would stay with the old release
    assert "proxy_set_header Upgrade $http_upgrade;" in site
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in site
    assert "client_max_body_size 10m;" in site
    assert site.count("server_tokens off;") == 2
    assert "add_header" not in site  # headers live in one include only
    assert re.findall(r"server_name (\S+);", site) == ["api.example.com;"[:-1]] * 2


def test_tls_profile_is_mozilla_intermediate() -> None:
    tls = {f.path: f.content for f in web.nginx_files(target(), tls=True)}[
        web.TLS_INCLUDE
    ]
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in tls
    assert "ssl_prefer_server_ciphers off;" in tls
    assert "ssl_session_tickets off;" in tls
    ciphers = re.search(r"ssl_ciphers (\S+);", tls)[1].split(":")
    assert all(c.startswith("ECDHE-") and ("GCM" in c or "CHACHA20" in c) for c in ciphers)


def test_security_headers_include() -> None:
    headers = {f.path: f.content for f in web.nginx_files(target(), tls=True)}[
        web.HEADERS_INCLUDE
    ]
    assert 'Strict-Transport-Security "max-age=63072000" always;' in headers
    for name in ("X-Content-Type-Options", "X-Frame-Options", "Content-Security-Policy",
                 "Referrer-Policy"):
        assert f"add_header {name} " in headers


def test_env_file_escapes_values() -> None:
    assert env_escape('a"b\\c$d`e') == 'a\\"b\\\\c\\$d\\`e'
    t = target(env={"ENVIRONMENT": "production"}, secrets={"SECRET_KEY": 'x"$(id)'})
    text = env_content(t)
    assert 'SECRET_KEY="x\\"\\$(id)"' in text
    assert 'DATABASE_URL="sqlite:////srv/app/shared/data/app.db"' in text
    assert text.count("\n") == 4  # comment + three variables, one per line


def test_firewall_allows_only_ssh_http_https() -> None:
    conf = web.nftables_file(web.firewall_ports(["22", "2222"])).content
    assert "policy drop;" in conf
    assert "tcp dport { 22, 80, 443, 2222 } accept" in conf
    assert "tcp dport { 22, 80, 443 } accept" in web.nftables_file(web.firewall_ports([])).content


def test_certbot_files_and_hook() -> None:
    files = {f.path: f for f in web.certbot_files(target())}
    hook = files[web.HOOK]
    assert hook.mode == "0755" and "reload" not in hook.content.split("\nset -e")[1]
    assert web.ACME_CA not in files  # no custom CA for public ACME servers


def test_hook_installs_chain_and_key_as_one_file_for_nginx(tmp_path: Path) -> None:
    import grp
    import os
    import subprocess

    from deployer.render import render

    live = tmp_path / "live" / "api.example.com"
    live.mkdir(parents=True)
    (live / "fullchain.pem").write_text("CHAIN\n")
    (live / "privkey.pem").write_text("KEY\n")
    tls = tmp_path / "tls"
    tls.mkdir()
    hook = tmp_path / "hook"
    hook.write_text(render("certbot-deploy-hook.sh.j2", tls_dir=str(tls)))
    env = {**os.environ, "RENEWED_LINEAGE": str(live)}
    for _ in range(2):  # a renewal replaces the file in place
        subprocess.run(["sh", str(hook)], env=env, check=True)
    out = tls / "api.example.com.pem"
    assert out.read_text() == "CHAIN\nKEY\n"
    assert out.stat().st_mode & 0o777 == 0o640
    assert grp.getgrgid(out.stat().st_gid).gr_name == "www-data"
    assert [p.name for p in tls.iterdir()] == ["api.example.com.pem"]
