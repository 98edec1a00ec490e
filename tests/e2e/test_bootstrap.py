"""`deployer bootstrap` on one fresh sandbox host, bootstrapped once and checked many ways.

The module fixture runs the real CLI against a host booted from the bare base image (nothing
installed), then a second time; the tests read that host (the renewal test, which changes only
the certificate, runs last).
"""

from __future__ import annotations

import json
import re
import shlex
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from bootstrap_helpers import (
    SAMPLE_LAYOUT,
    SECRET,
    bootstrap_json,
    cert_serial,
    deployer,
    openssl_connect,
    peer_cert,
    sample_app_args,
    sample_app_source,
    wait_until,
    write_outputs,
)

from deployer.sandbox import Host

pytestmark = pytest.mark.e2e


@dataclass
class Bootstrapped:
    host: Host
    outputs: Path
    first: dict
    second: dict
    dry: dict
    output_text: str  # everything deployer printed in the three runs
    started_before: str
    started_after: str


def active_enter(host: Host) -> str:
    return host.ssh(
        'systemctl show -p ActiveEnterTimestamp --value "$(systemctl list-units --plain '
        "--no-legend --state=active 'app@*' | awk '{print $1}')\""
    ).stdout.strip()


@pytest.fixture(scope="module")
def booted(lab, tmp_path_factory) -> Iterator[Bootstrapped]:
    host = lab.host()  # bare base image: packages are installed by bootstrap
    tmp = tmp_path_factory.mktemp("bootstrap")
    outputs = write_outputs(host, tmp)
    args = sample_app_args(outputs)
    p1, first = bootstrap_json(*args)
    assert p1.returncode == 0, p1.stdout + p1.stderr
    before = active_enter(host)
    p2, second = bootstrap_json(*args)
    after = active_enter(host)
    p3, dry = bootstrap_json(*args, "--dry-run")
    text = "".join(p.stdout + p.stderr for p in (p1, p2, p3))
    yield Bootstrapped(host, outputs, first, second, dry, text, before, after)
    lab.release(host)


def test_fresh_host_serves_https_health_through_nginx(booted: Bootstrapped) -> None:
    out = booted.host.outputs()
    assert booted.first["changed"] > 0 and booted.first["failed"] == 0
    health = next(s for s in booted.first["steps"] if s["name"] == "health")
    assert '"status":"ok"' in health["detail"].replace(" ", "")
    # certificate chain verifies against the sandbox ACME root and names the domain
    from cryptography import x509

    cert = x509.load_der_x509_certificate(peer_cert(booted.host))
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert out["domain"] in names.get_values_for_type(x509.DNSName)
    assert "Pebble" in cert.issuer.rfc4514_string()


def post(host: Host, path: str, body: bytes, content_type: str) -> tuple[int, dict]:
    """POST over HTTPS to the host's domain (verified against the ACME root); (status, JSON)."""
    import http.client
    import ssl

    out = host.outputs()
    ctx = ssl.create_default_context(cafile=out["acme_root"])
    conn = http.client.HTTPSConnection(out["domain"], 443, timeout=10)
    sock = socket.create_connection((out["address"], 443), timeout=10)
    conn.sock = ctx.wrap_socket(sock, server_hostname=out["domain"])
    try:
        conn.request("POST", path, body, {"Content-Type": content_type})
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read() or b"null")
    finally:
        conn.close()


def test_first_deploy_answers_token_for_a_created_user(booted: Bootstrapped) -> None:
    """Migrated on its first deploy: the database has its tables, not just /health's 200."""
    user = {"username": "first-user", "email": "first@example.com", "password": "p" * 16}
    status, created = post(booted.host, "/users", json.dumps(user).encode(), "application/json")
    assert status == 201, created
    form = f"username={user['username']}&password={user['password']}".encode()
    status, token = post(booted.host, "/token", form, "application/x-www-form-urlencoded")
    assert status == 200, token
    assert token["token_type"] == "bearer" and token["access_token"]


