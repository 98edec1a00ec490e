"""`deployer sandbox`: local systemd-nspawn hosts to rehearse deployments on (needs root)."""

from __future__ import annotations

import json
import os

import typer

from deployer.cli.common import Code, fail, guard

sandbox = typer.Typer(
    help="Local sandbox hosts (real systemd machines) with a local ACME server. Needs root.",
    no_args_is_help=True,
)


def _describe(host) -> str:
    out = host.outputs()
    return (
        f"{host.name}: ssh {out['ssh_user']}@{out['host']} -p {out['ssh_port']} "
        f"-i {out['ssh_key']}  http(s)://{out['address']}  name {out['domain']}"
    )


@sandbox.command()
@guard
def up(
    names: list[str] = typer.Argument(None, help="Host names (default: dev)."),
    snapshot: str = typer.Option(None, help='Start from a snapshot layer, e.g. "provisioned".'),
    lb: str = typer.Option(None, "--lb", help="Put the hosts behind this lab load balancer."),
    health_path: str = typer.Option("/health", help="The load balancer's health check path."),
) -> None:
    """Boot hosts (each with its own network namespace) and print how to reach them."""
    from deployer.sandbox import up as boot
    from deployer.sandbox.api import list_load_balancers

    for host in boot(names or ["dev"], snapshot=snapshot, lb_name=lb, health_path=health_path):
        typer.echo(_describe(host))
    for balancer in list_load_balancers():
        if balancer.name == lb:
            typer.echo(_describe_lb(balancer))


def _describe_lb(balancer) -> str:
    return (f"{balancer.name}: load balancer https://{balancer.address}  name {balancer.domain}"
            f"  pool {' '.join(balancer.members)}")


@sandbox.command()
@guard
def down(
    names: list[str] = typer.Argument(None, help="Host (or load balancer) names to stop."),
    all_: bool = typer.Option(False, "--all", help="Stop every host and the shared services."),
) -> None:
    """Stop hosts; the shared services stop with the last one."""
    from deployer.sandbox import down as stop

    if not names and not all_:
        raise fail(Code.INPUT, "invalid input: name hosts to stop, or pass --all")
    stopped = stop(names, all=all_)
    typer.echo("stopped: " + (" ".join(stopped) if stopped else "(no host)"))


@sandbox.command("list")
@guard
def list_() -> None:
    """List running hosts and load balancers."""
    from deployer.sandbox import list_hosts
    from deployer.sandbox.api import list_load_balancers

    for host in list_hosts():
        typer.echo(_describe(host))
    for balancer in list_load_balancers():
        typer.echo(_describe_lb(balancer))


@sandbox.command()
@guard
def outputs(name: str) -> None:
    """Print a host's outputs (the output contract) as JSON; for a load balancer, the fleet's
    (its hosts list plus the balancer)."""
    from deployer.sandbox.api import fleet_outputs, list_load_balancers
    from deployer.targets import sandbox_host

    if any(b.name == name for b in list_load_balancers()):
        typer.echo(json.dumps(fleet_outputs(name), indent=2))
        return
    typer.echo(json.dumps(sandbox_host(name).outputs(), indent=2))


@sandbox.command(context_settings={"allow_extra_args": True})
@guard
def ssh(ctx: typer.Context, name: str) -> None:
    """Open an SSH session on a host (extra arguments run as a command)."""
    from deployer.targets import sandbox_host

    argv = sandbox_host(name).ssh_argv(*ctx.args)
    os.execvp(argv[0], argv)  # noqa: S606 (fixed argv, no shell)


@sandbox.command()
@guard
def ca(
    https: bool = typer.Option(False, "--acme-https", help="The ACME server's HTTPS CA."),
) -> None:
    """Print the path of the ACME server's issuing root (for curl --cacert)."""
    from deployer.sandbox import acme

    typer.echo(acme.ca_path() if https else acme.root_path())


@sandbox.command()
@guard
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
    raise typer.Exit(Code.FINDINGS if failed else Code.OK)


def register(app: typer.Typer) -> None:
    app.add_typer(sandbox, name="sandbox")
