"""`deployer plan STACK`: offline preview of a Pulumi stack plus policy checks."""

from __future__ import annotations

from pathlib import Path

import typer

EXIT_VIOLATIONS = 1
EXIT_CONFIG = 2


def register(app: typer.Typer) -> None:
    """Add the `plan` command to the root app."""
    app.command("plan")(plan)


def project_root(start: Path) -> Path:
    """The nearest directory at or above ``start`` holding Pulumi.yaml (else ``start``)."""
    for folder in (start, *start.parents):
        if (folder / "Pulumi.yaml").is_file():
            return folder
    return start


def plan(
    stack: str = typer.Argument(..., help="Stack name; reads Pulumi.<STACK>.yaml (e.g. aws-dev)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
    root: Path | None = typer.Option(
        None,
        "--root",
        help="Directory with Pulumi.yaml and the stack files (default: nearest one above).",
    ),
) -> None:
    """Show what `pulumi up` would create, offline (mock engine), and check the policies.

    Exit codes: 0 no violations, 1 policy violations, 2 missing or invalid configuration.
    """
    import json

    from deployer.plan import plan_stack, report
    from deployer.plan.stackconfig import StackFileError
    from stacks.settings import ConfigError

    try:
        result = plan_stack(stack, root or project_root(Path.cwd()))
    except (ConfigError, StackFileError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_CONFIG) from None
    if as_json:
        typer.echo(json.dumps(report.as_dict(stack, result.run, result.violations), indent=2))
    else:
        report.print_plan(stack, result.run, result.violations)
    if result.violations:
        rules = sorted({v.rule for v in result.violations})
        typer.echo(f"policy violations: {', '.join(rules)}", err=True)
        raise typer.Exit(EXIT_VIOLATIONS)
