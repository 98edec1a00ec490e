"""A release lifecycle in two stages (a fleet's): prepare (lock, upload, install, the lock
kept), then resume (the rest) or stop (stage one undone, unlocked, nothing marked bad). The
phases are stand-ins: no host."""

from __future__ import annotations

import pytest

from deployer.engine import Stop, UnitError
from deployer.release.lifecycle import STOP, Run
from deployer.release.phases import DEPLOY_PHASES, ROLLBACK_PHASES
from deployer.target import build_target


class Staged(Run):
    """A Run whose phases and undos only record that they ran."""

    fail_at = ""
    stop_at = ""

    def __getattribute__(self, name: str):
        phase = name.removeprefix("phase_")
        if name.startswith("phase_") and phase in (*DEPLOY_PHASES, *ROLLBACK_PHASES):
            def fn() -> str:
                self.calls.append(phase)
                if phase == self.stop_at:
                    raise Stop("already current")
                if phase == self.fail_at:
                    raise UnitError(f"{phase} broke")
                return ""

            return fn
        if name.startswith("undo_") and name.removeprefix("undo_") in ("lock", "install",
                                                                       "start", "switch"):
            def undo(err: UnitError) -> str:
                self.calls.append(f"undo {name.removeprefix('undo_')} ({err.unit})")
                return ""

            return undo
        return super().__getattribute__(name)

    def _audit(self, result: str, detail: str = "") -> None:
        self.calls.append(f"audit {result}")


def staged(action: str = "deploy", fail_at: str = "", stop_at: str = "") -> Staged:
    run = Staged(None, build_target({"host": "203.0.113.10", "domain": "api.example.com"}),
                 action=action)
    run.calls, run.fail_at, run.stop_at = [], fail_at, stop_at
    return run


@pytest.mark.parametrize(
    ("action", "first"),
    [("deploy", ["lock", "upload", "install"]), ("rollback", ["lock"])],
)
def test_prepare_runs_up_to_the_install_and_keeps_the_lock(action, first) -> None:
    run = staged(action)
    outcome = run.prepare()
    assert run.pending(outcome) and run.calls == first  # no unlock yet
    outcome = run.resume(outcome)
    phases = DEPLOY_PHASES if action == "deploy" else ROLLBACK_PHASES
    assert outcome.ok and run.calls == list(phases)
    assert [r.name for r in outcome.results] == list(phases)


def test_the_two_stages_undo_like_one_run() -> None:
    run = staged(fail_at="health")
    outcome = run.resume(run.prepare())
    assert outcome.failed_unit == "health"
    assert run.calls == ["lock", "upload", "install", "migrate", "start", "health",
                         "undo start (health)", "undo install (health)", "undo lock (health)",
                         "unlock", "audit failed"]


@pytest.mark.parametrize(("fail_at", "stop_at"), [("install", ""), ("", "lock")])
def test_a_failed_or_stopped_prepare_ends_the_run(fail_at, stop_at) -> None:
    run = staged(fail_at=fail_at, stop_at=stop_at)
    outcome = run.prepare()
    assert not run.pending(outcome) and run.calls[-1 if stop_at else -2] == "unlock"
    assert outcome.ok is bool(stop_at)


def test_a_stop_between_the_stages_undoes_stage_one_and_unlocks() -> None:
    run = staged()
    outcome = run.resume(run.prepare(), stop="fleet deploy stopped: w2 failed")
    assert outcome.failed_unit == STOP and "w2 failed" in outcome.error.message
    assert run.calls == ["lock", "upload", "install", "undo install (stop)", "undo lock (stop)",
                         "unlock", "audit failed"]
    assert [r.name for r in outcome.results] == ["lock", "upload", "install", STOP, "unlock"]


def test_a_stop_marks_nothing_bad() -> None:
    from deployer.release.ledger import Release

    run = Run(None, build_target({"host": "203.0.113.10", "domain": "api.example.com"}))
    run.release = Release(id="20261127T090501-" + "a" * 16, sha256="a" * 64, version="1",
                          commit="", time="", who="", status="good", note="")
    assert run.undo_lock(UnitError("x", unit=STOP)) == ""  # no host touched: nothing to mark
