"""Command builders of the deploy lifecycle (no host): drain wait, pruning, artifact paths."""

import subprocess

import pytest

from deployer.layout import Layout
from deployer.release import lifecycle

LAY = Layout("app")
OLD = "20261127T140000-" + "a" * 16
NEW = "20261127T150000-" + "b" * 16


@pytest.mark.parametrize(
    ("serving", "action", "seconds", "kept"),
    [
        (OLD, "deploy", 600, OLD),  # the release a deploy retires stays warm
        (OLD, "deploy", 0, ""),  # window off
        (OLD, "rollback", 600, ""),  # a rollback retires a release that failed its users
        ("", "deploy", 600, ""),  # a first release: nothing served before
        (NEW, "deploy", 600, ""),  # the same release: nothing to keep
    ],
)
def test_warm_keeper(serving: str, action: str, seconds: int, kept: str) -> None:
    assert lifecycle.warm_keeper(serving, NEW, action, seconds) == kept


def test_unit_release_reads_only_release_units() -> None:
    assert LAY.release_of_unit(f"app@{OLD}.service") == OLD
    assert LAY.release_of_unit("app@8001.service") == ""
    assert LAY.release_of_unit("nginx.service") == ""
    assert LAY.release_of_unit(f"shop@{OLD}.service") == ""  # another app's


def test_prune_removes_units_dirs_and_only_stray_artifacts() -> None:
    script = lifecycle.prune_script(LAY, [OLD], {"c" * 64})
    assert subprocess.run(["sh", "-n", "-c", script], check=False).returncode == 0
    assert f"app@{OLD}.service" in script and f"/srv/app/releases/{OLD}" in script
    assert f"{'c' * 64}.tar" in script and "rm -f" in script


def test_prune_with_nothing_to_remove_only_tidies_artifacts() -> None:
    script = lifecycle.prune_script(LAY, [], set())
    assert "systemctl" not in script and "rm -rf" not in script


def test_prune_refuses_names_that_are_not_release_ids() -> None:
    with pytest.raises(ValueError):
        lifecycle.prune_script(LAY, ["../../etc"], set())


def test_artifacts_live_in_the_state_dir_by_hash() -> None:
    sha = "d" * 64
    assert str(LAY.artifact(sha)) == f"/srv/app/state/artifacts/{sha}.tar"


@pytest.mark.parametrize(
    ("action", "phase", "releases"),
    [("rollback", "record", True), ("deploy", "record", False), ("deploy", "cleanup", True)],
)
def test_the_lock_goes_with_the_last_phase_before_unlock(
    action: str, phase: str, releases: bool
) -> None:
    from deployer.target import build_target

    t = build_target({"host": "203.0.113.10", "domain": "api.example.com"})
    run = lifecycle.Run(remote=None, target=t, action=action)  # type: ignore[arg-type]
    script = run._unlock_after(phase, "echo recorded")
    assert script.startswith("echo recorded")
    assert (run.info.token in script) is releases
    if releases:  # released last, and only if the lock still carries our token
        assert script.endswith("fi") and "rm -rf -- /srv/app/state/deploy.lock" in script


# -- decisions as tables: release state → no-op / target / refusal / bad mark ------------------
from deployer.engine import UnitError  # noqa: E402
from deployer.release.ledger import Ledger, Release  # noqa: E402
from deployer.release.state import HostState  # noqa: E402

SHA_A, SHA_B = "a" * 64, "b" * 64
V1 = Release(OLD, SHA_A, version="1", status="good")
V2 = Release(NEW, SHA_B, version="2", status="current")


def state(*releases: Release, link: str = NEW, dirs: tuple[str, ...] = (OLD, NEW)) -> HostState:
    return HostState(Ledger(releases), None, dirs, link, link)


@pytest.mark.parametrize(
    ("host", "sha", "noop"),
    [
        (state(V1, V2), SHA_B, NEW),  # the current release runs it: no-op
        (state(V1, V2), SHA_A, None),  # an older release ran it: deploy again
        (state(V1, V2, link=OLD), SHA_B, None),  # `current` names another: deploy
        (state(V1), SHA_A, None),  # nothing current
        (state(), SHA_A, None),  # a fresh host
    ],
)
def test_deploy_is_a_noop_only_when_the_artifact_serves(host, sha, noop) -> None:
    found = lifecycle.already_current(host, sha)
    assert (found.id if found else None) == noop


BAD = Release(OLD, SHA_A, status="bad")


@pytest.mark.parametrize(
    ("host", "wanted", "expect"),
    [
        (state(V1, V2), "", OLD),  # the previous good release
        (state(V1, V2), OLD, OLD),
        (state(V1, V2), NEW, NEW),  # the current one: the caller stops with a no-op
        (state(BAD, V2), "", "no previous good release to roll back to"),
        (state(BAD, V2), OLD, "is marked bad"),
        (state(V1, V2, dirs=(NEW,)), OLD, "is gone (retention)"),
        (state(V2), "", "no previous good release"),
    ],
)
def test_rollback_target(host, wanted, expect) -> None:
    try:
        got = lifecycle.rollback_target(host, wanted).id
    except UnitError as exc:
        got = str(exc)
    assert expect in got


@pytest.mark.parametrize(
    ("led", "status"),
    [
        (Ledger((V1,)), "bad"),  # a new release that failed: added as bad
        (Ledger((V1, Release(NEW, SHA_B, status="good"))), "bad"),  # a rollback target
        (Ledger((V1, V2)), None),  # serving: never marked bad
    ],
)
def test_what_is_marked_bad(led, status) -> None:
    out = lifecycle.marked_bad(led, Release(NEW, SHA_B), "health: 500")
    assert (out.get(NEW).status if out else None) == status
    if out:
        assert out.get(NEW).note == "health: 500" and out.get(OLD) == V1


class Recorder:
    def __init__(self) -> None:
        self.commands: list[str] = []

    def sh(self, script: str, **_kw):
        self.commands.append(script)

        class Out:
            stdout = ""

        return Out()


def test_undo_commands_follow_what_the_run_did() -> None:
    from deployer.target import build_target

    t = build_target({"host": "203.0.113.10", "domain": "api.example.com"})
    run = lifecycle.Run(remote=Recorder(), target=t)  # type: ignore[arg-type]
    err = UnitError("health broke", unit="health")
    run.release_id = NEW
    assert run.undo_switch(err) == "" and run.undo_start(err) == ""  # nothing done yet: no undo
    assert run.remote.commands == []
    run.started, run.switched, run.old_serving = True, True, OLD
    assert run.undo_switch(err) == f"traffic back to {OLD}"
    assert run.undo_start(err) == f"stopped app@{NEW}.service"
    switch_back, stop = run.remote.commands
    assert f"/run/deployer/app/{OLD}/web.sock" in switch_back
    assert stop == f"systemctl disable --quiet --now app@{NEW}.service"
    assert run.undo_lock(UnitError("held", unit="lock")) == ""  # a refused lock: nothing ours
