"""Releases on one bootstrapped sandbox host, scenario after scenario (the order matters):
v2 over v1 under load, a no-op redeploy, three broken v3s, rollback to v1 under load,
two deploys at once, and retention after seven deploys.

Load: >= 5,000 GETs of /health at concurrency 20 through nginx over HTTPS, by a strict client
(keep-alive, no retry), kept running for the whole deploy; every response must be 2xx.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from bootstrap_helpers import REPO, SECRET
from release_helpers import Stage, bootstrap, make_version, write_config

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stage(lab, tmp_path_factory) -> Iterator[Stage]:
    host = lab.host(snapshot="provisioned")
    tmp = tmp_path_factory.mktemp("release")
    config = write_config(tmp, {"s": host}, make_version(tmp, "1.0.0"))
    st = Stage("s", host, config, tmp)
    bootstrap(st)
    yield st
    lab.release(host)


def versions(tmp: Path, version: str, broken: str = "") -> Path:
    return make_version(tmp, version, broken)


def test_deploy_v2_under_load_drops_nothing(stage: Stage) -> None:
    v1 = stage.current()
    with stage.background_load() as load:
        proc = stage.deploy(versions(stage.tmp, "2.0.0"), "-m", "ship v2")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = load.result
    print("load during deploy v2:", result.summary())
    assert result.sent >= 5000 and result.failed == 0, result.summary()
    assert set(result.versions) <= {"1.0.0", "2.0.0"}, result.summary()
    after = stage.sample()
    assert after.failed == 0 and set(after.versions) == {"2.0.0"}, after.summary()
    cur = stage.current()
    assert cur["version"] == "2.0.0" and cur["note"] == "ship v2"
    assert stage.ledger()[v1["id"]]["status"] == "good"
    # v1's instance is kept warm (running, not started at boot, ended by a timer); traffic and
    # the current link go to v2; nginx was not reloaded
    assert running(stage) == sorted([f"app@{v1['id']}.service", f"app@{cur['id']}.service"])
    enabled = stage.host.ssh(f"systemctl is-enabled app@{v1['id']}.service", check=False)
    assert enabled.stdout.strip() == "disabled"
    assert stage.host.ssh("readlink /srv/app/current").stdout.strip().endswith(cur["id"])
    sock = stage.host.ssh("readlink /var/lib/deployer/app/serving.sock").stdout.strip()
    assert sock == f"/run/deployer/app/{cur['id']}/web.sock"
    assert "nginx -> " not in proc.stdout and "reload" not in proc.stdout
    assert "skipped: the database has run these migration scripts" in proc.stdout  # v1's
    assert f"venv: cloned from {v1['id']}" in proc.stdout  # the same requirements file
    status = stage.cli("status", "s").stdout
    warm = next((line.split() for line in status.splitlines() if "warm" in line), [])
    assert warm[:3] == ["warm", v1["id"], "until"] and "MiB):" in warm, status


def running(stage: Stage) -> list[str]:
    out = stage.host.ssh("systemctl list-units --plain --no-legend --state=active 'app@*'").stdout
    return sorted(line.split()[0] for line in out.splitlines() if line.strip())


def test_redeploy_of_the_same_artifact_is_a_noop(stage: Stage) -> None:
    before = stage.ledger()
    proc = stage.deploy(versions(stage.tmp, "2.0.0"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "already current" in proc.stdout and "no-op" in proc.stdout
    assert stage.ledger() == before
    audit = stage.host.ssh("sudo tail -n 1 /srv/app/state/audit.log").stdout
    assert '"action": "noop"' in audit


@pytest.mark.parametrize(
    ("broken", "phase", "evidence"),
    [
        ("import", "health", "module_that_does_not_exist"),
        ("health", "health", "500"),
        ("migration", "migrate", "migration 9999 fails on purpose"),
        ("db", "health", "503"),  # readiness: /ready gates the switch
    ],
)
def test_broken_v3_leaves_v2_serving_and_is_marked_bad(
    stage: Stage, broken: str, phase: str, evidence: str
) -> None:
    v2 = stage.current()
    with stage.background_load() as load:
        proc = stage.deploy(versions(stage.tmp, "3.0.0", broken))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 4, out
    assert f"failed in phase {phase}" in out and evidence in out, out
    print(f"load during broken deploy ({broken}):", load.result.summary())
    assert load.result.failed == 0 and set(load.result.versions) == {"2.0.0"}, load.result.summary()
    assert stage.current()["id"] == v2["id"]
    bad = [r for r in stage.ledger().values() if r["version"] == "3.0.0" and r["status"] == "bad"]
    assert bad and phase in bad[-1]["note"]
    bad_unit = f"app@{bad[-1]['id']}.service"
    assert f"app@{v2['id']}.service" in running(stage) and bad_unit not in running(stage)


def test_rollback_to_v1_inside_its_window_is_a_switch_and_drops_nothing(stage: Stage) -> None:
    v1 = next(r for r in stage.ledger().values() if r["version"] == "1.0.0")
    v2 = stage.current()
    pid = f"systemctl show -p MainPID --value app@{v1['id']}.service"
    before = stage.host.ssh(pid).stdout.strip()
    with stage.background_load() as load:
        proc = stage.cli("rollback", "s", "-m", "v2 misbehaves")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    print("load during rollback:", load.result.summary())
    assert load.result.sent >= 5000 and load.result.failed == 0, load.result.summary()
    assert "(warm)" in proc.stdout and "no start" in proc.stdout, proc.stdout
    assert stage.host.ssh(pid).stdout.strip() == before  # the same process: no boot
    assert running(stage) == [f"app@{v1['id']}.service"]  # v2 retired, not kept
    enabled = stage.host.ssh(f"systemctl is-enabled app@{v1['id']}.service", check=False)
    assert enabled.stdout.strip() == "enabled"  # serving: started at boot again
    assert stage.ledger()[v2["id"]]["status"] == "good"
    after = stage.sample()
    assert after.failed == 0 and set(after.versions) == {"1.0.0"}, after.summary()
    assert stage.current()["id"] == v1["id"]
    listing = stage.cli("releases", "s")
    assert listing.returncode == 0 and "bad" in listing.stdout and "current" in listing.stdout
    bad = next(r["id"] for r in stage.ledger().values() if r["status"] == "bad")
    refused = stage.cli("rollback", "s", bad)
    assert refused.returncode == 4 and "marked bad" in refused.stdout, refused.stdout
    assert stage.current()["id"] == v1["id"]
    # the lock went with the record step's round trip, and is gone
    assert "released with the step before" in proc.stdout, proc.stdout
    assert stage.host.ssh("sudo test -e /srv/app/state/deploy.lock", check=False).returncode == 1


def test_redeploy_after_rollback_then_the_window_ends_and_a_cold_rollback(stage: Stage) -> None:
    v1 = stage.current()
    with stage.background_load() as load:
        proc = stage.deploy(versions(stage.tmp, "2.0.0"), "-m", "v2 again")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    print("load during the redeploy after rollback:", load.result.summary())
    assert load.result.sent >= 5000 and load.result.failed == 0, load.result.summary()
    assert stage.current()["version"] == "2.0.0"
    # the window ends (its timer's job, run now): v1's instance stops and status says no more
    timer = f"deployer-app-warm-{v1['id']}"
    stage.host.ssh(f"sudo systemctl start {timer}.service")
    wait = f"for i in $(seq 100); do systemctl is-active -q app@{v1['id']}.service || exit 0; " \
           "sleep 0.1; done; exit 1"  # fmt: skip
    assert stage.host.ssh(wait, check=False).returncode == 0
    assert " warm " not in stage.cli("status", "s").stdout
    with stage.background_load() as load:  # outside the window: v1 boots again
        proc = stage.cli("rollback", "s")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    print("load during a rollback outside the window:", load.result.summary())
    assert load.result.sent >= 5000 and load.result.failed == 0, load.result.summary()
    assert "(warm)" not in proc.stdout and stage.current()["id"] == v1["id"]


def test_two_deploys_at_once_exactly_one_proceeds(stage: Stage) -> None:
    source = versions(stage.tmp, "4.0.0", "slow")  # the winner holds the lock for seconds
    argv = [sys.executable, "-m", "deployer", "deploy", "s", "--source", str(source)]
    argv += ["--config", str(stage.config)]
    env = {**os.environ, "SECRET_KEY": SECRET}
    procs = [
        subprocess.Popen([*argv, "-m", f"racer {i}"], cwd=REPO, text=True, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for i in range(2)
    ]  # fmt: skip
    outs = [p.communicate(timeout=600)[0] for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 5], outs
    refused = outs[[p.returncode for p in procs].index(5)]
    assert "deploy lock held by" in refused and "racer" in refused, refused
    assert stage.current()["version"] == "4.0.0"
    winner = outs[[p.returncode for p in procs].index(0)]
    assert "released with the step before" in winner, winner  # with the cleanup's round trip
    assert stage.host.ssh("sudo test -e /srv/app/state/deploy.lock", check=False).returncode == 1


def test_retention_keeps_five_release_dirs_including_current(stage: Stage) -> None:
    created = len(stage.ledger())  # v1, v2, three bad v3, v4 (all still on disk)
    for version in ("5.0.0", "6.0.0"):
        proc = stage.deploy(versions(stage.tmp, version), "--keep", "5")
        assert proc.returncode == 0, proc.stdout + proc.stderr
    assert created + 2 >= 7
    dirs = stage.release_dirs()
    ledger = stage.ledger()
    assert len(dirs) == 5, dirs
    current = stage.current()
    assert current["version"] == "6.0.0" and current["id"] in dirs
    assert sorted(ledger) == sorted(dirs)
    # the rollback target (v5) survives too, and only the kept releases' artifacts remain
    assert any(ledger[d]["version"] == "5.0.0" and ledger[d]["status"] == "good" for d in dirs)
    kept = stage.host.ssh("sudo ls /srv/app/state/artifacts").stdout.split()
    assert kept and set(kept) <= {f"{ledger[d]['sha256']}.tar" for d in dirs}
