"""The `deployer` command line: one module per command group, composed here.

Each group module exposes ``register(app)`` and keeps heavy imports (Fabric, Pulumi, pydantic
models) inside its command functions so that `deployer --help` stays fast.
"""

from __future__ import annotations

import importlib

import typer

from deployer import __version__

GROUPS = ("sandbox", "bootstrap", "release", "ops", "plan", "package")

app = typer.Typer(
    name="deployer",
    help="Take a FastAPI app from nothing to HTTPS in production, and keep it there.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"deployer {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Provision, bootstrap and release FastAPI apps over SSH or on a local sandbox."""


for _name in GROUPS:
    importlib.import_module(f"deployer.cli.{_name}").register(app)


def main() -> None:
    """Console-script entry point."""
    app()
