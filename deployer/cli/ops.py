"""Day-two commands for a stage: `exec`, `env list|set|unset`, `maintenance on|off`, `backup`,
`restore`. Exit codes: `deployer.cli.common`; `exec` passes the command's own exit code through.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from deployer.cli.common import Code, fail, guard
from deployer.cli.release import CONFIG_OPT, STAGE_ARG, _connect, run_release

env_app = typer.Typer(help="The app's environment on the host: list (masked), set, unset.")
maintenance_app = typer.Typer(help="Maintenance mode: nginx answers 503 with a page.")


def _target(stage: str, config_file: Path | None):  # -> Target
    """The stage's Target (imported late: `deployer --help` stays light)."""
    from deployer.targets import for_stage as assemble

    return assemble(stage, config_file)


def _audit(remote, layout, action: str, result: str, release: str = "", detail: str = "") -> None:
    from deployer.release.audit import AuditEntry
    from deployer.release.state import append_audit

    append_audit(remote, layout, AuditEntry(action, result, release=release, detail=detail))


# -- exec ----------------------------------------------------------------------------------------
def _exec_target(stage: str, config_file: Path | None, host: str | None):  # -> Target
    """The Target of the host `exec` runs on: --host (a name or address) of a stage of several
    hosts, refused without it (before any connection); the stage's own host otherwise."""
    from deployer.cli.fleet import fleet_of
    from deployer.ops.exec import pick_host

    members = fleet_of(stage, config_file)
    if members:
        hosts = {m.name: m.target.host for m in members}
        targets = {m.name: m.target for m in members}
    else:
        t = _target(stage, config_file)
        hosts, targets = {t.host: t.host}, {t.host: t}
    try:
        return targets[pick_host(hosts, host)]
    except ValueError as exc:
        raise fail(Code.INPUT, f"invalid input: {exc}") from None


def exec_command(
    stage: str = STAGE_ARG,
    command: list[str] = typer.Argument(..., help="The command, after `--`."),
    host: str = typer.Option(None, "--host", help="One of the stage's hosts (default: the only)."),
    interactive: bool = typer.Option(False, "--interactive", "-i", help="Attach a terminal."),
    config_file: Path = CONFIG_OPT,
) -> None:
    """Run COMMAND on STAGE as the app user in the current release, with its environment;
    audited on the host; exits with the command's exit code."""
    from deployer.layout import Layout
    from deployer.ops.exec import as_app_argv, describe
    from deployer.release.state import read_state

    t = _exec_target(stage, config_file, host)
    layout = Layout(t.app.name)
    what = describe(command)
    with _connect(t) as remote:
        release = read_state(remote, layout).current_link
        if not release:
            raise fail(Code.FAILED, f"{stage} has no current release: deploy first")
        argv = as_app_argv(layout, layout.release(release), command, tty=interactive)
        _audit(remote, layout, "exec", "started", release, what)
        if interactive:
            code = remote.attach(argv, sudo=True)
        else:  # stdin is sent when it is a pipe or a file (e.g. a password), never a terminal
            data = None if sys.stdin.isatty() else sys.stdin.buffer.read()
            out, err = sys.stdout.buffer, sys.stderr.buffer
            code = remote.stream(argv, sudo=True, stdin=data, out=out, err=err)
        _audit(remote, layout, "exec", "ok" if code == 0 else "failed", release,
               f"exit {code}: {what}")  # fmt: skip
    raise typer.Exit(code)


# -- env -----------------------------------------------------------------------------------------
def _read_env(remote, layout) -> dict[str, str]:
    from deployer import envfile
    from deployer.ops.exec import env_file

    res = remote.run(["cat", "--", env_file(layout)], sudo=True, what="read .env")
    return envfile.parse(res.stdout)


@env_app.command("list")
@guard
def env_list(stage: str = STAGE_ARG, config_file: Path = CONFIG_OPT) -> None:
    """The app's variables on STAGE; values masked unless declared as plain settings (app.env)."""
    from deployer.layout import Layout
    from deployer.ops.env import listing

    t = _target(stage, config_file)
    with _connect(t) as remote:
        values = _read_env(remote, Layout(t.app.name))
    for key, shown in listing(values, t.app.env):
        typer.echo(f"{key}={shown}")


