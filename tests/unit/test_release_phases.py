"""The phase runner: order, stop at first failure, undo hook, unlock always runs."""

from deployer.release.phases import DEPLOY_PHASES, GATED, PhaseError, run_phases


def recorder(calls: list[str], fail_at: str = "", tail: str = ""):
    def make(name: str):
        def fn() -> str:
            calls.append(name)
            if name == fail_at:
                raise PhaseError(f"{name} broke", tail=tail)
            return f"{name} done"

        return fn

    return [(name, make(name)) for name in DEPLOY_PHASES]


def test_all_phases_run_in_order() -> None:
    calls: list[str] = []
    outcome = run_phases(recorder(calls))
    assert outcome.ok and calls == list(DEPLOY_PHASES)
    assert [p.status for p in outcome.phases] == ["ok"] * len(DEPLOY_PHASES)


def test_failure_names_the_phase_skips_the_rest_but_unlocks() -> None:
    calls: list[str] = []
    undone: list[str] = []
    outcome = run_phases(
        recorder(calls, fail_at="health", tail="Traceback: ImportError"),
        on_failure=lambda err: undone.append(err.phase),
    )
    assert not outcome.ok
    assert outcome.failed_phase == "health" and undone == ["health"]
    assert "ImportError" in outcome.error.tail
    assert calls == ["lock", "upload", "install", "migrate", "start", "health", "unlock"]
    statuses = {p.name: p.status for p in outcome.phases}
    assert statuses["switch"] == "skipped" and statuses["unlock"] == "ok"


def test_plain_exceptions_become_phase_errors() -> None:
    def boom() -> None:
        raise OSError("disk full")

    outcome = run_phases([("upload", boom), ("unlock", lambda: None)])
    assert outcome.failed_phase == "upload" and "disk full" in outcome.error.message


def test_a_failing_undo_is_reported_not_raised() -> None:
    def undo(_err: PhaseError) -> None:
        raise RuntimeError("ssh gone")

    outcome = run_phases(recorder([], fail_at="migrate"), on_failure=undo)
    assert "ssh gone" in outcome.error.message


def test_traffic_phases_are_gated_and_bookkeeping_is_not() -> None:
    assert "switch" in GATED and "health" in GATED
    assert not GATED & {"drain", "record", "cleanup", "unlock"}


def test_stop_ends_the_run_early_with_success() -> None:
    from deployer.release.phases import Stop

    calls: list[str] = []

    def nothing_to_do() -> None:
        calls.append("lock")
        raise Stop("already current: no-op")

    steps = [("lock", nothing_to_do), *recorder(calls)[1:]]
    outcome = run_phases(steps)
    assert outcome.ok and outcome.stopped == "already current: no-op"
    assert calls == ["lock", "unlock"]


def test_remote_stderr_becomes_the_tail_and_the_cause_is_kept() -> None:
    class CommandFailed(Exception):
        stderr = "line1\nModuleNotFoundError: No module named 'nope'\n"

    def broken() -> None:
        raise CommandFailed("health check failed (exit 1)\nline1")

    outcome = run_phases([("health", broken)])
    assert outcome.error.message == "health check failed (exit 1)"
    assert outcome.error.tail.endswith("No module named 'nope'")
    assert isinstance(outcome.error.__cause__, CommandFailed)
