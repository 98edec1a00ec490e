"""`deployer package`: build the release artifact and the platform packages, reproducibly."""

from __future__ import annotations

from pathlib import Path

import typer

from deployer.cli.common import guard


@guard
def package(
    src: Path = typer.Option(Path("."), "--src", help="Project root (the release root)."),
    include: list[str] = typer.Option(
        [], "--include", help="Ship only this top-level entry of the project (repeatable)."
    ),
    requirements: str = typer.Option(
        None, "--requirements", help="Requirements file in the project (default: detected)."
    ),
    out: Path = typer.Option(Path("dist"), "--out", help="Output directory."),
    only: list[str] = typer.Option(
        [], "--only", help="Build only this kind: source, cloudrun or appservice (repeatable)."
    ),
    templates: Path = typer.Option(
        None, "--templates", help="Directory with Dockerfile and appservice-startup.sh."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Build the source artifact (VM releases), the Cloud Run build context and the App Service
    zip. Same source -> same sha256; the hash is each artifact's identity."""
    import json

    from deployer.artifact import ArtifactError
    from deployer.package import KINDS, TEMPLATES, build_all
    from deployer.project import Project

    try:
        project = Project(src, tuple(include))
        built = build_all(project, out, tuple(only) or KINDS, templates or TEMPLATES, requirements)
    except OSError as exc:  # an unreadable source or unwritable --out is bad input too
        raise ArtifactError(str(exc)) from exc
    if as_json:
        typer.echo(json.dumps({kind: item.to_dict() for kind, item in built.items()}, indent=2))
        return
    for kind, item in built.items():
        typer.echo(f"{kind:<11} {item.sha256}  {item.path}")


def register(app: typer.Typer) -> None:
    app.command("package")(package)