def test_http_redirects_to_https(booted: Bootstrapped) -> None:
    from deployer.http import get
    from deployer.target import build_target, from_outputs

    target = build_target(from_outputs(booted.host.outputs()))
    answer = get(target, "/health", scheme="http")
    assert answer.status == 301
    assert answer.location == f"https://{target.domain}/health"


def test_second_run_changes_nothing_and_keeps_the_service_running(booted: Bootstrapped) -> None:
    assert booted.second["changed"] == 0, booted.second
    assert booted.second["failed"] == 0
    assert booted.started_before and booted.started_before == booted.started_after
    assert booted.dry["changed"] == 0 and booted.dry["dry_run"] is True


def test_unit_is_hardened_and_runs_as_the_app_user(booted: Bootstrapped) -> None:
    host = booted.host
    unit = host.ssh("systemctl list-units --plain --no-legend --state=active 'app@*'").stdout
    name = unit.split()[0]
    report = host.ssh(f"sudo systemd-analyze security {name} --no-pager").stdout
    score = float(re.search(r"Overall exposure level for \S+: ([0-9.]+)", report)[1])
    assert score <= 2.0, report[-2000:]
    users = host.ssh(
        "ps -o user= -C gunicorn,python3 | sort -u; "
        f"ps -o user= --ppid $(systemctl show -p MainPID --value {name})"
    ).stdout
    pid = host.ssh(f"systemctl show -p MainPID --value {name}").stdout.strip()
    owner = host.ssh(f"ps -o user= -p {pid}").stdout.strip()
    assert owner == "app", users
    assert host.ssh(f"ps -o user= --ppid {pid} | sort -u").stdout.split() == ["app"]


def test_env_file_is_private_and_holds_the_exact_secret(booted: Bootstrapped) -> None:
    host = booted.host
    assert host.ssh("sudo stat -c '%a %U %G' /srv/app/shared/.env").stdout.split() == [
        "600", "app", "app",
    ]  # fmt: skip
    pid = host.ssh(
        'systemctl show -p MainPID --value "$(systemctl list-units --plain --no-legend '
        "--state=active 'app@*' | awk '{print $1}')\""
    ).stdout.strip()
    environ = host.ssh(f"sudo cat /proc/{pid}/environ").stdout.split("\0")
    assert f"SECRET_KEY={SECRET}" in environ  # quoting/escaping survived intact


def test_secret_never_in_process_list_journal_or_output(booted: Bootstrapped) -> None:
    needle = SECRET[7:47]  # the random hex part
    host = booted.host
    assert needle not in booted.output_text
    assert needle not in host.ssh("ps -eo args ww").stdout
    assert needle not in host.ssh("sudo journalctl --no-pager -o cat").stdout
    assert needle not in host.ssh("sudo cat /srv/app/state/audit.log").stdout


@pytest.mark.parametrize(("version", "accepted"), [
    ("tls1", False), ("tls1_1", False), ("tls1_2", True), ("tls1_3", True),
])  # fmt: skip
def test_tls_versions(booted: Bootstrapped, version: str, accepted: bool) -> None:
    proc = openssl_connect(booted.host, version)
    text = proc.stdout + proc.stderr
    if accepted:
        assert proc.returncode == 0 and "Verify return code: 0 (ok)" in text, text
    else:
        assert proc.returncode != 0
        assert "alert protocol version" in text, text  # refused by the server, not the client


def test_hsts_and_security_headers(booted: Bootstrapped) -> None:
    out = booted.host.outputs()
    proc = deployer_curl(out, "/health")
    headers = proc.lower()
    assert "strict-transport-security: max-age=63072000" in headers
    assert "x-content-type-options: nosniff" in headers
    assert "server: nginx\n" in headers  # server_tokens off: no version


