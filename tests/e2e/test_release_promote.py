"""Promotion between two isolated sandbox hosts used as stages `staging` and `prod`, plus the
lock refusal and `deployer unlock` on the destination."""

from __future__ import annotations

import hashlib
import hmac
import json
import shlex
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from bootstrap_helpers import deployer
from release_helpers import Stage, bootstrap, make_version, write_config
from webhook_helpers import Receiver

pytestmark = pytest.mark.e2e

WEBHOOK_KEY = "promote-webhook-signing-key"


@dataclass
class Stages:
    staging: Stage
    prod: Stage


@pytest.fixture(scope="module")
def stages(lab, tmp_path_factory) -> Iterator[Stages]:
    hosts = {"staging": lab.host(snapshot="provisioned"), "prod": lab.host(snapshot="provisioned")}
    tmp = tmp_path_factory.mktemp("promote")
    config = write_config(tmp, hosts, make_version(tmp, "1.0.0"))
    pair = Stages(*(Stage(name, host, config, tmp) for name, host in hosts.items()))
    for st in (pair.staging, pair.prod):
        bootstrap(st)
    yield pair
    for host in hosts.values():
        lab.release(host)


def test_promote_runs_the_same_artifact_on_prod(stages: Stages) -> None:
    staging, prod = stages.staging, stages.prod
    proc = staging.deploy(make_version(staging.tmp, "2.0.0"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert prod.current()["version"] == "1.0.0"
    receiver = Receiver()  # prod's webhook: one signed promote event
    config = prod.tmp / "notify.toml"
    config.write_text(prod.config.read_text() + f'\n[stages.prod.notify]\nurl = "{receiver.url}"\n'
                      'secret_from_env = "DEPLOYER_WEBHOOK_SECRET"\n')  # fmt: skip
    try:
        proc = deployer("promote", "staging", "prod", "--config", str(config),
                        env={"DEPLOYER_WEBHOOK_SECRET": WEBHOOK_KEY})  # fmt: skip
    finally:
        receiver.shutdown()
        receiver.server_close()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    src, dst = staging.current(), prod.current()
    assert dst["sha256"] == src["sha256"] and dst["version"] == "2.0.0"
    (headers, data), = receiver.got
    expected = "sha256=" + hmac.new(WEBHOOK_KEY.encode(), data, hashlib.sha256).hexdigest()
    assert headers["x-deployer-signature"] == expected and headers["x-deployer-event"] == "promote"
    event = json.loads(data)
    assert (event["event"], event["outcome"], event["stage"]) == ("promote", "ok", "prod")
    assert event["release"] == dst["id"] and event["sha256"] == src["sha256"]
    assert dst["note"] == "promoted from staging"
    audit = prod.host.ssh("sudo tail -n 1 /srv/app/state/audit.log").stdout
    assert '"action": "promote"' in audit and src["sha256"] in audit
    sample = prod.sample(50)
    assert sample.failed == 0 and set(sample.versions) == {"2.0.0"}
    on_prod = prod.host.ssh(f"sudo sha256sum /srv/app/state/artifacts/{src['sha256']}.tar")
    assert on_prod.stdout.split()[0] == src["sha256"]


def test_promote_refuses_a_locked_destination_and_unlock_frees_it(stages: Stages) -> None:
    staging, prod = stages.staging, stages.prod
    proc = prod.deploy(make_version(prod.tmp, "2.0.0"))  # same artifact: takes and frees the lock
    assert proc.returncode == 0 and "no-op" in proc.stdout, proc.stdout + proc.stderr
    holder = {"who": "ops@laptop", "what": "deploy by hand", "message": "hotfix"}
    holder |= {"when": "now", "token": "t0k3n"}
    lock = "/srv/app/state/deploy.lock"
    script = f"mkdir {lock} && printf %s {shlex.quote(json.dumps(holder))} > {lock}/info.json"
    prod.host.ssh(f"sudo sh -c {shlex.quote(script)}")
    before = prod.current()
    proc = prod.cli("promote", "staging", "prod")
    assert proc.returncode == 5, proc.stdout + proc.stderr
    assert "ops@laptop" in proc.stderr and "hotfix" in proc.stderr
    assert prod.current() == before
    refused = prod.cli("unlock", "prod")  # no --yes and no TTY answer: nothing removed
    assert refused.returncode != 0
    assert prod.host.ssh("sudo test -d /srv/app/state/deploy.lock", check=False).returncode == 0
    proc = prod.cli("unlock", "prod", "--yes")
    assert proc.returncode == 0 and "ops@laptop" in proc.stdout, proc.stdout + proc.stderr
    assert prod.host.ssh("sudo test -d /srv/app/state/deploy.lock", check=False).returncode != 0
    audit = prod.host.ssh("sudo tail -n 1 /srv/app/state/audit.log").stdout
    assert '"action": "unlock"' in audit and "ops@laptop" in audit
    assert staging.current()["version"] == "2.0.0"


def test_promote_refuses_an_unhealthy_source(stages: Stages) -> None:
    staging, prod = stages.staging, stages.prod
    before = prod.current()
    staging.host.ssh(f"sudo systemctl stop app@{staging.current()['id']}.service")
    proc = prod.cli("promote", "staging", "prod")
    assert proc.returncode == 5, proc.stdout + proc.stderr
    assert "unhealthy" in proc.stderr
    assert prod.current() == before
    status = staging.cli("status", "staging")
    assert status.returncode == 4 and "inactive" in status.stdout, status.stdout
    status = prod.cli("status", "prod")
    assert status.returncode == 0, status.stdout + status.stderr
    assert "active (running)" in status.stdout and "expires" in status.stdout
    logs = prod.cli("logs", "prod", "-n", "20")
    assert logs.returncode == 0 and "gunicorn[" in logs.stdout, logs.stdout + logs.stderr
