"""Print step results: a rich list with timings and "N changed, M unchanged", or JSON."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from deployer.steps.base import StepResult

STYLE = {"ok": "green", "changed": "yellow", "failed": "bold red", "skipped": "dim"}


def summary(results: list[StepResult]) -> str:
    changed = sum(r.status == "changed" for r in results)
    unchanged = sum(r.status == "ok" for r in results)
    failed = sum(r.status == "failed" for r in results)
    text = f"{changed} changed, {unchanged} unchanged"
    return text + (f", {failed} failed" if failed else "")


def print_result(console: Console, result: StepResult, *, show_diffs: bool = False) -> None:
    from rich.markup import escape

    style = STYLE.get(result.status, "")
    line = f"[{style}]{result.status:>8}[/] {result.name:<13} {result.seconds:6.2f}s"
    if result.changes:
        line += "  " + escape("; ".join(result.changes))
    elif result.detail and result.status != "failed":
        line += "  " + escape(result.detail)
    console.print(line, highlight=False, soft_wrap=True)
    if result.status == "failed" and result.detail:
        console.print(escape(result.detail), style="red", highlight=False)
    if show_diffs:
        for diff in result.diffs:
            console.print(escape(diff.rstrip()), style="dim", highlight=False)


def print_summary(console: Console, results: list[StepResult], seconds: float) -> None:
    failed = any(r.status == "failed" for r in results)
    style = "bold red" if failed else "bold green"
    console.print(f"[{style}]{summary(results)}[/] in {seconds:.2f}s", highlight=False)


def to_json(results: list[StepResult], seconds: float, **extra: object) -> str:
    data = {
        "steps": [
            {
                "name": r.name,
                "status": r.status,
                "seconds": round(r.seconds, 3),
                "changes": r.changes,
                "detail": r.detail,
            }
            for r in results
        ],
        "changed": sum(r.status == "changed" for r in results),
        "unchanged": sum(r.status == "ok" for r in results),
        "failed": sum(r.status == "failed" for r in results),
        "seconds": round(seconds, 3),
        **extra,
    }
    return json.dumps(data, indent=2)
