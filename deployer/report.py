"""The one reporter of unit results (bootstrap steps, deploy and rollback phases): a rich list
with timings and "N changed, M unchanged", or JSON (a fleet's: one document, per host and total).

Parts (the release phases a bootstrap ran, background work a step waited for) print indented
under the unit they belong to and nest in the JSON. Piped output (CI logs) never wraps.
"""

from __future__ import annotations

import json
import os
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from deployer.engine import Result

STYLE = {"ok": "green", "changed": "yellow", "failed": "bold red", "skipped": "dim"}
NAME_WIDTH = 13
PIPE_WIDTH = 400  # columns when not writing to a terminal: one line per result, never wrapped


def console(*, stderr: bool = False) -> Console:
    """A console for live results; on a pipe as wide as a line can get (no wrapping)."""
    from rich.console import Console

    out = Console(stderr=stderr)
    if not out.is_terminal:
        out.width = PIPE_WIDTH
    return out


def process_seconds() -> float:
    """Seconds since this process started (interpreter start-up and imports included)."""
    try:
        with open("/proc/self/stat", encoding="ascii") as fh:
            ticks = int(fh.read().rsplit(")", 1)[1].split()[19])
        return time.clock_gettime(time.CLOCK_BOOTTIME) - ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return time.monotonic() - _IMPORTED


_IMPORTED = time.monotonic()


def counts(results: list[Result]) -> dict[str, int]:
    return {
        "changed": sum(r.status == "changed" for r in results),
        "unchanged": sum(r.status == "ok" for r in results),
        "failed": sum(r.status == "failed" for r in results),
    }


def summary(results: list[Result]) -> str:
    n = counts(results)
    text = f"{n['changed']} changed, {n['unchanged']} unchanged"
    return text + (f", {n['failed']} failed" if n["failed"] else "")


def print_result(
    out: Console, result: Result, *, show_diffs: bool = False, depth: int = 0
) -> None:
    from rich.markup import escape

    style = STYLE.get(result.status, "")
    name = "  " * depth + result.name
    line = f"[{style}]{result.status:>8}[/] {name:<{NAME_WIDTH}} {result.seconds:6.2f}s"
    text = "; ".join(c.summary for c in result.changes)
    if result.detail and result.status != "failed":
        text = "; ".join(t for t in (text, result.detail) if t)
    if text:
        line += "  " + escape(text)
    if result.undo:
        line += "  " + escape(f"(undone: {result.undo})")
    out.print(line, highlight=False, soft_wrap=True)
    if result.status == "failed" and result.detail:
        out.print(escape(result.detail), style="red", highlight=False, soft_wrap=True)
    if show_diffs:
        for diff in result.diffs:
            out.print(escape(diff.rstrip()), style="dim", highlight=False, soft_wrap=True)


def failure_tail(results: list[Result]) -> str:
    """The log tail of the first failed unit, from the innermost part that has one."""
    for result in results:
        if result.status == "failed":
            return failure_tail(result.parts) or result.tail
    return ""


def print_summary(
    out: Console, results: list[Result], seconds: float, startup: float | None = None
) -> None:
    """The counts and the total time (``startup``: the part of it before the first unit)."""
    failed = any(r.status == "failed" for r in results)
    style = "bold red" if failed else "bold green"
    extra = f" (start-up {startup:.2f}s)" if startup is not None else ""
    out.print(f"[{style}]{summary(results)}[/] in {seconds:.2f}s{extra}", highlight=False)


def to_json(results: list[Result], seconds: float, **extra: object) -> str:
    data = {
        "steps": [r.to_dict() for r in results],
        **counts(results),
        "seconds": round(seconds, 3),
        **extra,
    }
    return json.dumps(data, indent=2)


def fleet_to_json(
    hosts: list[tuple[dict[str, object], list[Result]]],
    seconds: float,
    fleet: dict[str, int],
    **extra: object,
) -> str:
    """One document for a fleet: each host (its own fields, then its steps and their counts, as
    `to_json` gives them for one host) and the fleet's total."""
    data = {
        "hosts": [
            {**info, "steps": [r.to_dict() for r in results], **counts(results)}
            for info, results in hosts
        ],
        "fleet": fleet,
        "seconds": round(seconds, 3),
        **extra,
    }
    return json.dumps(data, indent=2)
