"""`deployer bootstrap` (a bare server to the app over HTTPS) and `deployer quickstart`.

Heavy imports (pydantic, Fabric) stay inside the command functions so `deployer --help` is fast.
Exit codes: `deployer.cli.common` (the same for every command).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from deployer.cli.common import Code, build_artifact, fail, guard

# The sample app in this repository's project: only app/ ships (deployer.toml says the same).
SAMPLE_APP = {
    "include": ["app"],
    "requirements": "app/requirements.txt",
    "migrations": "app/alembic.ini",
    "version_file": "app/VERSION",
    "ready_path": "/ready",
}


def execute(t, *, dry_run: bool, trust_new_host: bool, as_json: bool, show_diffs: bool):
    """Connect, converge, print; return (exit code, results, context)."""
    from deployer import report
    from deployer.remote import Remote, RemoteError
    from deployer.steps.plan import bootstrap as converge

    console = report.console(stderr=as_json)
    artifact = build_artifact(t)
    if not as_json:
        console.print(
            f"[bold]bootstrap[/] {t.app.name} -> {t.ssh_user or ''}@{t.host} ({t.url})"
            f"{' [dry run]' if dry_run else ''}  artifact {artifact.sha256[:12]}",
            highlight=False,
        )

    def show(result, depth: int = 0) -> None:
        if not as_json:
            report.print_result(console, result, show_diffs=show_diffs or dry_run, depth=depth)

    results, ctx, code, startup = [], None, Code.OK, None
    try:
        with Remote(t, trust_new_host=trust_new_host) as remote:
            startup = report.process_seconds()  # interpreter, imports, artifact, SSH connect
            results, ctx = converge(remote, t, artifact, dry_run=dry_run, on_result=show,
                                    on_part=lambda r: show(r, 1))  # fmt: skip
    except RemoteError as exc:
        console.print(f"[bold red]connection failed:[/] {exc}", highlight=False)
        code = Code.CONNECT
    seconds = report.process_seconds()
    if code == Code.OK and any(r.status == "failed" for r in results):
        code = Code.FAILED
    if as_json:
        typer.echo(
            report.to_json(results, seconds, ok=code == Code.OK, exit_code=int(code), url=t.url,
                           release=ctx.release_id if ctx else "", dry_run=dry_run,
                           startup_seconds=round(startup or seconds, 3))
        )  # fmt: skip
    elif results:
        report.print_summary(console, results, seconds, startup)
        if tail := report.failure_tail(results):
            from rich.markup import escape

            console.print(escape(tail), style="red", highlight=False)
    return code, results, ctx


@guard
def bootstrap(
    host: str = typer.Argument(None, help="[user@]host[:port] to bootstrap over SSH."),
    domain: str = typer.Option(None, help="Public domain name served over HTTPS."),
    stage: str = typer.Option(None, "--stage", "-s", help="Stage in deployer.toml."),
    config_file: Path = typer.Option(None, "--config", help="deployer.toml to read."),
    stack: str = typer.Option(None, help="Pulumi stack whose outputs describe the host."),
    outputs: Path = typer.Option(None, help="JSON file with stack outputs (same shape)."),
    sandbox: str = typer.Option(None, help="Bootstrap the named sandbox host."),
    identity: Path = typer.Option(None, "--identity", "-i", help="SSH private key."),
    host_key: str = typer.Option(None, help="Pinned host key line 'ssh-ed25519 AAAA...'."),
    acme_server: str = typer.Option(None, help="ACME directory URL (default Let's Encrypt)."),
    staging: bool = typer.Option(False, "--staging", help="Use Let's Encrypt staging."),
    email: str = typer.Option(None, help="ACME account e-mail."),
    app_name: str = typer.Option(None, "--app-name", help="App (and system user) name."),
    source: Path = typer.Option(None, help="Project root: it becomes the release root."),
    include: list[str] = typer.Option(
        None, "--include", help="Ship only this top-level entry of the project (repeatable)."
    ),
    asgi: str = typer.Option(None, help="ASGI path, e.g. app.main:app."),
    requirements: str = typer.Option(
        None, help="Requirements file in the project (default: pyproject.toml, uv.lock or "
        "requirements.txt at its root)."
    ),
    health_path: str = typer.Option(None, help="Health path (default /health)."),
    ready_path: str = typer.Option(
        None, help="Readiness path gating the switch, e.g. /ready (default: the health path)."
    ),
    workers: int = typer.Option(None, help="gunicorn workers."),
    env: list[str] = typer.Option(None, "--env", "-e", help="Setting KEY=VALUE."),
    secret: list[str] = typer.Option(
        None, "--secret", help="Secret NAME read from the local environment."
    ),
    secrets_file: Path = typer.Option(None, help="Local KEY=VALUE file of secrets."),
    migrations: str = typer.Option(None, help="alembic.ini in the project: run migrations."),
    version_file: str = typer.Option(
        None, "--version-file", help="VERSION file in the project (default: VERSION)."
    ),
    no_firewall: bool = typer.Option(False, "--no-firewall", help="Leave the firewall."),
    trust_new_host: bool = typer.Option(
        False, "--trust-new-host", help="Accept and record an unknown host key."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would change."),
    diff: bool = typer.Option(False, "--diff", help="Show diffs of changed files."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON report."),
    parallel: int = typer.Option(4, "--parallel", min=1, help="A fleet: hosts at once."),
) -> None:
    """Take a bare Debian/Ubuntu server (or a stage's every host) to the app served over HTTPS
    (idempotent)."""
    from deployer import config, targets
    from deployer.target import LETS_ENCRYPT_STAGING

    cli: dict[str, Any] = {
        "domain": domain,
        "ssh_key": str(identity) if identity else None,
        "ssh_host_key": host_key,
        "acme_server": LETS_ENCRYPT_STAGING if staging else acme_server,
        "acme_email": email,
        "firewall": False if no_firewall else None,
    }
    app_fields: dict[str, Any] = {
        "name": app_name,
        "source": str(source) if source else None,
        "include": include or None,
        "asgi": asgi,
        "requirements": requirements,
        "health_path": health_path,
        "ready_path": ready_path,
        "workers": workers,
        "migrations": migrations,
        "version_file": version_file,
        "env": targets.parse_env(env or []) or None,
    }
    if secret or secrets_file:
        app_fields["secrets"] = config.resolve_secrets(list(secret or []), secrets_file)
    if stage and not host:
        from deployer.cli import fleet

        members = fleet.fleet_of(stage, config_file, cli=cli, app=app_fields, secrets=True)
        if members:
            code = fleet.bootstrap(members, parallel=parallel, dry_run=dry_run,
                                   trust_new_host=trust_new_host, as_json=as_json)
            raise typer.Exit(code)
    t = targets.assemble(host, stage=stage, config_file=config_file, stack=stack,
                         outputs=outputs, sandbox=sandbox, cli=cli, app=app_fields)  # fmt: skip
    code, _, _ = execute(
        t, dry_run=dry_run, trust_new_host=trust_new_host, as_json=as_json, show_diffs=diff
    )
    raise typer.Exit(code)


@guard
def quickstart(
    name: str = typer.Option("demo", help="Sandbox host name."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON report."),
) -> None:
    """Boot (or reuse) a local sandbox host, bootstrap the sample app, print its HTTPS URL."""
    from deployer import sandbox, targets

    repo = Path(__file__).resolve().parents[2]
    if not (repo / "app" / "main.py").is_file():
        raise fail(
            Code.INPUT,
            "quickstart deploys the sample app of a deployer checkout; none beside this install "
            f"({repo}). Use `deployer bootstrap` with your own app.",
        )
    if not any(h.name == name for h in sandbox.list_hosts()):
        typer.secho(f"quickstart: booting sandbox host {name}", err=True)
    sandbox.up([name])  # returns the running host if it is already up
    t = targets.assemble(
        None,
        sandbox=name,
        app={
            **SAMPLE_APP,
            "source": str(repo),
            "env": {"ENVIRONMENT": "production"},
            "secrets": quickstart_secrets(name),
        },
    )
    code, _, ctx = execute(t, dry_run=False, trust_new_host=False, as_json=as_json,
                           show_diffs=False)  # fmt: skip
    if code == Code.OK and ctx is not None and not as_json:
        typer.echo(f"\n{t.health_url}\n{ctx.health.strip()}")
        typer.echo(
            f"try: curl --resolve {t.domain}:443:{t.address} --cacert {t.acme_root} {t.health_url}"
        )
    raise typer.Exit(code)


def quickstart_secrets(name: str) -> dict[str, str]:
    """A SECRET_KEY for the demo app, generated once and kept locally (0600) for re-runs."""
    import os
    import secrets

    from deployer.config import read_env_file

    path = Path("~/.local/state/deployer").expanduser() / f"quickstart-{name}.env"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(f"SECRET_KEY={secrets.token_urlsafe(48)}\n")
    return read_env_file(path)


def register(app: typer.Typer) -> None:
    app.command()(bootstrap)
    app.command()(quickstart)
