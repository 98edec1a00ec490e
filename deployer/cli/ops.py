"""Day-two commands for a stage: `exec`, `env list|set|unset`, `maintenance on|off`, `backup`,
`restore`. Exit codes: `deployer.cli.common`; `exec` passes the command's own exit code through.

A stage of several hosts (a fleet): `env set|unset` rolls like a deploy (canary, batches, stop
and revert); `env list` reads every host and flags the ones that differ; `maintenance` switches
every host at once; `exec`, `backup` and `restore` run on one host (`--host`; backup and restore
default to the first, as the hosts share the database, and a restore puts the other hosts in
maintenance meanwhile).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

import typer

from deployer.cli import fleet
from deployer.cli.common import Code, fail, guard
from deployer.cli.release import CONFIG_OPT, STAGE_ARG, _connect, run_release

env_app = typer.Typer(help="The app's environment on the host: list (masked), set, unset.")
maintenance_app = typer.Typer(help="Maintenance mode: nginx answers 503 with a page.")
AT_ONCE_OPT = typer.Option(8, "--parallel", min=1, help="A fleet: hosts switched at once.")
RESTORING = "Restoring data; back in a moment."
DB_HOST_OPT = typer.Option(
    None, "--host", help="A fleet: the host that runs it (default: the first; they share the "
    "database)."
)


def _target(stage: str, config_file: Path | None):  # -> Target
    """The stage's Target (imported late: `deployer --help` stays light)."""
    from deployer.targets import for_stage as assemble

    return assemble(stage, config_file)


def _audit(remote, layout, action: str, result: str, release: str = "", detail: str = "") -> None:
    from deployer.release.audit import AuditEntry
    from deployer.release.state import append_audit

    append_audit(remote, layout, AuditEntry(action, result, release=release, detail=detail))


# -- one host of the stage -----------------------------------------------------------------------
def _pick(stage: str, config_file: Path | None, host: str | None, *, first: bool = False
          ) -> tuple:  # -> (Member, list[Member])
    """The host a one-host command runs on, and the fleet's other hosts ([] for a one-host
    stage): --host (a name or address); without it, on a stage of several hosts, the first
    (``first``) or refused; all before any connection."""
    from deployer.fleet.roll import Member
    from deployer.ops.exec import pick_host

    members = fleet.fleet_of(stage, config_file)
    if not members:
        t = _target(stage, config_file)
        members = [Member(t.host, t)]
    if host is None and first:
        host = members[0].name
    try:
        name = pick_host({m.name: m.target.host for m in members}, host)
    except ValueError as exc:
        raise fail(Code.INPUT, f"invalid input: {exc}") from None
    return next(m for m in members if m.name == name), [m for m in members if m.name != name]


# -- exec ----------------------------------------------------------------------------------------
def _exec_target(stage: str, config_file: Path | None, host: str | None):  # -> Target
    """The Target of the host `exec` runs on: --host of a stage of several hosts, refused
    without it (before any connection); the stage's own host otherwise."""
    return _pick(stage, config_file, host)[0].target


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
def _read_env(remote, layout) -> str:
    """The text of the app's .env on the host."""
    from deployer.ops.exec import env_file

    return remote.run(["cat", "--", env_file(layout)], sudo=True, what="read .env").stdout


@env_app.command("list")
@guard
def env_list(stage: str = STAGE_ARG, config_file: Path = CONFIG_OPT) -> None:
    """The app's variables on STAGE; values masked unless declared as plain settings (app.env).
    A fleet: every host read, one listing, each host that differs flagged (exit 4)."""
    from deployer import envfile
    from deployer.ops.env import listing

    members = fleet.fleet_of(stage, config_file)
    if members:
        raise typer.Exit(_fleet_env_list(members))
    t = _target(stage, config_file)
    with _connect(t) as remote:
        values = envfile.parse(_read_env(remote, t.layout))
    for key, shown in listing(values, t.app.env):
        typer.echo(f"{key}={shown}")


def _fleet_env_list(members: list) -> Code:
    """The listing (of the first host read) on stdout; on stderr each host whose keys or
    values (compared by hash, never shown) differ from it, or that could not be read."""
    from deployer import envfile
    from deployer.fleet.each import on_each
    from deployer.fleet.plan import env_drift
    from deployer.ops.env import fingerprint, listing

    read, problems = {}, {}
    for answer in on_each(members, lambda remote, m: _read_env(remote, m.target.layout)):
        try:
            if answer.error:
                raise envfile.EnvFileError(answer.error)
            read[answer.name] = envfile.parse(answer.value)
        except envfile.EnvFileError as exc:
            problems[answer.name] = str(exc)
    for key, shown in listing(next(iter(read.values()), {}), members[0].target.app.env):
        typer.echo(f"{key}={shown}")
    drift = env_drift({name: fingerprint(values) for name, values in read.items()})
    for diff in drift:
        typer.echo(f"drift: {diff.describe()} (compared with {next(iter(read))})", err=True)
    for name, problem in problems.items():
        typer.echo(f"{name}: not read: {problem}"[:200], err=True)
    if drift or problems:
        return Code.FAILED
    typer.echo(f"{len(members)} hosts, one environment", err=True)
    return Code.OK


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


