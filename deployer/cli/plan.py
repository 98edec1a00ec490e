"""`deployer plan STACK...`: offline preview of a Pulumi stack plus policy checks."""

from __future__ import annotations

from pathlib import Path

import typer

from deployer.cli.common import Code, guard


def project_root(start: Path) -> Path:
    """The nearest directory at or above ``start`` holding Pulumi.yaml (else ``start``)."""
    for folder in (start, *start.parents):
        if (folder / "Pulumi.yaml").is_file():
            return folder
    return start


@guard
def plan(
    stacks: list[str] = typer.Argument(
        None, metavar="STACK", help="Stacks; each reads Pulumi.<STACK>.yaml (e.g. aws-dev)."
    ),
    every: bool = typer.Option(False, "--all", help="Plan every Pulumi.*.yaml in the root."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (a list for several stacks)."),
    root: Path | None = typer.Option(
        None,
        "--root",
        help="Directory with Pulumi.yaml and the stack files (default: nearest one above).",
    ),
) -> None:
    """Show what `pulumi up` would create, offline (mock engine), and check the policies.

    Exit codes: 0 no violations, 1 policy violations, 2 missing or invalid configuration
    (the worst over all stacks; every stack is planned either way).
    """
    from deployer.plan.engine import gc_paused
    from deployer.stack_config import stack_names

    folder = root or project_root(Path.cwd())
    names = stack_names(folder) if every else list(stacks or [])
    if not names:
        typer.echo(f"error: name a stack or pass --all (no Pulumi.*.yaml in {folder}?)", err=True)
        raise typer.Exit(Code.INPUT)
    with gc_paused():  # planning is import-bound; see gc_paused
        codes, documents = zip(*(plan_one(name, folder, as_json) for name in names), strict=True)
    shown = [d for d in documents if d is not None]
    if as_json and (shown or len(names) > 1):
        import json

        typer.echo(json.dumps(shown if len(names) > 1 else shown[0], indent=2))
    if max(codes):
        raise typer.Exit(max(codes))


def plan_one(stack: str, root: Path, as_json: bool) -> tuple[Code, dict | None]:
    """Plan one stack, printing its report unless ``as_json``: (exit code, JSON document)."""
    from deployer.plan import plan_stack, report
    from deployer.stack_config import StackConfigError
    from stacks.settings import ConfigError

    try:
        result = plan_stack(stack, root)
    except (ConfigError, StackConfigError) as exc:
        typer.echo(f"error: {stack}: {exc}", err=True)
        return Code.INPUT, None
    document = report.as_dict(stack, result.run, result.violations) if as_json else None
    if not as_json:
        report.print_plan(stack, result.run, result.violations)
    if not result.violations:
        return Code.OK, document
    rules = sorted({v.rule for v in result.violations})
    typer.echo(f"policy violations in {stack}: {', '.join(rules)}", err=True)
    return Code.FINDINGS, document


def register(app: typer.Typer) -> None:
    """Add the `plan` command to the root app."""
    app.command("plan")(plan)
