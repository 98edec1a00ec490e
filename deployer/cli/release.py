"""`deployer deploy | rollback | releases | unlock | promote | status | logs` for a stage.

A stage is a name in deployer.toml (see `deployer.config`). Heavy imports stay inside the
commands. Exit codes: `deployer.cli.common` (a failed phase leaves the previous release serving).
"""

from __future__ import annotations

from pathlib import Path

import typer

from deployer.cli import fleet
from deployer.cli.common import Code, build_artifact, fail, guard

CONFIG_OPT = typer.Option(None, "--config", help="deployer.toml to read (default ./deployer.toml).")
STAGE_ARG = typer.Argument(..., help="Stage name in deployer.toml.")


def _connect(t):  # -> Remote
    from deployer.remote import Remote

    return Remote(t).connect()


def run_release(
    t,
    *,
    action: str,
    artifact=None,
    rollback_to: str = "",
    message: str = "",
    keep: int = 5,
    audit_as: str = "",
    as_json: bool = False,
    env_text: str = "",
    env_for=None,
) -> Code:
    """Run a deploy or rollback on target ``t`` with live phase output (or a JSON report at the
    end); return the exit code."""
    from rich.markup import escape

    from deployer import report
    from deployer.ops import notify
    from deployer.ops.env import EnvError
    from deployer.release.lifecycle import Run
    from deployer.release.lock import LockHeld, now_iso
    from deployer.release.phases import GATED

    hook = notify.webhook(t.notify)  # a named secret that is missing fails before any change
    console = report.console(stderr=as_json)
    what = f"artifact {artifact.sha256[:12]} ({artifact.version})" if artifact else "rollback"
    what = "a new environment" if env_text or env_for else what
    if not as_json:
        console.print(f"[bold]{action}[/] {t.app.name} -> {t.stage} ({t.url})  {what}")
    with _connect(t) as remote:
        run = Run(
            remote,
            t,
            action=action,
            artifact=artifact,
            rollback_to=rollback_to,
            message=message,
            keep=keep,
            audit_as=audit_as,
            env_text=env_text,
            env_for=env_for,
            report=None if as_json else lambda r: report.print_result(console, r),
        )
        outcome = run.execute()
    if hook is not None:
        refused = outcome.error is not None and isinstance(outcome.error.__cause__, LockHeld)
        event = notify.run_event(t, run, outcome, refused=refused, time=now_iso())
        problem = notify.send(hook, event)
        if problem and not as_json:
            console.print(f"[yellow]webhook not delivered:[/] {escape(problem)}", highlight=False)
    seconds = report.process_seconds()
    err = outcome.error
    lines: list[str] = []
    if err is None:
        code, lines = Code.OK, [outcome.stopped or f"{run.release_id} is live"]
    elif isinstance(err.__cause__, LockHeld):
        code, lines = Code.REFUSED, [f"refused: {err.message}"]
    elif isinstance(err.__cause__, EnvError):  # an env change the host's .env does not allow
        code, lines = Code.INPUT, [f"invalid input: {err.message}"]
    else:
        code, lines = Code.FAILED, [f"{action} failed in phase {err.unit}: {err.message}"]
        if err.unit in GATED and err.unit != "lock":
            lines.append(f"release {run.release_id} marked bad; the previous release keeps serving")
        elif err.unit not in GATED:
            lines.append(f"traffic is on release {run.release_id}; finish by hand or re-run")
    if as_json:
        typer.echo(report.to_json(
            outcome.results, seconds, ok=code == Code.OK, exit_code=int(code), action=action,
            release=run.release_id, url=t.url, noop=run.noop, message=lines,
            error=err.message if err else "", tail=err.tail if err else "",
        ))  # fmt: skip
        return code
    style = "bold green" if code == Code.OK else "bold red"
    console.print(f"[{style}]{escape(lines[0])}[/] in {seconds:.2f}s", highlight=False)
    if err is not None and err.tail:
        console.print(escape(err.tail), style="red", highlight=False)
    for line in lines[1:]:
        console.print(escape(line), highlight=False)
    return code