def _apply_env(stage: str, config_file: Path | None, change_for, message: str, **rolling
               ) -> int:
    """Apply an environment change as a health-gated release (a copy of the current one,
    started with the new file): the host's .env is read and the change computed under the
    deploy lock, so a concurrent change is never lost. A fleet: rolled like a deploy
    (``rolling``: batch, canary, skip_down, parallel), each host's change computed from its own
    file; a failure stops the roll and puts the previous file back where it had switched."""
    members = fleet.fleet_of(stage, config_file)
    if members:
        compute = env_change_for(members[0].target.app.name, change_for)
        return fleet.roll(members, action="deploy", message=message, audit_as="env",
                          env_for=compute, **rolling)
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
    batch: str = fleet.BATCH_OPT,
    canary: bool = fleet.CANARY_OPT,
    skip_down: bool = fleet.SKIP_DOWN_OPT,
    parallel: int = fleet.PARALLEL_OPT,
    config_file: Path = CONFIG_OPT,
) -> None:
    """Set KEYs on STAGE from the local environment (or one from stdin), then restart the app
    through the health-gated switch; a value that breaks the app leaves the old one serving
    (a fleet: rolled like a deploy, all reverted if one host fails)."""
    import os

    from deployer.ops.env import EnvError, set_values, values_for

    try:
        values = values_for(keys, os.environ, sys.stdin.read() if stdin else None)
    except EnvError as exc:
        raise fail(Code.INPUT, f"invalid input: {exc}") from None
    raise typer.Exit(_apply_env(stage, config_file, lambda b: set_values(b, values), message,
                                batch=batch, canary=canary, skip_down=skip_down,
                                parallel=parallel))


@env_app.command("unset")
@guard
def env_unset(
    stage: str = STAGE_ARG,
    keys: list[str] = typer.Argument(..., help="Variable names."),
    message: str = typer.Option("", "--message", "-m", help="Why (kept in lock and audit)."),
    batch: str = fleet.BATCH_OPT,
    canary: bool = fleet.CANARY_OPT,
    skip_down: bool = fleet.SKIP_DOWN_OPT,
    parallel: int = fleet.PARALLEL_OPT,
    config_file: Path = CONFIG_OPT,
) -> None:
    """Remove KEYs from STAGE's environment, then restart through the health-gated switch (a
    fleet: rolled like a deploy; a host without one of the KEYs fails the roll before any
    switch)."""
    from deployer.ops.env import unset_keys

    raise typer.Exit(_apply_env(stage, config_file, lambda b: unset_keys(b, keys), message,
                                batch=batch, canary=canary, skip_down=skip_down,
                                parallel=parallel))


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


def _maintenance(stage: str, config_file: Path | None, on: bool, message: str = "",
                 parallel: int = 8) -> Code:
    """Switch STAGE's maintenance page; a fleet: on every host, ``parallel`` at once, one line
    per host and the fleet's total (a host that failed is named there: exit 4; running the
    command again finishes the others, it changes nothing where the page is already so)."""
    from deployer.fleet.each import on_each
    from deployer.fleet.plan import tally

    state = "on" if on else "off"
    members = fleet.fleet_of(stage, config_file)
    if not members:
        t = _target(stage, config_file)
        with _connect(t) as remote:
            set_maintenance(remote, t, on, message)
        typer.echo(f"{stage}: maintenance {state}")
        return Code.OK
    answers = on_each(members, lambda remote, m: set_maintenance(remote, m.target, on, message),
                      width=parallel)
    for a in answers:
        typer.echo(f"  {a.name:<16} {f'failed: {a.error}' if a.error else 'ok'}"[:220])
    errors = {a.name: a.error for a in answers}
    typer.echo(f"{stage}: maintenance {state}; {tally(errors)}", err=any(errors.values()))
    return Code.FAILED if any(errors.values()) else Code.OK


@maintenance_app.command("on")
@guard
def maintenance_on(
    stage: str = STAGE_ARG,
    message: str = typer.Option("", "--message", "-m", help="Shown on the page (escaped)."),
    parallel: int = AT_ONCE_OPT,
    config_file: Path = CONFIG_OPT,
) -> None:
    """Public requests to STAGE get 503 + Retry-After and the maintenance page (the health and
    readiness paths stay reachable; a fleet: on every host)."""
    raise typer.Exit(_maintenance(stage, config_file, True, message, parallel))


