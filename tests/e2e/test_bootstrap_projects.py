"""Your project, not ours: a project root deploys by config only, as its files declare it.

One host for the module: the requirements.txt project is bootstrapped, then the same app is
deployed from a pyproject.toml + uv.lock project; what the artifact would not hold is refused
before any connection.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from bootstrap_helpers import deployer, write_outputs

from deployer.http import get
from deployer.sandbox import Host
from deployer.target import build_target, from_outputs

pytestmark = pytest.mark.e2e
APPS = Path(__file__).resolve().parent / "apps"


@pytest.fixture(scope="module")
def host(lab) -> Iterator[Host]:
    booted = lab.host(snapshot="provisioned")
    yield booted
    lab.release(booted)


def project(tmp: Path, name: str) -> Path:
    """A copy of a test project with local secrets lying around, as in a real checkout."""
    root = tmp / name
    shutil.copytree(APPS / name, root)
    (root / ".env").write_text("SECRET_KEY=never-shipped\n")
    (root / "svc" / "deploy.key").write_text("-----BEGIN PRIVATE KEY-----\n")
    return root


def config(tmp: Path, host: Host, source: Path, **app: str) -> Path:
    fields = {"name": "svc", "source": str(source), "asgi": "svc.api:application",
              "health_path": "/healthz", "workers": 1, **app}  # fmt: skip
    lines = [f"{k} = {json.dumps(v)}" for k, v in fields.items()]
    path = tmp / "deployer.toml"
    path.write_text(
        f'[stages.svc]\noutputs = "{write_outputs(host, tmp)}"\n\n[stages.svc.app]\n'
        + "\n".join(lines) + "\n"
    )
    return path


def healthz(host: Host) -> dict:
    answer = get(build_target(from_outputs(host.outputs())), "/healthz")
    assert answer.status == 200, answer
    return json.loads(answer.body)


def sshd_logins(host: Host) -> int:
    text = host.ssh("sudo journalctl --no-pager -o cat _COMM=sshd").stdout
    return text.count("Accepted publickey")


def test_a_requirements_project_then_a_locked_one(host: Host, tmp_path: Path) -> None:
    plain = project(tmp_path, "svc")
    cfg = config(tmp_path, host, plain)
    proc = deployer("bootstrap", "--stage", "svc", "--config", str(cfg))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert healthz(host) == {"app": "svc", "layout": "requirements"}
    # the project root is the release root; local secrets stayed at home
    assert host.ssh("sudo ls -A /srv/svc/current").stdout.split() == [
        ".artifact-sha256", ".installed", "LAYOUT", "release.env", "requirements.txt", "svc",
        "venv",
    ]  # fmt: skip
    assert "deploy.key" not in host.ssh("sudo ls -A /srv/svc/current/svc").stdout

    locked = project(tmp_path, "svclock")
    proc = deployer("deploy", "svc", "--source", str(locked), "--config", str(cfg))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert healthz(host) == {"app": "svc", "layout": "locked"}
    venv = "/srv/svc/current/venv"
    version = host.ssh(
        f"sudo {venv}/bin/python -c \"import importlib.metadata as m; print(m.version('idna'))\""
    ).stdout.strip()
    assert version == "3.7"  # the lock's, not the newest a plain install would pick
    installed = host.ssh(f"sudo sh -c 'ls {venv}/lib/python3*/site-packages/svc/'").stdout
    assert "api.py" in installed.split()  # the project itself, installed non-editable


@pytest.mark.parametrize(
    ("app", "names"),
    [
        ({"requirements": "../svc/requirements.txt"}, "outside the project"),
        ({"requirements": "svc/requirements.txt"}, "svc/requirements.txt not found"),
        ({"migrations": "svc/deploy.key"}, "svc/deploy.key would not be in the artifact"),
        ({"include": ["svc"]}, "declares no dependencies"),
    ],
)
def test_what_the_artifact_would_not_hold_is_refused_before_connecting(
    host: Host, tmp_path: Path, app: dict, names: str
) -> None:
    cfg = config(tmp_path, host, project(tmp_path, "svc"), **app)
    before = sshd_logins(host)
    proc = deployer("bootstrap", "--stage", "svc", "--config", str(cfg))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert names in proc.stderr, proc.stderr
    assert sshd_logins(host) == before + 1  # this count's own login only
