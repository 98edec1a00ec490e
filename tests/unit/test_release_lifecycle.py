"""Command builders of the deploy lifecycle (no host): drain wait, pruning, artifact paths."""

import os
import subprocess

import pytest

from deployer.release import lifecycle
from deployer.release.layout import Layout

LAY = Layout("app")
OLD = "20261127T140000-" + "a" * 16
NEW = "20261127T150000-" + "b" * 16


def test_wait_gone_returns_once_the_old_workers_have_exited() -> None:
    # a process we do not parent (so it is reaped by init, like nginx's workers)
    out = subprocess.run(["sh", "-c", "sleep 0.5 >/dev/null & echo $!"], capture_output=True,
                         text=True, check=True)  # fmt: skip
    pid = int(out.stdout)
    done = subprocess.run(["sh", "-c", lifecycle.wait_gone_script([pid])], check=False)
    assert done.returncode == 0
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_wait_gone_with_no_workers_does_not_wait() -> None:
    script = lifecycle.wait_gone_script([])
    assert "false" in script
    assert subprocess.run(["sh", "-c", script], check=False, timeout=5).returncode == 0


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
    assert lifecycle.artifact_path(LAY, sha) == f"/srv/app/state/artifacts/{sha}.tar"


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
