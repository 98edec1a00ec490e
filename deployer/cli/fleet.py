"""The fleet side of `bootstrap`, `deploy`, `rollback`, `promote`, `status`, `releases`: used when
a stage names many hosts (`hosts = [...]` in deployer.toml, or the stack's hosts list)."""

from __future__ import annotations

from pathlib import Path

import typer

from deployer.cli.common import Code, build_artifact, fail

BATCH_OPT = typer.Option("1", "--batch", help="Hosts per batch after the canary: N or N%.")
CANARY_OPT = typer.Option(
    True, "--canary/--no-canary", help="A fleet: roll one host alone first (default)."
)
PARALLEL_OPT = typer.Option(
    4, "--parallel", min=1, help="A fleet: hosts prepared (upload, install) and warmed at once."
)
SKIP_DOWN_OPT = typer.Option(
    False, "--skip-down", help="Roll the reachable hosts when some are down (default: stop)."
)


def fleet_of(stage: str, config_file: Path | None, source: Path | None = None, **kwargs
             ) -> list:  # -> list[Member]
    """The stage's hosts as fleet members; [] for a one-host stage (kwargs: see members)."""
    from deployer.fleet.members import members

    if source:
        kwargs["app"] = {**kwargs.get("app", {}), "source": str(source)}
    return members(stage, config_file, **kwargs)


def _batch(spec: str):  # -> BatchSize
    from deployer.fleet.plan import parse_batch

    try:
        return parse_batch(spec)
    except ValueError as exc:
        raise fail(Code.INPUT, f"invalid input: {exc}") from None


def roll(fleet: list, *, action: str, batch: str, skip_down: bool, canary: bool = True,
         artifact=None, rollback_to: str = "", message: str = "", keep: int = 5,
         audit_as: str = "", parallel: int = 4, as_json: bool = False, env_for=None) -> Code:
    """Roll a deploy, an environment change (``env_for``: see ``Run.env_for``) or a rollback
    across the fleet; print per host and the fleet's end state (``as_json``: one JSON document
    on stdout, the progress lines on stderr)."""
    import time

    from deployer.fleet.roll import Roll

    size = _batch(batch)
    say = (lambda text: typer.echo(text, err=True)) if as_json else typer.echo
    what = f"artifact {artifact.sha256[:12]} ({artifact.version})" if artifact else "rollback"
    what = "a new environment" if env_for else what
    t = fleet[0].target
    say(f"{action} {t.app.name} -> {t.stage} ({t.url}), {len(fleet)} hosts, batch {batch}  "
        f"{what}")
    start = time.monotonic()
    result = Roll(fleet, action=action, artifact=artifact, rollback_to=rollback_to, batch=size,
                  canary=canary, skip_down=skip_down, message=message, keep=keep, audit_as=audit_as,
                  parallel=parallel, say=say, env_for=env_for).execute()
    seconds = time.monotonic() - start
    code = Code.OK if result.ok else Code.REFUSED if result.refused else Code.FAILED
    if as_json:
        typer.echo(roll_json(result, seconds, code, action=audit_as or action, url=t.url,
                             artifact=artifact.sha256 if artifact else ""))
        return code
    for report in result.hosts.values():
        typer.echo(f"  {report.name:<16} {report.outcome:<11} {report.detail}"[:220])
    if result.ok:
        typer.secho(f"{result.message} in {seconds:.2f}s", fg="green")
    else:
        typer.secho(result.message, fg="red", err=True)
    return code


def roll_json(result, seconds: float, code: Code, **extra: object) -> str:
    """A roll's one JSON document: each host's outcome and phases, the count of hosts per
    outcome, the verdict and the exit code."""
    from deployer import report
    from deployer.fleet import plan
    from deployer.fleet.roll import ROLLED_BACK, SKIPPED

    outcomes = (plan.SWITCHED, plan.NOOP, plan.FAILED, ROLLED_BACK, SKIPPED, plan.UNTOUCHED)
    hosts = list(result.hosts.values())
    total = {"hosts": len(hosts)} | {
        o.replace(" ", "_"): sum(h.outcome == o for h in hosts) for o in outcomes
    }
    rows = [({**h.to_dict(), "seconds": round(h.seconds, 3)}, h.results) for h in hosts]
    return report.fleet_to_json(rows, seconds, total, ok=result.ok, exit_code=int(code),
                                message=result.message, **extra)


