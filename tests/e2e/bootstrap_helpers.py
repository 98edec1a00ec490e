"""Helpers shared by the bootstrap end-to-end tests: run the real CLI, read TLS facts."""

from __future__ import annotations

import atexit
import json
import os
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from deployer.sandbox import Host

REPO = Path(__file__).resolve().parents[2]
SECRET = "s3cr3t-" + secrets.token_hex(20) + "-$(id)`x`\"q'"


def write_outputs(host: Host, tmp: Path, **changes: object) -> Path:
    """The host's output contract as a JSON file (keys set to None are dropped)."""
    data = {**host.outputs(), **changes}
    data = {k: v for k, v in data.items() if v is not None}
    path = tmp / f"{host.name}-outputs.json"
    path.write_text(json.dumps(data))
    return path


def deployer(*args: str, env: dict[str, str] | None = None, timeout: float = 600):
    """Run `deployer ARGS` as a user would; returns the CompletedProcess (text)."""
    full_env = {**os.environ, "SECRET_KEY": SECRET, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "deployer", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        cwd=REPO,
        check=False,
    )


def bootstrap_json(*args: str, env: dict[str, str] | None = None):
    """`deployer bootstrap ... --json`: (CompletedProcess, parsed report or None)."""
    proc = deployer("bootstrap", *args, "--json", env=env)
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        report = None
    return proc, report


_SNAPSHOT: list[Path] = []


def sample_app_source() -> Path:
    """A project holding a copy of the sample app taken once per session, so edits to app/
    during a run (or a new VERSION) cannot turn a "same artifact" re-run into a new release."""
    if not _SNAPSHOT:
        top = Path(tempfile.mkdtemp(prefix="deployer-e2e-app-"))
        atexit.register(shutil.rmtree, top, ignore_errors=True)
        dest = top / "app"
        shutil.copytree(REPO / "app", dest, ignore=shutil.ignore_patterns("__pycache__", "*.db"))
        _SNAPSHOT.append(top)
    return _SNAPSHOT[0]


# The sample app's layout: only app/ of its project ships; every path relative to the project.
SAMPLE_LAYOUT = [
    "--include", "app", "--requirements", "app/requirements.txt", "--version-file", "app/VERSION",
    "--ready-path", "/ready",
]  # fmt: skip


def sample_app_args(outputs: Path) -> list[str]:
    return [
        "--outputs", str(outputs), "--source", str(sample_app_source()), *SAMPLE_LAYOUT,
        "--secret", "SECRET_KEY", "--migrations", "app/alembic.ini",
        "--env", "ENVIRONMENT=production",
    ]  # fmt: skip


def peer_cert(host: Host) -> bytes:
    """DER certificate nginx serves for the host's domain (verified against the ACME root)."""
    out = host.outputs()
    ctx = ssl.create_default_context(cafile=out["acme_root"])
    with (
        socket.create_connection((out["address"], 443), timeout=5) as sock,
        ctx.wrap_socket(sock, server_hostname=out["domain"]) as tls,
    ):
        return tls.getpeercert(binary_form=True)


def cert_serial(host: Host) -> int:
    from cryptography import x509

    return x509.load_der_x509_certificate(peer_cert(host)).serial_number


def wait_until(predicate, timeout: float = 30, interval: float = 0.5):
    end = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > end:
            return value
        time.sleep(interval)


def openssl_connect(host: Host, version: str) -> subprocess.CompletedProcess:
    """openssl s_client offering only *version* (tls1, tls1_1, tls1_2, tls1_3)."""
    out = host.outputs()
    return subprocess.run(
        [
            "openssl",
            "s_client",
            "-connect",
            f"{out['address']}:443",
            "-servername",
            out["domain"],
            f"-{version}",
            "-cipher",
            "DEFAULT@SECLEVEL=0",
            "-CAfile",
            out["acme_root"],
            "-verify_return_error",
        ],
        input="",
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
