"""The one runner of named units: bootstrap steps and release phases alike.

A unit is a name and a callable; it returns what it did (``Done``: typed changes and a detail
line) or raises. The runner times each unit, turns every failure into a ``UnitError`` named
after the unit, and stops at the first one. Units marked ``always`` (the unlock) still run.

The undo rule, the same for every run: after the first failure in a *gated* unit (one before
the point of no return, e.g. a deploy's switch), the runner calls ``undo`` of every unit that
ran, the failed one included, newest first. After a failure in an ungated unit nothing is
undone (the new state stands; re-running converges). A failing undo is reported on the error,
never raised. The runner does no I/O itself: units are plain callables, testable without a host.

A run may come in stages (a fleet installs on every host, then switches them batch by batch):
``run(more, after=outcome)`` continues an earlier stage's outcome. After that stage's failure
or Stop only ``always`` units run; a gated failure undoes that stage's units too.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Literal

Status = Literal["changed", "ok", "failed", "skipped"]
TAIL_LINES = 80  # of a failed command's stderr: a crashed app's journal, its first error included


@dataclass(frozen=True)
class Change:
    """One typed difference to make (subclasses are the payload). ``acts`` is False for work
    that changes nothing on the host (waiting for a lock, verifying health)."""

    kind: ClassVar[str] = "change"
    acts: ClassVar[bool] = True

    @property
    def summary(self) -> str:
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in asdict(self).items() if k != "diff"}
        return {"kind": self.kind, **data, "summary": self.summary}


@dataclass
class Result:
    """What one unit did: status, time, typed changes, a detail line, what undo did, and the
    results of the units it ran itself (a bootstrap's release phases)."""

    name: str
    status: Status
    seconds: float = 0.0
    changes: list[Change] = field(default_factory=list)
    detail: str = ""
    undo: str = ""
    parts: list[Result] = field(default_factory=list)
    tail: str = ""  # a failed unit's log tail (remote stderr or journal)

    @property
    def diffs(self) -> list[str]:
        return [d for c in self.changes if (d := getattr(c, "diff", "")) and d != "?"]

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "status": self.status,
            "seconds": round(self.seconds, 3),
            "changes": [c.summary for c in self.changes],
            "typed_changes": [c.to_dict() for c in self.changes],
            "detail": self.detail,
        }
        if self.undo:
            data["undo"] = self.undo
        if self.tail:
            data["tail"] = self.tail
        if self.parts:
            data["parts"] = [p.to_dict() for p in self.parts]
        return data


@dataclass
class Done:
    """A unit's return value: its changes (none: nothing needed doing) and a detail line."""

    changes: list[Change] = field(default_factory=list)
    detail: str = ""
    skipped: bool = False  # the unit does not apply here (e.g. a container's firewall)
    parts: list[Result] = field(default_factory=list)  # units it ran or waited for

    @property
    def status(self) -> Status:
        if any(c.acts for c in self.changes):
            return "changed"
        return "skipped" if self.skipped else "ok"


class UnitError(RuntimeError):
    """A unit failed; ``tail`` is the end of the relevant log (remote stderr or journal)."""

    def __init__(self, message: str, tail: str = "", unit: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.tail = tail
        self.unit = unit
        self.parts: list[Result] = []  # results of the units it ran itself, up to the failure


class Stop(Exception):
    """Raised by a unit to end the run early with success (e.g. nothing to do)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass
class Unit:
    name: str
    run: Callable[[], Done | str | None]
    undo: Callable[[UnitError], str | None] | None = None
    gated: bool = True  # a failure here is undone (see the module docstring)
    always: bool = False  # runs even after a failure or a Stop (e.g. unlock)


@dataclass
class Outcome:
    """The result of a run: every unit's result, and the failure if there was one."""

    results: list[Result] = field(default_factory=list)
    error: UnitError | None = None
    stopped: str = ""  # why the run ended early with success ('' if it ran to the end)
    ran: list[tuple[Unit, Result]] = field(default_factory=list, repr=False)  # for the undo

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def failed_unit(self) -> str:
        return self.error.unit if self.error else ""

    @property
    def changed(self) -> bool:
        return any(r.status == "changed" for r in self.results)

    @property
    def seconds(self) -> float:
        return sum(r.seconds for r in self.results)


def run(
    units: Sequence[Unit],
    *,
    report: Callable[[Result], None] | None = None,
    after: Outcome | None = None,
) -> Outcome:
    """Run ``units`` in order (see the module docstring for failure, Stop and undo); ``after``:
    an earlier stage's outcome, continued and returned."""
    outcome = after if after is not None else Outcome()
    emit = report or (lambda _r: None)
    ran = outcome.ran
    for unit in units:
        if (outcome.error is not None or outcome.stopped) and not unit.always:
            res = Result(unit.name, "skipped")
            outcome.results.append(res)
            emit(res)
            continue
        start = time.monotonic()
        err: UnitError | None = None
        try:
            done = _done(unit.run())
            res = Result(unit.name, done.status, 0.0, done.changes, done.detail, parts=done.parts)
        except Stop as stop:
            outcome.stopped = stop.detail
            res = Result(unit.name, "ok", 0.0, detail=stop.detail)
        except Exception as exc:  # every failure becomes a named UnitError
            err = as_unit_error(exc)
            err.unit = err.unit or unit.name
            res = Result(unit.name, "failed", 0.0, detail=err.message, parts=err.parts,
                         tail=err.tail)
        res.seconds = time.monotonic() - start
        ran.append((unit, res))
        if err is not None and outcome.error is None:
            outcome.error = err
            if unit.gated:
                _undo(ran, err)
        outcome.results.append(res)
        emit(res)
    return outcome


def _done(value: Done | str | None) -> Done:
    return value if isinstance(value, Done) else Done(detail=value or "")


def _undo(ran: list[tuple[Unit, Result]], err: UnitError) -> None:
    for unit, res in reversed(ran):
        if unit.undo is None:
            continue
        try:
            res.undo = unit.undo(err) or ""
        except Exception as exc:
            err.message += f" (and undo of {unit.name} failed: {exc})"
            res.undo = f"failed: {exc}"


def as_unit_error(exc: Exception) -> UnitError:
    """Wrap any exception (a UnitError stays as it is); a remote command's stderr becomes the
    log tail; the original is kept as ``__cause__``."""
    if isinstance(exc, UnitError):
        return exc
    text = str(exc).strip()
    stderr = getattr(exc, "stderr", "")
    if stderr:
        first = text.splitlines()[0] if text else type(exc).__name__
        err = UnitError(first, tail="\n".join(stderr.rstrip().splitlines()[-TAIL_LINES:]))
    else:
        err = UnitError(text or type(exc).__name__)
    err.__cause__ = exc
    return err