def bootstrap(fleet: list, *, parallel: int, dry_run: bool, trust_new_host: bool,
              as_json: bool = False) -> Code:
    """Converge every host, `parallel` at once; one line per host, the fleet total, then the
    load balancer's HTTPS URL (with TLS at a load balancer). ``as_json``: one JSON document on
    stdout instead (the lines go to stderr)."""
    import time

    from deployer.fleet.converge import converge, total
    from deployer.http import wait_for_health

    say = (lambda text: typer.echo(text, err=True)) if as_json else typer.echo
    t = fleet[0].target
    artifact = build_artifact(t)
    say(f"bootstrap {t.app.name} -> {t.stage} ({t.url}), {len(fleet)} hosts, {parallel} at a "
        f"time  artifact {artifact.sha256[:12]}")
    start = time.monotonic()
    summaries = converge(fleet, artifact, parallel=parallel, dry_run=dry_run,
                         trust_new_host=trust_new_host, say=say)
    seconds = time.monotonic() - start
    say(total(summaries, seconds))
    code, balancer = Code.OK, ""
    if not all(s.ok for s in summaries):
        code = Code.FAILED
    elif t.tls == "lb" and not dry_run:
        try:
            answer = wait_for_health(t)
            balancer = f"{t.health_url} -> 200 {answer.body.strip()[:80]}"
            say(f"load balancer: {balancer}")
        except RuntimeError as exc:
            balancer = f"failed: {exc}"
            typer.secho(f"load balancer: {exc}", fg="red", err=True)
            code = Code.FAILED
    if as_json:
        typer.echo(bootstrap_json(summaries, seconds, code, url=t.url, dry_run=dry_run,
                                  artifact=artifact.sha256, load_balancer=balancer))
    return code


def bootstrap_json(summaries: list, seconds: float, code: Code, **extra: object) -> str:
    """A fleet bootstrap's one JSON document: each host's steps and counts, and the total."""
    from deployer import report

    total = {
        "hosts": len(summaries),
        "ok": sum(s.ok for s in summaries),
        "failed": sum(not s.ok for s in summaries),
        "changed": sum(bool(s.counts.get("changed")) for s in summaries),
    }
    rows = [({"name": s.name, "ok": s.ok, "error": s.error, "seconds": round(s.seconds, 3)},
             s.results) for s in summaries]
    return report.fleet_to_json(rows, seconds, total, ok=code == Code.OK, exit_code=int(code),
                                **extra)


def _states(fleet: list) -> tuple[dict, dict, dict]:
    """(name -> HostState, name -> fleet lock holder, name -> connection error)."""
    from concurrent.futures import ThreadPoolExecutor

    from deployer.fleet.roll import read_fleet_holder
    from deployer.layout import Layout
    from deployer.release.state import read_state
    from deployer.remote import Remote, RemoteError

    def one(member):
        layout = Layout(member.target.app.name)
        try:
            with Remote(member.target) as remote:
                state = read_state(remote, layout)
                return member.name, state, read_fleet_holder(remote, layout), ""
        except RemoteError as exc:
            return member.name, None, None, str(exc)

    with ThreadPoolExecutor(max_workers=min(16, len(fleet))) as pool:
        rows = list(pool.map(one, fleet))
    return ({n: s for n, s, _, _ in rows if s}, {n: h for n, _, h, _ in rows if h},
            {n: e for n, _, _, e in rows if e})


def _drift(states: dict):  # -> Drift
    from deployer.fleet.plan import HostRelease, drift

    current = {}
    for name, state in states.items():
        cur = state.ledger.current()
        current[name] = HostRelease(cur.id, cur.sha256, cur.version) if cur else HostRelease()
    return drift(current)


def status(fleet: list) -> Code:
    """Every host's release, its fleet lock and deploy lock, the drift verdict and the URL."""
    from deployer.http import get

    states, holders, down = _states(fleet)
    t = fleet[0].target
    typer.echo(f"{t.stage} {t.url} ({len(fleet)} hosts)")
    for member in fleet:
        state = states.get(member.name)
        if state is None:
            typer.echo(f"  {member.name:<16} unreachable: {down[member.name]}"[:200])
            continue
        cur = state.ledger.current()
        rel = f"{cur.id} version {cur.version} ({cur.sha256[:12]})" if cur else "none"
        locks = [f"fleet lock: {holders[member.name].describe()}"] if member.name in holders else []
        locks += [f"lock: {state.holder.describe()}"] if state.holder else []
        typer.echo(f"  {member.name:<16} {rel}  {'; '.join(locks) or 'lock free'}")
    verdict = _drift(states)
    typer.echo(f"  {verdict.describe()}")
    try:
        answer = get(t, t.app.health_path)
        health = f"{answer.status} {answer.body.strip()[:80]}"
    except OSError as exc:
        health = f"unreachable: {exc}"
    typer.echo(f"  health       {health}")
    ok = not down and verdict.consistent and health.startswith("200")
    return Code.OK if ok else Code.FAILED


def releases(fleet: list) -> Code:
    """Each host's releases (newest first), who holds a lock, and the drift verdict."""
    states, holders, down = _states(fleet)
    for member in fleet:
        typer.echo(f"{member.name}:")
        state = states.get(member.name)
        if state is None:
            typer.echo(f"  unreachable: {down[member.name]}"[:200])
            continue
        for rel in reversed(state.ledger.releases):
            typer.echo(f"  {rel.id}  {rel.version:<10} {rel.sha256[:12]}  {rel.time}  "
                       f"{rel.status:<8} {rel.note[:50]}")
        for what, holder in (("fleet lock", holders.get(member.name)), ("lock", state.holder)):
            if holder:
                typer.echo(f"  {what} held by {holder.describe()}")
    verdict = _drift(states)
    typer.echo(verdict.describe())
    return Code.OK if verdict.consistent and not down else Code.FAILED