@guard
def deploy(
    stage: str = STAGE_ARG,
    source: Path = typer.Option(None, help="Project root (default: the stage's)."),
    message: str = typer.Option("", "--message", "-m", help="Why (kept in lock and audit)."),
    keep: int = typer.Option(5, help="Release directories to keep (>= 2)."),
    batch: str = fleet.BATCH_OPT,
    canary: bool = fleet.CANARY_OPT,
    skip_down: bool = fleet.SKIP_DOWN_OPT,
    parallel: int = fleet.PARALLEL_OPT,
    config_file: Path = CONFIG_OPT,
    as_json: bool = typer.Option(False, "--json", help="Print a JSON report."),
) -> None:
    """Ship the app source to STAGE: health-gated switch, previous release kept on failure
    (a fleet: rolled in batches after a one-host canary, all reverted if one host fails)."""
    from deployer.targets import for_stage

    if keep < 2:
        raise fail(Code.INPUT, "invalid input: --keep must be at least 2")
    members = fleet.fleet_of(stage, config_file, source)
    if members:
        code = fleet.roll(members, action="deploy", artifact=build_artifact(members[0].target),
                          batch=batch, canary=canary, skip_down=skip_down, message=message,
                          keep=keep, parallel=parallel, as_json=as_json)
        raise typer.Exit(code)
    t = for_stage(stage, config_file, source)
    artifact = build_artifact(t)
    code = run_release(
        t, action="deploy", artifact=artifact, message=message, keep=keep, as_json=as_json
    )
    raise typer.Exit(code)


@guard
def rollback(
    stage: str = STAGE_ARG,
    release: str = typer.Argument("", help="Release id (default: the previous good one)."),
    message: str = typer.Option("", "--message", "-m", help="Why (kept in lock and audit)."),
    batch: str = fleet.BATCH_OPT,
    canary: bool = fleet.CANARY_OPT,
    skip_down: bool = fleet.SKIP_DOWN_OPT,
    parallel: int = fleet.PARALLEL_OPT,
    config_file: Path = CONFIG_OPT,
    as_json: bool = typer.Option(False, "--json", help="Print a JSON report."),
) -> None:
    """Switch STAGE back to a previous good release (health-gated, no downtime)."""
    from deployer.names import check_release_id
    from deployer.targets import for_stage

    if release:
        try:
            check_release_id(release)
        except ValueError as exc:
            raise fail(Code.INPUT, f"invalid input: {exc}") from None
    members = fleet.fleet_of(stage, config_file)
    if members:
        raise typer.Exit(fleet.roll(members, action="rollback", rollback_to=release, batch=batch,
                                    canary=canary, skip_down=skip_down, message=message,
                                    parallel=parallel, as_json=as_json))
    t = for_stage(stage, config_file)
    code = run_release(
        t, action="rollback", rollback_to=release, message=message, as_json=as_json
    )
    raise typer.Exit(code)


@guard
def releases(stage: str = STAGE_ARG, config_file: Path = CONFIG_OPT) -> None:
    """List STAGE's releases: id, version, commit, time, who, status (every host of a fleet,
    flagging drift)."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from deployer.release.state import read_state
    from deployer.targets import for_stage

    members = fleet.fleet_of(stage, config_file)
    if members:
        raise typer.Exit(fleet.releases(members))
    t = for_stage(stage, config_file)
    with _connect(t) as remote:
        state = read_state(remote, t.layout)
    table = Table("id", "version", "commit", "time", "who", "status", "note")
    style = {"current": "bold green", "bad": "red"}
    for rel in reversed(state.ledger.releases):
        cells = (rel.id, rel.version, rel.commit[:10], rel.time, rel.who)
        status = Text(rel.status, style=style.get(rel.status, ""))
        table.add_row(*(Text(c) for c in cells), status, Text(rel.note[:60]))
    console = Console()
    if not console.is_terminal:  # pipes and CI logs: never truncate ids
        console.width = 200
    console.print(table)
    if state.holder:
        console.print(f"locked by {state.holder.describe()}", style="yellow")


@guard
def unlock(
    stage: str = STAGE_ARG,
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    config_file: Path = CONFIG_OPT,
) -> None:
    """Remove STAGE's deploy lock (after checking who holds it)."""
    from deployer.release.audit import AuditEntry
    from deployer.release.state import append_audit, force_unlock, read_state
    from deployer.targets import for_stage

    t = for_stage(stage, config_file)
    layout = t.layout
    with _connect(t) as remote:
        holder = read_state(remote, layout).holder
        if holder is None:
            typer.echo(f"{stage} is not locked")
            return
        typer.echo(f"{stage} is locked by {holder.describe()}")
        if not yes and not typer.confirm("Remove the lock?", default=False):
            raise typer.Exit(Code.REFUSED)
        removed = force_unlock(remote, layout)
        detail = f"removed lock of {removed.describe()}" if removed else "lock already gone"
        append_audit(remote, layout, AuditEntry("unlock", "ok", detail=detail))
    typer.echo(f"unlocked {stage}")