def env_change_for(app: str, change_for):  # -> Callable[[str], tuple[str, str] | None]
    """The lifecycle's ``env_for``: the current .env's text -> (new text, note), None when
    *change_for* (values -> ``EnvChange``) changes nothing; called under the deploy lock."""
    from deployer import envfile

    def compute(current: str) -> tuple[str, str] | None:
        change = change_for(envfile.parse(current))
        if not change.changed:
            return None
        return envfile.render(app, change.after), f"env: {change.summary()}"

    return compute


def _apply_env(stage: str, config_file: Path | None, change_for, message: str) -> int:
    """Apply an environment change as a health-gated release (a copy of the current one,
    started with the new file): the host's .env is read and the change computed under the
    deploy lock, so a concurrent change is never lost."""
    t = _target(stage, config_file)
    return run_release(
        t,
        action="deploy",
        message=message,
        audit_as="env",
        env_for=env_change_for(t.app.name, change_for),
    )


@env_app.command("set")
@guard
def env_set(
    stage: str = STAGE_ARG,
    keys: list[str] = typer.Argument(..., help="Variable names (never values: see --stdin)."),
    stdin: bool = typer.Option(False, "--stdin", help="Read the (one) value from stdin."),
    message: str = typer.Option("", "--message", "-m", help="Why (kept in lock and audit)."),
    config_file: Path = CONFIG_OPT,
) -> None:
    """Set KEYs on STAGE from the local environment (or one from stdin), then restart the app
    through the health-gated switch; a value that breaks the app leaves the old one serving."""
    import os

    from deployer.ops.env import EnvError, set_values, values_for

    try:
        values = values_for(keys, os.environ, sys.stdin.read() if stdin else None)
    except EnvError as exc:
        raise fail(Code.INPUT, f"invalid input: {exc}") from None
    raise typer.Exit(_apply_env(stage, config_file, lambda b: set_values(b, values), message))


@env_app.command("unset")
@guard
def env_unset(
    stage: str = STAGE_ARG,
    keys: list[str] = typer.Argument(..., help="Variable names."),
    message: str = typer.Option("", "--message", "-m", help="Why (kept in lock and audit)."),
    config_file: Path = CONFIG_OPT,
) -> None:
    """Remove KEYs from STAGE's environment, then restart through the health-gated switch."""
    from deployer.ops.env import unset_keys

    raise typer.Exit(_apply_env(stage, config_file, lambda b: unset_keys(b, keys), message))


# -- maintenance ---------------------------------------------------------------------------------
def set_maintenance(remote, t, on: bool, message: str = "") -> None:
    """Put up (or take down) the maintenance page of target *t*; audited."""
    from deployer.layout import Layout
    from deployer.ops import maintenance
    from deployer.steps.web import site_paths

    app = t.app.name
    if on:
        script = maintenance.on_script(app, site_paths(app)[0])
        remote.sh(script, stdin=maintenance.page_html(message).encode(), what="maintenance on")
    else:
        remote.sh(maintenance.off_script(app), what="maintenance off")
    _audit(remote, Layout(app), "maintenance", "ok", detail="on" if on else "off")


def maintenance_state(remote, t) -> str:
    from deployer.ops.maintenance import state_script

    return remote.sh(state_script(t.app.name), what="maintenance state").stdout.strip()


@maintenance_app.command("on")
@guard
def maintenance_on(
    stage: str = STAGE_ARG,
    message: str = typer.Option("", "--message", "-m", help="Shown on the page (escaped)."),
    config_file: Path = CONFIG_OPT,
) -> None:
    """Public requests to STAGE get 503 + Retry-After and the maintenance page (the health and
    readiness paths stay reachable)."""
    t = _target(stage, config_file)
    with _connect(t) as remote:
        set_maintenance(remote, t, True, message)
    typer.echo(f"{stage}: maintenance on")


