"""`deployer sandbox`: local systemd-nspawn hosts to rehearse deployments on (needs root)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from functools import wraps

import typer

sandbox = typer.Typer(
    help="Local sandbox hosts (real systemd machines) with a local ACME server. Needs root.",
    no_args_is_help=True,
)


def _friendly(func: Callable) -> Callable:
    """Turn a SandboxError into one clear message plus the command that fixes it, exit 1."""

    @wraps(func)
    def wrapper(*args, **kwargs):
        from deployer.sandbox.errors import SandboxError

        try:
            return func(*args, **kwargs)
        except SandboxError as exc:
            typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
            raise typer.Exit(1) from None

    return wrapper


def _describe(host) -> str:
    out = host.outputs()
    return (f"{host.name}: ssh {out['ssh_user']}@{out['host']} -p {out['ssh_port']} "
            f"-i {out['ssh_key']}  http(s)://{out['address']}  name {out['domain']}")


@sandbox.command()
@_friendly
def up(
    names: list[str] = typer.Argument(None, help="Host names (default: dev)."),
    snapshot: str = typer.Option(None, help='Start from a snapshot layer, e.g. "provisioned".'),
) -> None:
    """Boot hosts (each with its own network namespace) and print how to reach them."""
    from deployer.sandbox import up as boot

    for host in boot(names or ["dev"], snapshot=snapshot):
        typer.echo(_describe(host))


@sandbox.command()
@_friendly
def down(
    names: list[str] = typer.Argument(None, help="Host names to stop."),
    all_: bool = typer.Option(False, "--all", help="Stop every host and the shared services."),
) -> None:
    """Stop hosts; the shared services stop with the last one."""
    from deployer.sandbox import down as stop

    if not names and not all_:
        typer.secho("error: name hosts to stop, or pass --all", err=True, fg=typer.colors.RED)
        raise typer.Exit(2)
    stopped = stop(names, all=all_)
    typer.echo("stopped: " + (" ".join(stopped) if stopped else "(no host)"))


@sandbox.command("list")
@_friendly
def list_() -> None:
    """List running hosts."""
    from deployer.sandbox import list_hosts

    for host in list_hosts():
        typer.echo(_describe(host))


@sandbox.command()
@_friendly
def outputs(name: str) -> None:
    """Print a host's outputs (the output contract) as JSON."""
    typer.echo(json.dumps(_find(name).outputs(), indent=2))


@sandbox.command(context_settings={"allow_extra_args": True})
@_friendly
def ssh(ctx: typer.Context, name: str) -> None:
    """Open an SSH session on a host (extra arguments run as a command)."""
    argv = _find(name).ssh_argv(*ctx.args)
    os.execvp(argv[0], argv)  # noqa: S606 (fixed argv, no shell)


@sandbox.command()
def ca(https: bool = typer.Option(False, "--acme-https", help="The ACME server's HTTPS CA.")
       ) -> None:
    """Print the path of the ACME server's issuing root (for curl --cacert)."""
    from deployer.sandbox import acme

    typer.echo(acme.ca_path() if https else acme.root_path())


@sandbox.command()
def doctor() -> None:
    """Check prerequisites (root, Linux, packages, cgroups) and print fixes."""
    from deployer.sandbox.doctor import checks

    failed = False
    for check in checks():
        mark = "ok  " if check.ok else "FAIL"
        typer.echo(f"{mark} {check.name}: {check.detail}")
        if not check.ok:
            failed = True
            if check.fix:
                typer.echo(f"     fix: {check.fix}")
    raise typer.Exit(1 if failed else 0)


def _find(name: str):
    from deployer.sandbox import list_hosts
    from deployer.sandbox.errors import SandboxError

    for host in list_hosts():
        if host.name == name:
            return host
    raise SandboxError(f"no running sandbox host named {name!r}", fix=f"deployer sandbox up {name}")


def register(app: typer.Typer) -> None:
    app.add_typer(sandbox, name="sandbox")