@guard
def promote(
    src: str = typer.Argument(..., help="Stage whose running artifact is promoted."),
    dst: str = typer.Argument(..., help="Stage that receives it."),
    message: str = typer.Option("", "--message", "-m", help="Why (kept in lock and audit)."),
    stacks_dir: Path = typer.Option(
        None, help="Where Pulumi.<stack>.yaml live (default: deployer.toml's directory)."
    ),
    batch: str = fleet.BATCH_OPT,
    canary: bool = fleet.CANARY_OPT,
    skip_down: bool = fleet.SKIP_DOWN_OPT,
    parallel: int = fleet.PARALLEL_OPT,
    config_file: Path = CONFIG_OPT,
    as_json: bool = typer.Option(False, "--json", help="Print a JSON report of the deploy."),
) -> None:
    """Deploy to DST exactly the artifact (same sha256) SRC runs; refuse if SRC is unhealthy
    or DST is locked."""
    import tempfile

    from deployer import config
    from deployer.release.promote import (
        check_destination_unlocked,
        is_platform_stage,
        source_artifact,
    )
    from deployer.release.promote import check_source as check_src
    from deployer.target import TargetError
    from deployer.targets import for_stage

    path = config_file or config.DEFAULT_FILE
    if not path.is_file():
        raise TargetError(f"{path} not found")
    raw = config.load(path)
    stages = {n: config.stage(raw, n, path.resolve().parent, secrets=False) for n in (src, dst)}
    stacks = stacks_dir or path.resolve().parent
    if all(is_platform_stage(s, stacks) for s in stages.values()):
        raise typer.Exit(_promote_platform(stages[src], stages[dst], stacks))
    src_fleet, dst_fleet = fleet.fleet_of(src, config_file), fleet.fleet_of(dst, config_file)
    src_t = src_fleet[0].target if src_fleet else for_stage(src, config_file)
    dst_t = dst_fleet[0].target if dst_fleet else for_stage(dst, config_file)
    with _connect(src_t) as remote:
        source = check_src(remote, src_t)
        typer.echo(
            f"{src}: {source.release.id} ({source.release.sha256[:12]}) healthy", err=as_json
        )
        out = Path(tempfile.mkdtemp(prefix="deployer-promote-"))
        artifact = source_artifact(remote, src_t, source.release, out)
    for t in [m.target for m in dst_fleet] or [dst_t]:
        with _connect(t) as remote:
            check_destination_unlocked(remote, t)
    note = message or f"promoted from {src}"
    if dst_fleet:
        code = fleet.roll(dst_fleet, action="deploy", artifact=artifact, batch=batch,
                          canary=canary, skip_down=skip_down, message=note, audit_as="promote",
                          parallel=parallel, as_json=as_json)
        raise typer.Exit(code)
    code = run_release(
        dst_t, action="deploy", artifact=artifact, message=note, audit_as="promote",
        as_json=as_json,
    )  # fmt: skip
    raise typer.Exit(code)


def _promote_platform(src: dict, dst: dict, stacks: Path) -> Code:
    """Platform stages: SRC must answer its health URL; then copy its artifact keys to DST."""
    from deployer.http import get
    from deployer.release.promote import promote_platform
    from deployer.target import build_target

    if "domain" in src:
        t = build_target({"host": src["domain"], "domain": src["domain"], "stage": src["stage"]})
        try:
            status = get(t, t.app.health_path).status
        except OSError as exc:
            status = f"unreachable ({exc})"
        if status != 200:
            reason = f"{src['stage']} is unhealthy: {t.health_url}: {status}"
            raise fail(Code.REFUSED, f"refused: {reason}")
    values = promote_platform(stacks, src["stack"], dst["stack"])
    shown = ", ".join(f"{k}={v}" for k, v in values.items())
    typer.echo(f"{dst['stage']}: stack {dst['stack']} now runs {shown}")
    typer.echo(f"next: pulumi up --stack {dst['stack']}")
    return Code.OK