def test_metrics_are_private_to_the_host(booted: Bootstrapped) -> None:
    out = booted.host.outputs()
    assert deployer_curl(out, "/metrics").startswith("HTTP/2 404")
    probe = (  # on the host, through the serving socket
        "import http.client as h, socket\n"
        "class C(h.HTTPConnection):\n"
        "    def connect(self):\n"
        "        self.sock = socket.socket(socket.AF_UNIX)\n"
        "        self.sock.connect('/var/lib/deployer/app/serving.sock')\n"
        "c = C('localhost'); c.request('GET', '/metrics'); print(c.getresponse().status)\n"
    )
    local = booted.host.ssh(f"python3 -c {shlex.quote(probe)}").stdout
    assert local.strip() == "200"


def deployer_curl(out: dict, path: str) -> str:
    import subprocess

    proc = subprocess.run(
        ["curl", "-sS", "-D", "-", "-o", "/dev/null", "--resolve",
         f"{out['domain']}:443:{out['address']}", "--cacert", out["acme_root"],
         f"https://{out['domain']}{path}"],
        capture_output=True, text=True, timeout=20, check=True,
    )  # fmt: skip
    return proc.stdout


def test_unknown_host_key_refused_then_trusted_then_change_refused(
    booted: Bootstrapped, tmp_path: Path
) -> None:
    outputs = write_outputs(booted.host, tmp_path, ssh_host_key=None)
    known = tmp_path / "known_hosts"
    env = {"DEPLOYER_KNOWN_HOSTS": str(known)}
    args = [*sample_app_args(outputs), "--dry-run"]
    refused = deployer("bootstrap", *args, env=env)
    assert refused.returncode == 3
    assert "--trust-new-host" in refused.stdout + refused.stderr
    assert not known.exists()

    trusted = deployer("bootstrap", *args, "--trust-new-host", env=env)
    assert trusted.returncode == 0, trusted.stdout + trusted.stderr
    recorded = known.read_text()
    assert booted.host.outputs()["ssh_host_key"].split()[1] in recorded

    # the host "changes" its key: record a different one for the same name
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    other = (
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )
    known.write_text(f"{recorded.split()[0]} {other}\n")
    changed = deployer("bootstrap", *args, "--trust-new-host", env=env)
    assert changed.returncode == 3
    assert "CHANGED" in changed.stdout + changed.stderr

    pinned = write_outputs(booted.host, tmp_path, ssh_host_key=other)
    wrong_pin = deployer("bootstrap", *sample_app_args(pinned), "--dry-run")
    assert wrong_pin.returncode == 3 and "CHANGED" in wrong_pin.stdout + wrong_pin.stderr


def test_ssh_config_alias_and_cli_flags_describe_the_same_host(
    booted: Bootstrapped, tmp_path: Path
) -> None:
    """~/.ssh/config is honoured; a target given by flags instead of outputs changes nothing."""
    out = booted.host.outputs()
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "config").write_text(
        f"Host sandbox-alias\n  HostName 127.0.0.1\n  Port {out['ssh_port']}\n"
        f"  User deploy\n  IdentityFile {out['ssh_key']}\n"
    )
    proc = deployer(
        "bootstrap", "sandbox-alias", "--domain", out["domain"],
        "--host-key", out["ssh_host_key"], "--acme-server", out["acme_server"],
        "--secret", "SECRET_KEY", "--migrations", "app/alembic.ini",
        "--source", str(sample_app_source()), *SAMPLE_LAYOUT,
        "--env", "ENVIRONMENT=production", "--dry-run", "--json",
        env={"HOME": str(home)},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout)["changed"] == 0


HOSTILE = [
    ["--domain", "evil.test;touch /tmp/pwned"],
    ["--domain", "evil test.example"],
    ["--domain", "evil.test\nlisten 8080"],
    ["--domain", "$(touch /tmp/pwned).example"],
    ["--health-path", "/../../etc/passwd"],
    ["--requirements", "../../etc/shadow"],
    ["--migrations", "app/../../alembic.ini"],
    ["--requirements", "app/nope.txt"],  # not in the project
    ["--include", "app", "--requirements", "requirements.txt"],  # not in what ships
    ["--app-name", "app;reboot"],
    ["--asgi", "app.main:app;id"],
    ["--env", "ENVIRONMENT=prod\nEVIL=1"],
    ["--acme-server", "https://acme.test/dir$(id)"],
]


