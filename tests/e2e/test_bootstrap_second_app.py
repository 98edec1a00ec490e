"""A second, different FastAPI app (own name, module path, health path) deploys by config only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bootstrap_helpers import deployer, write_outputs

from deployer.http import get
from deployer.target import build_target, from_outputs

pytestmark = pytest.mark.e2e
HELLO = Path(__file__).resolve().parent / "apps" / "hello"


def test_second_app_from_deployer_toml(provisioned_host, tmp_path: Path) -> None:
    outputs = write_outputs(provisioned_host, tmp_path)
    (tmp_path / "deployer.toml").write_text(
        f"""
[stages.hello]
outputs = "{outputs}"

[stages.hello.app]
name = "hello"
source = "{HELLO}"
asgi = "hello.api:application"
requirements = "hello/requirements.txt"
health_path = "/healthz"
workers = 1
"""
    )
    args = ["bootstrap", "--stage", "hello", "--config", str(tmp_path / "deployer.toml"), "--json"]
    proc = deployer(*args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    target = build_target(from_outputs(provisioned_host.outputs()))
    answer = get(target, "/healthz")
    assert answer.status == 200 and json.loads(answer.body) == {"hello": "world", "app": "hello"}
    # its own user, unit and layout
    units = provisioned_host.ssh(
        "systemctl list-units --plain --no-legend --state=active 'hello@*'"
    ).stdout
    assert units.startswith("hello@")
    pid = provisioned_host.ssh(f"systemctl show -p MainPID --value {units.split()[0]}").stdout
    assert provisioned_host.ssh(f"ps -o user= -p {pid.strip()}").stdout.strip() == "hello"
    assert (
        provisioned_host.ssh(
            "test -L /srv/hello/current && getent passwd hello", check=False
        ).returncode
        == 0
    )
    again = json.loads(deployer(*args).stdout)
    assert again["changed"] == 0