@guard
def status(stage: str = STAGE_ARG, config_file: Path = CONFIG_OPT) -> None:
    """Current release, health, unit state, certificate expiry, disk free, last deploys (a
    fleet: every host, its locks and drift)."""
    from rich.console import Console

    from deployer.http import get
    from deployer.release.status import parse_status, status_script
    from deployer.targets import for_stage

    members = fleet.fleet_of(stage, config_file)
    if members:
        raise typer.Exit(fleet.status(members))
    t = for_stage(stage, config_file)
    layout = t.layout
    with _connect(t) as remote:
        facts = parse_status(remote.sh(status_script(layout, t.domain)).stdout, layout)
    try:
        answer = get(t, t.app.health_path)
        health = f"{answer.status} {answer.body.strip()[:100]}"
    except OSError as exc:
        health = f"unreachable: {exc}"
    cur = facts.state.ledger.current()
    console = Console()
    if not console.is_terminal:  # pipes and CI logs: one line per fact
        console.width = 200
    console.print(f"[bold]{stage}[/] {t.url}", highlight=False)
    rows = [
        ("release", f"{cur.id} version {cur.version} ({cur.sha256[:12]})" if cur else "none"),
        ("health", health),
        ("unit", facts.unit_state),
        ("certificate", f"expires {facts.cert_expiry}" if facts.cert_expiry else "none"),
        ("disk", facts.disk_free),
        ("lock", facts.state.holder.describe() if facts.state.holder else "free"),
        ("maintenance", facts.maintenance),
        *(("warm", w.describe()) for w in facts.warm),
    ]
    for key, value in rows:
        console.print(f"  {key:<12} {value}", highlight=False)
    for entry in facts.recent:
        line = f"  {entry.time} {entry.who} {entry.action} {entry.result} {entry.release}"
        console.print(line, highlight=False)
    healthy = health.startswith("200") and facts.unit_state.startswith("active")
    raise typer.Exit(Code.OK if healthy else Code.FAILED)


@guard
def logs(
    stage: str = STAGE_ARG,
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep printing new lines."),
    lines: int = typer.Option(100, "--lines", "-n", help="Number of lines to show."),
    config_file: Path = CONFIG_OPT,
) -> None:
    """The app unit's journal on STAGE (every release instance)."""
    import contextlib

    from deployer.layout import Layout
    from deployer.release.status import logs_argv
    from deployer.targets import for_stage

    try:
        argv = logs_argv(Layout("app"), lines, follow)
    except ValueError as exc:
        raise fail(Code.INPUT, f"invalid input: {exc}") from None
    t = for_stage(stage, config_file)
    argv = logs_argv(t.layout, lines, follow)
    with _connect(t) as remote:
        if not follow:
            typer.echo(remote.run(argv, sudo=True, what="journalctl").stdout, nl=False)
            return
        # Fabric prints lines as they arrive; with a pty, Ctrl-C reaches journalctl.
        with contextlib.suppress(KeyboardInterrupt):
            cmd = remote.command_line(argv, sudo=True)
            remote.conn.run(cmd, hide=False, warn=True, pty=True)


@guard
def apps(
    where: str = typer.Argument(..., help="Stage in deployer.toml, or [user@]host[:port]."),
    config_file: Path = CONFIG_OPT,
) -> None:
    """What a host serves: each app with its domain, current release and running instances."""
    from rich.console import Console
    from rich.table import Table

    from deployer import config
    from deployer.release.apps import apps_script, parse_apps
    from deployer.targets import assemble, for_stage

    path = config_file or config.DEFAULT_FILE
    stages = config.load(path).get("stages", {}) if path.is_file() else {}
    if where in stages:
        t = for_stage(where, config_file)
    else:  # a bare host: apps only reads it (the domain is never contacted)
        t = assemble(where, cli={"domain": "apps.invalid"}, app={}, secrets=False)
    with _connect(t) as remote:
        served = parse_apps(remote.sh(apps_script(), what="read the apps").stdout)
    table = Table("app", "domain", "release", "version", "running")
    for a in served:
        table.add_row(a.name, a.domain, a.release or "-", a.version or "-", " ".join(a.running))
    console = Console()
    if not console.is_terminal:  # pipes and CI logs: never truncate ids
        console.width = 200
    console.print(table)


COMMANDS = (deploy, rollback, releases, unlock, promote, status, logs, apps)


def register(app: typer.Typer) -> None:
    for command in COMMANDS:
        app.command()(command)
