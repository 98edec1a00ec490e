"""`deployer bootstrap` (a bare server to the app over HTTPS) and `deployer quickstart`.

Heavy imports (pydantic, Fabric) stay inside the command functions so `deployer --help` is fast.
Exit codes: 0 ok, 2 invalid input, 3 connection or host-key failure, 4 a step failed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import typer

EXIT_INPUT, EXIT_CONNECT, EXIT_STEP = 2, 3, 4
HOST_ARG = re.compile(r"^(?:(?P<user>[^@]+)@)?(?P<host>[^:@]+)(?::(?P<port>[0-9]{1,5}))?$")


def parse_host(value: str) -> dict[str, Any]:
    """``[user@]host[:port]`` -> target fields (validated later with everything else)."""
    m = HOST_ARG.fullmatch(value)
    if not m:
        from deployer.target import TargetError

        raise TargetError(f"host: expected [user@]host[:port], got {value!r}")
    out: dict[str, Any] = {"host": m["host"]}
    if m["user"]:
        out["ssh_user"] = m["user"]
    if m["port"]:
        out["ssh_port"] = int(m["port"])
    return out


def parse_env(pairs: list[str]) -> dict[str, str]:
    from deployer.target import TargetError

    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise TargetError(f"--env expects KEY=VALUE, got {key!r}")
        out[key] = value
    return out


def stack_outputs(stack: str) -> dict[str, Any]:
    """`pulumi stack output --json --show-secrets` for *stack* (the Pulumi CLI must exist)."""
    import json
    import shutil
    import subprocess

    from deployer.target import TargetError

    if not re.fullmatch(r"[A-Za-z0-9_./-]{1,100}", stack):
        raise TargetError(f"invalid stack name {stack!r}")
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        raise TargetError("the pulumi CLI is not installed: export the outputs with --outputs FILE")
    proc = subprocess.run(
        [pulumi, "stack", "output", "--json", "--show-secrets", "--stack", stack],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise TargetError(f"pulumi stack output failed: {proc.stderr.strip()[-300:]}")
    return json.loads(proc.stdout)


def read_outputs(path: Path) -> dict[str, Any]:
    import json

    from deployer.target import TargetError

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TargetError(f"--outputs {path}: {exc}") from None
    if not isinstance(data, dict):
        raise TargetError(f"--outputs {path}: expected a JSON object")
    return data


def sandbox_outputs(name: str) -> dict[str, Any]:
    from deployer import sandbox
    from deployer.target import TargetError

    for host in sandbox.list_hosts():
        if host.name == name:
            return host.outputs()
    raise TargetError(f"no sandbox host named {name!r} (start one: deployer sandbox up {name})")


def build(
    host: str | None,
    *,
    stage: str | None = None,
    config_file: Path | None = None,
    stack: str | None = None,
    outputs: Path | None = None,
    sandbox: str | None = None,
    cli: dict[str, Any] | None = None,
    app: dict[str, Any] | None = None,
    secrets: bool = True,
):  # -> Target
    """Merge the sources (outputs < deployer.toml stage < command line) into a valid Target."""
    from deployer import config, target

    layers: list[dict[str, Any]] = []
    stage_data: dict[str, Any] = {}
    if stage:
        path = config_file or config.DEFAULT_FILE
        if not path.is_file():
            raise target.TargetError(f"--stage {stage}: {path} not found")
        stage_data = config.stage(
            config.load(path), stage, path.resolve().parent, secrets=secrets
        )
        stack = stack or stage_data.pop("stack", None)
        file = stage_data.pop("outputs", None)
        outputs = outputs or (Path(file) if file else None)
    if sandbox:
        layers.append(target.from_outputs(sandbox_outputs(sandbox)))
    if stack:
        layers.append(target.from_outputs(stack_outputs(stack)))
    if outputs:
        layers.append(target.from_outputs(read_outputs(outputs)))
    layers.append(stage_data)
    if host:
        layers.append(parse_host(host))
    layers.append(cli or {})
    if app:
        layers.append({"app": app})
    data = target.merge(*layers)
    if "host" not in data or "domain" not in data:
        missing = [k for k in ("host", "domain") if k not in data]
        raise target.TargetError(
            f"missing {', '.join(missing)}: give HOST and --domain, --stage, --stack or --outputs"
        )
    return target.build_target(data)


def check_source(t) -> None:
    """The app source and its requirements file must exist locally."""
    from deployer.target import TargetError

    src = t.app.source
    if not src.is_dir():
        raise TargetError(f"app source directory not found: {src}")
    req = src.resolve().parent / t.app.requirements
    if not req.is_file():
        raise TargetError(
            f"requirements file {t.app.requirements} not found (paths are relative to the "
            f"directory containing {src.resolve().name}/)"
        )


def artifact_dir() -> Path:
    return Path("~/.cache/deployer/artifacts").expanduser()


def execute(t, *, dry_run: bool, trust_new_host: bool, as_json: bool, show_diffs: bool):
    """Connect, converge, print; return (exit code, results, context)."""
    import time

    from rich.console import Console

    from deployer import report
    from deployer.artifact import build_source_artifact
    from deployer.remote import Remote, RemoteError
    from deployer.steps.plan import bootstrap

    console = Console(stderr=as_json)
    start = time.monotonic()
    artifact = build_source_artifact(t.app.source, artifact_dir())
    if not as_json:
        console.print(
            f"[bold]bootstrap[/] {t.app.name} -> {t.ssh_user or ''}@{t.host} ({t.url})"
            f"{' [dry run]' if dry_run else ''}  artifact {artifact.sha256[:12]}",
            highlight=False,
        )

    def show(result) -> None:
        if not as_json:
            report.print_result(console, result, show_diffs=show_diffs or dry_run)

    results, ctx, code = [], None, 0
    try:
        with Remote(t, trust_new_host=trust_new_host) as remote:
            results, ctx = bootstrap(remote, t, artifact, dry_run=dry_run, on_result=show)
    except RemoteError as exc:
        console.print(f"[bold red]connection failed:[/] {exc}", highlight=False)
        code = EXIT_CONNECT
    seconds = time.monotonic() - start
    if code == 0 and any(r.status == "failed" for r in results):
        code = EXIT_STEP
    if as_json:
        typer.echo(
            report.to_json(results, seconds, ok=code == 0, exit_code=code, url=t.url,
                           release=ctx.release_id if ctx else "", dry_run=dry_run)
        )
    elif results:
        report.print_summary(console, results, seconds)
    return code, results, ctx


def register(app: typer.Typer) -> None:
    @app.command()
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
        source: Path = typer.Option(None, help="App source directory (default ./app)."),
        asgi: str = typer.Option(None, help="ASGI path, e.g. app.main:app."),
        requirements: str = typer.Option(None, help="Requirements file, relative path."),
        health_path: str = typer.Option(None, help="Health path (default /health)."),
        workers: int = typer.Option(None, help="gunicorn workers."),
        env: list[str] = typer.Option(None, "--env", "-e", help="Setting KEY=VALUE."),
        secret: list[str] = typer.Option(
            None, "--secret", help="Secret NAME read from the local environment."
        ),
        secrets_file: Path = typer.Option(None, help="Local KEY=VALUE file of secrets."),
        migrations: str = typer.Option(None, help="alembic.ini (relative) to run migrations."),
        no_firewall: bool = typer.Option(False, "--no-firewall", help="Leave the firewall."),
        trust_new_host: bool = typer.Option(
            False, "--trust-new-host", help="Accept and record an unknown host key."
        ),
        dry_run: bool = typer.Option(False, "--dry-run", help="Show what would change."),
        diff: bool = typer.Option(False, "--diff", help="Show diffs of changed files."),
        as_json: bool = typer.Option(False, "--json", help="Print a JSON report."),
    ) -> None:
        """Take a bare Debian/Ubuntu server to the app served over HTTPS (idempotent)."""
        from deployer import config
        from deployer.target import LETS_ENCRYPT_STAGING, TargetError

        try:
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
                "asgi": asgi,
                "requirements": requirements,
                "health_path": health_path,
                "workers": workers,
                "migrations": migrations,
                "env": parse_env(env or []) or None,
            }
            if secret or secrets_file:
                app_fields["secrets"] = config.resolve_secrets(list(secret or []), secrets_file)
            t = build(host, stage=stage, config_file=config_file, stack=stack, outputs=outputs,
                      sandbox=sandbox, cli=cli, app=app_fields)
            check_source(t)
        except TargetError as exc:
            typer.secho(f"invalid input: {exc}", fg="red", err=True)
            raise typer.Exit(EXIT_INPUT) from None
        code, _, _ = execute(
            t, dry_run=dry_run, trust_new_host=trust_new_host, as_json=as_json, show_diffs=diff
        )
        raise typer.Exit(code)

    @app.command()
    def quickstart(
        name: str = typer.Option("demo", help="Sandbox host name."),
        as_json: bool = typer.Option(False, "--json", help="Print a JSON report."),
    ) -> None:
        """Boot (or reuse) a local sandbox host, bootstrap the sample app, print its HTTPS URL."""
        raise typer.Exit(run_quickstart(name, as_json=as_json))


def quickstart_secrets(name: str) -> dict[str, str]:
    """A SECRET_KEY for the demo app, generated once and kept locally (0600) for re-runs."""
    import os
    import secrets

    path = Path("~/.local/state/deployer").expanduser() / f"quickstart-{name}.env"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(f"SECRET_KEY={secrets.token_urlsafe(48)}\n")
    from deployer.config import read_env_file

    return read_env_file(path)


def run_quickstart(name: str, *, as_json: bool) -> int:
    """Boot or reuse sandbox host *name*, bootstrap the sample app, print URL and health."""
    from deployer import sandbox
    from deployer.target import TargetError

    repo = Path(__file__).resolve().parents[2]
    if not (repo / "app" / "main.py").is_file():
        typer.secho(
            "quickstart deploys the sample app of a deployer checkout; none beside this install "
            f"({repo}). Use `deployer bootstrap` with your own app.",
            fg="red",
            err=True,
        )
        return EXIT_INPUT
    if not any(h.name == name for h in sandbox.list_hosts()):
        typer.secho(f"quickstart: booting sandbox host {name}", err=True)
    try:
        sandbox.up([name])  # returns the running host if it is already up
    except sandbox.SandboxError as exc:
        typer.secho(f"quickstart: cannot start the sandbox: {exc}", fg="red", err=True)
        return EXIT_CONNECT
    try:
        t = build(
            None,
            sandbox=name,
            app={
                "source": str(repo / "app"),
                "migrations": "app/alembic.ini",
                "env": {"ENVIRONMENT": "production"},
                "secrets": quickstart_secrets(name),
            },
        )
    except TargetError as exc:
        typer.secho(f"invalid input: {exc}", fg="red", err=True)
        return EXIT_INPUT
    code, _, ctx = execute(
        t, dry_run=False, trust_new_host=False, as_json=as_json, show_diffs=False
    )
    if code == 0 and ctx is not None and not as_json:
        typer.echo(f"\n{t.health_url}\n{ctx.health.strip()}")
        typer.echo(
            f"try: curl --resolve {t.domain}:443:{t.address} --cacert {t.acme_root} {t.health_url}"
        )
    return code
