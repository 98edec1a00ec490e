"""Print a plan: resources table, outputs, policy verdicts; or one JSON document."""

from __future__ import annotations

import json
from typing import Any

from deployer.plan.engine import Run
from deployer.plan.policies import Violation

MAX_LINES = 14


def as_dict(stack: str, run: Run, violations: list[Violation]) -> dict[str, Any]:
    """The JSON shape of ``deployer plan --json``."""
    return {
        "stack": stack,
        "resources": [
            {
                "type": r.type,
                "name": r.name,
                "urn": r.urn,
                "inputs": r.inputs,
                "protect": r.protect,
                "dependencies": sorted(r.dependencies),
            }
            for r in run.resources
        ],
        "outputs": run.shown_outputs(),
        "violations": [v.__dict__ for v in violations],
    }


def _flatten(data: Any, prefix: str = "") -> list[str]:
    if isinstance(data, dict):
        return [line for k, v in data.items() for line in _flatten(v, f"{prefix}{k}.")]
    if isinstance(data, list) and data and any(isinstance(x, dict | list) for x in data):
        return [line for n, v in enumerate(data) for line in _flatten(v, f"{prefix}{n}.")]
    return [f"{prefix[:-1]}={json.dumps(data)}"]


def summary(inputs: dict[str, Any]) -> str:
    """Key inputs as ``path=value`` lines (nested keys dotted), tags left out, lines capped."""
    shown = {k: v for k, v in sorted(inputs.items()) if k not in ("tags", "labels")}
    lines = _flatten(shown) if shown else []
    if len(lines) > MAX_LINES:
        lines = [*lines[: MAX_LINES - 1], f"… {len(lines) - MAX_LINES + 1} more (--json shows all)"]
    return "\n".join(lines)


def print_plan(stack: str, run: Run, violations: list[Violation]) -> None:
    """Human-readable report on stdout."""
    import sys

    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 160)
    table = Table(title=f"Plan for stack {stack}: {len(run.resources)} resources to create")
    for column in ("type", "name", "key inputs"):
        table.add_column(column, overflow="fold")
    for r in run.resources:
        name = r.name + (" (protected)" if r.protect else "")
        table.add_row(escape(r.type), escape(name), escape(summary(r.inputs)))
    console.print(table)
    outputs = Table(title="Outputs")
    outputs.add_column("key")
    outputs.add_column("value", overflow="fold")
    for key, value in run.shown_outputs().items():
        outputs.add_row(escape(key), escape(str(value)))
    console.print(outputs)
    if not violations:
        console.print("[green]Policies: 0 violations[/green]")
        return
    console.print(f"[red]Policies: {len(violations)} violation(s)[/red]")
    for v in violations:
        console.print(
            f"  [red]FAIL[/red] {escape(f'{v.rule}: {v.resource}: {v.message}')}", highlight=False
        )
