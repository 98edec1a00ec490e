"""Named phases and the runner that executes them in order, stopping at the first failure.

A deploy is lock → upload → install → migrate → start → health → switch → drain → record →
cleanup → unlock. Phases up to and including ``switch`` are *gated*: a failure there means
traffic never moved (or was moved back), so the previous release is still serving. The runner
stays free of SSH: phases are plain callables, which keeps the ordering and failure handling
testable without a host.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

DEPLOY_PHASES = (
    "lock",
    "upload",
    "install",
    "migrate",
    "start",
    "health",
    "switch",
    "drain",
    "record",
    "cleanup",
    "unlock",
)
ROLLBACK_PHASES = ("lock", "start", "health", "switch", "drain", "record", "unlock")
GATED = frozenset({"lock", "upload", "install", "migrate", "start", "health", "switch"})


class PhaseError(RuntimeError):
    """A phase failed; ``tail`` is the end of the relevant log (remote stderr or journal)."""

    def __init__(self, message: str, tail: str = "", phase: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.tail = tail
        self.phase = phase


class Stop(Exception):
    """Raised by a phase to end the run early with success (e.g. nothing to do)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass
class PhaseResult:
    name: str
    status: str  # "ok" | "failed" | "skipped"
    seconds: float = 0.0
    detail: str = ""


@dataclass
class Outcome:
    """The result of a run: every phase's result, and the failure if there was one."""

    phases: list[PhaseResult] = field(default_factory=list)
    error: PhaseError | None = None
    stopped: str = ""  # why the run ended early with success ('' if it ran to the end)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def failed_phase(self) -> str:
        return self.error.phase if self.error else ""

    @property
    def seconds(self) -> float:
        return sum(p.seconds for p in self.phases)


Phase = tuple[str, Callable[[], str | None]]


def run_phases(
    phases: Sequence[Phase],
    *,
    on_failure: Callable[[PhaseError], None] | None = None,
    finally_phases: Sequence[str] = ("unlock",),
    report: Callable[[PhaseResult], None] | None = None,
) -> Outcome:
    """Run ``phases`` in order. On the first failure, call ``on_failure`` (undo what is needed to
    keep the previous release serving), mark the rest skipped except ``finally_phases`` (e.g.
    unlock), which always run. A phase raising Stop ends the run early, successfully."""
    outcome = Outcome()
    emit = report or (lambda _r: None)
    for name, fn in phases:
        if (outcome.error is not None or outcome.stopped) and name not in finally_phases:
            res = PhaseResult(name, "skipped")
            outcome.phases.append(res)
            emit(res)
            continue
        start = time.monotonic()
        try:
            detail = fn() or ""
        except Stop as stop:
            outcome.stopped = detail = stop.detail
        except Exception as exc:  # every failure becomes a named PhaseError
            err = exc if isinstance(exc, PhaseError) else _as_phase_error(exc)
            err.phase = err.phase or name
            res = PhaseResult(name, "failed", time.monotonic() - start, err.message)
            outcome.phases.append(res)
            emit(res)
            if outcome.error is None:
                outcome.error = err
                if on_failure is not None:
                    try:
                        on_failure(err)
                    except Exception as undo_exc:
                        err.message += f" (and undo failed: {undo_exc})"
            continue
        res = PhaseResult(name, "ok", time.monotonic() - start, detail)
        outcome.phases.append(res)
        emit(res)
    return outcome


def _as_phase_error(exc: Exception) -> PhaseError:
    """Wrap any exception; a remote command's stderr becomes the log tail."""
    text = str(exc).strip()
    stderr = getattr(exc, "stderr", "")
    if stderr:
        first = text.splitlines()[0] if text else type(exc).__name__
        err = PhaseError(first, tail="\n".join(stderr.rstrip().splitlines()[-30:]))
    else:
        err = PhaseError(text or type(exc).__name__)
    err.__cause__ = exc
    return err