@maintenance_app.command("off")
@guard
def maintenance_off(
    stage: str = STAGE_ARG, parallel: int = AT_ONCE_OPT, config_file: Path = CONFIG_OPT
) -> None:
    """Take STAGE's maintenance page down: requests reach the app again (a fleet: on every
    host)."""
    raise typer.Exit(_maintenance(stage, config_file, False, parallel=parallel))


@contextlib.contextmanager
def _others_in_maintenance(others: list, stage: str) -> Iterator[None]:
    """A fleet's restore: the other hosts share the database, so they answer with the
    maintenance page meanwhile too (one already in maintenance stays so) and forget what it was
    migrated with, like the restoring host (the next deploy migrates on whichever host runs
    its migrations); refused, before anything is restored, when one of them cannot."""
    from deployer.fleet.each import on_each
    from deployer.release.migrations import forget_script

    def put_on(remote, m) -> bool:
        remote.sh(forget_script(m.target.layout), what="forget migrations")
        if maintenance_state(remote, m.target) == "on":
            return False
        set_maintenance(remote, m.target, True, RESTORING)
        return True

    answers = on_each(others, put_on)
    turned = [m for m, a in zip(others, answers, strict=True) if a.value]
    try:
        failed = "; ".join(f"{a.name}: {a.error}" for a in answers if a.error)
        if failed:
            raise fail(Code.FAILED, f"nothing restored: not in maintenance: {failed}")
        yield
    finally:
        left = [a.name for a in on_each(turned, lambda r, m: set_maintenance(r, m.target, False))
                if a.error]
        if left:
            typer.secho(f"still in maintenance: {', '.join(left)} (deployer maintenance off "
                        f"{stage})", fg="red", err=True)


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
    host: str = DB_HOST_OPT,
    config_file: Path = CONFIG_OPT,
) -> None:
    """Back up STAGE's database (SQLite or PostgreSQL, from the app's DATABASE_URL) into a 0600
    file on the host, fetch a copy into --out and, with [stages.STAGE.backup.s3], upload that
    copy to the bucket (credentials from the local environment). A fleet: on one host (--host;
    the first by default), the database being the fleet's."""
    import base64
    import os

    from deployer.layout import Layout
    from deployer.ops import backup as ops_backup

    if list_bucket:
        _list_bucket(_pick(stage, config_file, host, first=True)[0].target, stage)
        return
    try:
        plan = ops_backup.BackupPlan(Layout("app"), keep=keep)
        if schedule is not None:
            ops_backup.timer_units(plan, schedule, "")
    except ValueError as exc:
        raise fail(Code.INPUT, f"invalid input: {exc}") from None
    chosen, others = _pick(stage, config_file, host, first=True)
    t = chosen.target
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
    where = f"on {chosen.name}" if others else "on the host"
    typer.echo(f"{stage}: backup {host_path} {where}, copy in {local}")
    if schedule is not None:
        typer.echo(f"{stage}: {schedule} backups by {t.app.name}-backup.timer, keeping {keep}")
    if t.backup.s3 is not None:
        from deployer.ops import s3

        try:
            loc = s3.upload(t.backup.s3, local)
        except s3.S3Error as exc:
            raise fail(Code.FAILED, f"{exc} (the backup is on the host and in {local})") from None
        typer.echo(f"{stage}: uploaded to {loc.url}")


def _list_bucket(t, stage: str) -> None:
    from deployer.ops import s3

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
    host: str = DB_HOST_OPT,
    config_file: Path = CONFIG_OPT,
) -> None:
    """Replace STAGE's database with FILE; the app is in maintenance meanwhile; audited. A
    fleet: loaded by one host (--host; the first by default), every host in maintenance."""
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
    chosen, others = _pick(stage, config_file, host, first=True)
    t = chosen.target
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
    how = f" by {chosen.name}, its {len(others)} other hosts in maintenance" if others else ""
    if not yes and not typer.confirm(
        f"Replace the database of {stage} ({t.url}) with {shown}{how}?", default=False
    ):
        raise typer.Exit(Code.REFUSED)
    with tempfile.TemporaryDirectory(prefix="deployer-restore-") as tmp:
        if loc is not None:
            try:
                file = s3.download(t.backup.s3, loc, Path(tmp))
            except s3.S3Error as exc:
                raise fail(Code.FAILED, str(exc)) from None
        with _others_in_maintenance(others, stage):
            _restore(t, stage, file, shown)


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
