"""The one runner of units: order, stop at the first failure, the undo rule, always-units."""

from dataclasses import dataclass
from typing import ClassVar

from deployer.engine import Change, Done, Stop, Unit, UnitError, run
from deployer.release.phases import DEPLOY_PHASES, GATED


@dataclass(frozen=True)
class Wrote(Change):
    kind: ClassVar[str] = "file"
    path: str

    @property
    def summary(self) -> str:
        return f"write {self.path}"


def units(calls: list[str], fail_at: str = "", tail: str = "", undo: list[str] | None = None):
    def make(name: str):
        def fn() -> str:
            calls.append(name)
            if name == fail_at:
                raise UnitError(f"{name} broke", tail=tail)
            return f"{name} done"

        return fn

    def undoer(name: str):
        def fn(err: UnitError) -> str:
            assert undo is not None
            undo.append(f"{name}:{err.unit}")
            return f"undid {name}"

        return fn if undo is not None else None

    return [
        Unit(n, make(n), undo=undoer(n), gated=n in GATED, always=n == "unlock")
        for n in DEPLOY_PHASES
    ]


def test_all_units_run_in_order() -> None:
    calls: list[str] = []
    outcome = run(units(calls))
    assert outcome.ok and calls == list(DEPLOY_PHASES)
    assert [r.status for r in outcome.results] == ["ok"] * len(DEPLOY_PHASES)


def test_failure_names_the_unit_skips_the_rest_but_unlocks() -> None:
    calls: list[str] = []
    outcome = run(units(calls, fail_at="health", tail="Traceback: ImportError"))
    assert not outcome.ok
    assert outcome.failed_unit == "health" and "ImportError" in outcome.error.tail
    assert calls == ["lock", "upload", "install", "migrate", "start", "health", "unlock"]
    statuses = {r.name: r.status for r in outcome.results}
    assert statuses["switch"] == "skipped" and statuses["unlock"] == "ok"


def test_gated_failure_undoes_every_unit_that_ran_newest_first() -> None:
    undone: list[str] = []
    outcome = run(units([], fail_at="health", undo=undone))
    ran = ["health", "start", "migrate", "install", "upload", "lock"]
    assert undone == [f"{n}:health" for n in ran]
    results = {r.name: r for r in outcome.results}
    assert results["start"].undo == "undid start" and results["switch"].undo == ""


def test_failure_past_the_point_of_no_return_undoes_nothing() -> None:
    undone: list[str] = []
    outcome = run(units([], fail_at="record", undo=undone))
    assert outcome.failed_unit == "record" and undone == []


def test_plain_exceptions_become_unit_errors() -> None:
    def boom() -> None:
        raise OSError("disk full")

    outcome = run([Unit("upload", boom), Unit("unlock", lambda: None, always=True)])
    assert outcome.failed_unit == "upload" and "disk full" in outcome.error.message
    assert isinstance(outcome.error.__cause__, OSError)


def test_a_failing_undo_is_reported_not_raised() -> None:
    def undo(_err: UnitError) -> None:
        raise RuntimeError("ssh gone")

    def broken() -> None:
        raise UnitError("migrate broke")

    outcome = run([Unit("start", lambda: "ok", undo=undo), Unit("migrate", broken)])
    assert "ssh gone" in outcome.error.message
    assert outcome.results[0].undo == "failed: ssh gone"


def test_traffic_phases_are_gated_and_bookkeeping_is_not() -> None:
    assert "switch" in GATED and "health" in GATED
    assert not GATED & {"drain", "record", "cleanup", "unlock"}


def test_stop_ends_the_run_early_with_success() -> None:
    calls: list[str] = []

    def nothing_to_do() -> None:
        calls.append("lock")
        raise Stop("already current: no-op")

    outcome = run([Unit("lock", nothing_to_do), *units(calls)[1:]])
    assert outcome.ok and outcome.stopped == "already current: no-op"
    assert calls == ["lock", "unlock"]


def test_remote_stderr_becomes_the_tail_and_the_cause_is_kept() -> None:
    class CommandFailed(Exception):
        stderr = "line1\nModuleNotFoundError: No module named 'nope'\n"

    def broken() -> None:
        raise CommandFailed("health check failed (exit 1)\nline1")

    outcome = run([Unit("health", broken)])
    assert outcome.error.message == "health check failed (exit 1)"
    assert outcome.error.tail.endswith("No module named 'nope'")
    assert isinstance(outcome.error.__cause__, CommandFailed)
    (res,) = outcome.results  # the failed result carries the tail to the reports
    assert res.to_dict()["tail"].endswith("No module named 'nope'")


def test_status_comes_from_typed_changes() -> None:
    class Waited(Wrote):
        acts: ClassVar[bool] = False

    outcome = run([
        Unit("files", lambda: Done([Wrote("/etc/x")])),
        Unit("wait", lambda: Done([Waited("/x")])),
        Unit("firewall", lambda: Done(skipped=True, detail="container")),
        Unit("none", lambda: Done()),
    ])  # fmt: skip
    assert [r.status for r in outcome.results] == ["changed", "ok", "skipped", "ok"]
    data = outcome.results[0].to_dict()
    assert data["changes"] == ["write /etc/x"]
    assert data["typed_changes"] == [{"kind": "file", "path": "/etc/x", "summary": "write /etc/x"}]


def test_a_unit_that_runs_units_reports_them_as_parts_even_when_it_fails() -> None:
    inner = run([Unit("install", lambda: "ok"), Unit("health", lambda: 1 / 0)])

    def outer() -> None:
        inner.error.parts = inner.results
        raise inner.error

    (res,) = run([Unit("app release", outer, gated=False)]).results
    assert res.status == "failed" and [p.name for p in res.parts] == ["install", "health"]
    assert "division by zero" in res.detail


def test_the_failure_tail_comes_from_the_innermost_failed_part() -> None:
    from deployer.report import failure_tail

    inner = run([Unit("install", lambda: "ok"), Unit("venv", lambda: (_ for _ in ()).throw(
        UnitError("install failed (exit 1)", tail="error: No solution found")))])

    def outer() -> None:
        inner.error.parts = inner.results
        raise inner.error

    results = run([Unit("facts", lambda: "ok"), Unit("app release", outer, gated=False)]).results
    assert failure_tail(results) == "error: No solution found"
    assert failure_tail(results[:1]) == ""


def test_a_run_in_two_stages_is_the_run_in_one() -> None:
    calls: list[str] = []
    undo: list[str] = []
    all_units = units(calls, fail_at="health", undo=undo)
    first = run(all_units[:3])  # lock, upload, install
    assert first.ok and calls == ["lock", "upload", "install"]
    outcome = run(all_units[3:], after=first)
    assert outcome is first and outcome.failed_unit == "health"
    assert [r.name for r in outcome.results] == list(DEPLOY_PHASES)
    # the gated failure in stage two undoes stage one's units too, newest first
    assert undo == [f"{n}:health" for n in ("health", "start", "migrate", "install", "upload",
                                           "lock")]


def test_after_a_failed_or_stopped_first_stage_only_always_units_run() -> None:
    calls: list[str] = []
    all_units = units(calls, fail_at="upload")
    outcome = run(all_units[3:], after=run(all_units[:3]))
    assert calls == ["lock", "upload", "unlock"] and outcome.failed_unit == "upload"

    def stop() -> None:
        raise Stop("already current")

    calls.clear()
    first = run([Unit("lock", stop), *units(calls)[1:3]])
    outcome = run(units(calls)[3:], after=first)
    assert outcome.ok and outcome.stopped == "already current" and calls == ["unlock"]