@maintenance_app.command("off")
@guard
def maintenance_off(stage: str = STAGE_ARG, config_file: Path = CONFIG_OPT) -> None:
    """Take STAGE's maintenance page down: requests reach the app again."""
    t = _target(stage, config_file)
    with _connect(t) as remote:
        set_maintenance(remote, t, False)
    typer.echo(f"{stage}: maintenance off")


# -- backup / restore ----------------------------------------------------------------------------
def _stamp() -> str:
    from datetime import UTC, datetime

    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}"


def backup(
    stage: str = STAGE_ARG,
    out: Path = typer.Option(Path("backups"), "--out", help="Local directory for the copy."),
    schedule: str = typer.Option(
        None, "--schedule", help="Also back up on the host by a timer: hourly, daily or weekly."
    ),
    keep: int = typer.Option(7, "--keep", help="Backups kept on the host (newest first)."),
    list_bucket: bool = typer.Option(
        False, "--list", help="List the backups in the stage's S3 bucket instead (no backup)."
    ),
    config_file: Path = CONFIG_OPT,
) -> None:
    """Back up STAGE's database (SQLite or PostgreSQL, from the app's DATABASE_URL) into a 0600
    file on the host, fetch a copy into --out and, with [stages.STAGE.backup.s3], upload that
    copy to the bucket (credentials from the local environment)."""
    import base64
    import os

    from deployer.layout import Layout
    from deployer.ops import backup as ops_backup

    if list_bucket:
        _list_bucket(stage, config_file)
        return
    try:
        plan = ops_backup.BackupPlan(Layout("app"), keep=keep)
        if schedule is not None:
            ops_backup.timer_units(plan, schedule, "")
    except ValueError as exc:
        raise fail(Code.INPUT, f"invalid input: {exc}") from None
    t = _target(stage, config_file)
    plan = ops_backup.BackupPlan(Layout(t.app.name), keep=keep)
    with _connect(t) as remote:
        res = remote.sh(ops_backup.backup_script(plan, _stamp()), check=False, what="backup")
        if res.code != 0:
            _audit(remote, plan.layout, "backup", "failed", detail=res.stderr.strip()[-300:])
            raise fail(Code.FAILED, f"backup failed (exit {res.code}):\n{res.stderr.strip()}")
        host_path = res.stdout.strip().splitlines()[-1]
        name = ops_backup.local_name(host_path)
        data = remote.sh(f"base64 -w0 -- {host_path}", what="fetch backup").stdout
        _audit(remote, plan.layout, "backup", "ok", detail=host_path)
        if schedule is not None:
            _install_timer(remote, plan, schedule)
    out.mkdir(parents=True, exist_ok=True)
    local = out / name
    fd = os.open(local, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(base64.b64decode(data))
    typer.echo(f"{stage}: backup {host_path} on the host, copy in {local}")
    if schedule is not None:
        typer.echo(f"{stage}: {schedule} backups by {t.app.name}-backup.timer, keeping {keep}")
    if t.backup.s3 is not None:
        from deployer.ops import s3

        try:
            loc = s3.upload(t.backup.s3, local)
        except s3.S3Error as exc:
            raise fail(Code.FAILED, f"{exc} (the backup is on the host and in {local})") from None
        typer.echo(f"{stage}: uploaded to {loc.url}")


def _list_bucket(stage: str, config_file: Path | None) -> None:
    from deployer.ops import s3

    t = _target(stage, config_file)
    dest = t.backup.s3
    if dest is None:
        raise fail(Code.INPUT, f"invalid input: stage {stage} has no [stages.{stage}.backup.s3]")
    try:
        rows = s3.listing(dest)
    except s3.S3Error as exc:
        raise fail(Code.FAILED, str(exc)) from None
    for name, size, when in rows:
        typer.echo(f"{name}  {size:>10}  {when}")


def _install_timer(remote, plan, schedule: str) -> None:
    from deployer.ops import backup as ops_backup

    path = ops_backup.script_path(plan.layout)
    remote.write_file(path, ops_backup.backup_script(plan, "now").encode(), mode="0700")
    units = ops_backup.timer_units(plan, schedule, path)
    for name, text in units.items():
        remote.write_file(f"/etc/systemd/system/{name}", text.encode())
    timer = next(n for n in units if n.endswith(".timer"))
    remote.sh(f"systemctl daemon-reload && systemctl enable --now --quiet {timer}",
              what="enable backup timer")  # fmt: skip


def restore(
    stage: str = STAGE_ARG,
    source: str = typer.Argument(
        ..., help="A backup made by `deployer backup`: a local file, an s3://BUCKET/KEY URL, or "
        "a file name in the stage's bucket (see `backup --list`).", metavar="FILE",
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    config_file: Path = CONFIG_OPT,
) -> None:
    """Replace STAGE's database with FILE; the app is in maintenance meanwhile; audited."""
    import tempfile

    from deployer.ops import backup as ops_backup

    file, is_s3 = Path(source), source.startswith("s3:")
    name = source.rsplit("/", 1)[-1]
    if not is_s3 and not file.is_file() and ("/" in source or not ops_backup.NAME.fullmatch(name)):
        raise fail(Code.INPUT, f"invalid input: {file} not found")
    try:
        ops_backup.local_name(name)
    except ValueError as exc:
        raise fail(Code.INPUT, f"invalid input: {exc}") from None
    t = _target(stage, config_file)
    loc = None
    if is_s3 or not file.is_file():  # a URL, or a name to look up in the stage's bucket
        from deployer.ops import s3

        try:
            loc = s3.restore_source(source, t.backup.s3)
        except ValueError as exc:
            raise fail(Code.INPUT, f"invalid input: {exc}") from None
        if loc is None:
            raise fail(Code.INPUT, f"invalid input: {file} not found (and stage {stage} has no "
                       "S3 bucket to look in)")  # fmt: skip
    shown = loc.url if loc else file.name
    if not yes and not typer.confirm(
        f"Replace the database of {stage} ({t.url}) with {shown}?", default=False
    ):
        raise typer.Exit(Code.REFUSED)
    if loc is None:
        _restore(t, stage, file, file.name)
        return
    with tempfile.TemporaryDirectory(prefix="deployer-restore-") as tmp:
        try:
            fetched = s3.download(t.backup.s3, loc, Path(tmp))
        except s3.S3Error as exc:
            raise fail(Code.FAILED, str(exc)) from None
        _restore(t, stage, fetched, loc.url)


def _restore(t, stage: str, file: Path, shown: str) -> None:
    """Load the local backup *file* into the stage's database (maintenance on meanwhile)."""
    from deployer.layout import Layout
    from deployer.ops import backup as ops_backup
    from deployer.release.migrations import forget_script

    plan = ops_backup.BackupPlan(Layout(t.app.name))
    stamp = _stamp()
    with _connect(t) as remote:
        was_on = maintenance_state(remote, t) == "on"
        _audit(remote, plan.layout, "restore", "started", detail=shown)
        if not was_on:
            set_maintenance(remote, t, True, "Restoring data; back in a moment.")
        try:
            remote.sh(f"mkdir -p -m 0700 -- {plan.directory}")
            remote.write_file(ops_backup.upload_path(plan, stamp), file.read_bytes(), mode="0600")
            # the restored data may predate the scripts the database ran: the next deploy
            # migrates again (see deployer.release.migrations)
            script = f"{forget_script(plan.layout)}; {ops_backup.restore_script(plan, stamp)}"
            res = remote.sh(script, check=False, what="restore")
        finally:
            if not was_on:
                set_maintenance(remote, t, False)
        ok = res.code == 0
        _audit(remote, plan.layout, "restore", "ok" if ok else "failed",
               detail=shown if ok else res.stderr.strip()[-300:])  # fmt: skip
    if not ok:
        raise fail(Code.FAILED, f"restore failed (exit {res.code}):\n{res.stderr.strip()}")
    typer.echo(f"{stage}: restored {shown}")


def register(app: typer.Typer) -> None:
    app.command("exec")(guard(exec_command))
    app.command("backup")(guard(backup))
    app.command("restore")(guard(restore))
    app.add_typer(env_app, name="env")
    app.add_typer(maintenance_app, name="maintenance")