def sshd_logins(host: Host) -> int:
    text = host.ssh("sudo journalctl --no-pager -o cat _COMM=sshd").stdout
    return text.count("Accepted publickey")


def test_hostile_inputs_rejected_before_touching_the_host(
    booted: Bootstrapped, tmp_path: Path
) -> None:
    before = sshd_logins(booted.host)
    for extra in HOSTILE:
        proc = deployer("bootstrap", *sample_app_args(booted.outputs), *extra)
        assert proc.returncode == 2, (extra, proc.stdout, proc.stderr)
        assert "invalid input" in proc.stderr, (extra, proc.stderr)
    after = sshd_logins(booted.host)
    assert after == before + 1  # only our own journalctl login above, no deployer session
    assert booted.host.ssh("test -e /tmp/pwned", check=False).returncode != 0


def test_json_report_lists_steps(booted: Bootstrapped) -> None:
    names = [s["name"] for s in booted.second["steps"]]
    assert names[:3] == ["facts", "wait", "packages"] and names[-1] == "health"
    assert json.loads(json.dumps(booted.second))["url"].startswith("https://")


def test_renewal_under_load_serves_the_new_certificate_without_any_reload(
    booted: Bootstrapped,
) -> None:
    """Runs last in this module: it replaces the certificate (nothing else). The deploy hook
    installs the new one where nginx reads it at each handshake: nginx is not reloaded (its
    processes stay), so keep-alive connections are never closed under the load, which sees
    no failure and needs no retry (a retry would be a failure for a strict client)."""
    from deployer.release.loadcheck import Background

    host, out = booted.host, booted.host.outputs()
    serial = cert_serial(host)
    nginx = host.ssh("pgrep -x nginx | sort -n").stdout.split()
    url = f"https://{out['domain']}/health"
    load = {"requests": 5000, "concurrency": 20, "max_seconds": 900}
    with Background(url, resolve_to=out["address"], cafile=out["acme_root"], **load) as bg:
        host.ssh(
            "sudo env REQUESTS_CA_BUNDLE=/etc/deployer/acme-ca.pem certbot renew "
            "--force-renewal --no-random-sleep-on-renew --non-interactive "
            f"--server {out['acme_server']}"
        )
    print("load during renewal:", bg.result.summary())
    assert bg.result.sent >= 5000 and not bg.result.timed_out, bg.result.summary()
    assert bg.result.failed == 0, bg.result.summary()
    assert host.ssh("pgrep -x nginx | sort -n").stdout.split() == nginx  # no reload
    assert wait_until(lambda: cert_serial(host) != serial, timeout=30)


def test_host_firewall_admits_only_ssh_http_https(booted: Bootstrapped) -> None:
    """The real nftables rules on the host: a listener on another port is unreachable from the
    lab network, while HTTPS on the same address answers."""
    from deployer.sandbox import config

    step = next(s for s in booted.first["steps"] if s["name"] == "firewall")
    assert step["status"] == "changed", step
    host = booted.host
    host.ssh("sudo systemd-run --unit=probe-listener python3 -m http.server 9099 --bind 0.0.0.0")
    try:
        address = config.lab_address(host.index)

        def reach(port: int) -> bool:
            probe = subprocess.run(
                ["ip", "netns", "exec", config.LAB_NETNS, "python3", "-c",
                 f"import socket; socket.create_connection(('{address}', {port}), timeout=3)"],
                capture_output=True, timeout=30, check=False,
            )  # fmt: skip
            return probe.returncode == 0

        local = "import urllib.request as u; print(u.urlopen('http://127.0.0.1:9099/').status)"
        waited = host.ssh(f'for i in $(seq 50); do python3 -c "{local}" 2>/dev/null && break; '
                          "sleep 0.1; done").stdout
        assert waited.strip() == "200"  # it does listen, for the host itself
        assert reach(443)
        assert not reach(9099)
    finally:
        host.ssh("sudo systemctl stop probe-listener", check=False)
