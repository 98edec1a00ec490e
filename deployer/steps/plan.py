"""The bootstrap plan: the ordered steps, one fact-gathering round trip, and the steps as units
of the engine (``deployer.engine``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from deployer import engine
from deployer.engine import Done, Result
from deployer.layout import Layout
from deployer.release.state import read_script
from deployer.remote import RemoteError
from deployer.steps import app, facts, service, system, web
from deployer.steps.base import Context, FileSpec, Step, diff_script, with_diffs
from deployer.steps.health import Health

if TYPE_CHECKING:
    from deployer.artifact import Artifact
    from deployer.remote import Remote
    from deployer.target import Target


def bootstrap_steps() -> list[Step]:
    return [
        system.Wait(),
        system.Packages(),
        system.User(),
        system.Dirs(),
        app.EnvFile(),
        service.Service(),
        app.Release(),
        web.Nginx(),
        web.Certbot(),
        web.Firewall(),
        Health(),
    ]


def managed_files(target: Target) -> list[FileSpec]:
    """Every file bootstrap writes whose hash the facts must include."""
    return [
        app.env_file(target),
        service.unit_file(target),
        *web.nginx_files(target, tls=False),
        *web.certbot_files(target),
        web.nftables_file([22]),
    ]


def facts_script(target: Target) -> str:
    name = target.app.name
    files = [f.path for f in managed_files(target)]
    dirs = [d[0] for d in system.wanted_dirs(name)]
    _, enabled = web.site_paths(name)
    probes = facts.host_probes(
        app=name,
        domain=target.domain,
        packages=system.wanted_packages(target.firewall),
        files=files,
        stat_paths=dirs + files,
        links=[enabled, "/etc/nginx/sites-enabled/default"],
    )
    probes.append(("release_state", read_script(Layout(name))))
    return facts.probe_lines(probes)


def gather(remote: Remote, target: Target) -> facts.Facts:
    """All facts in one round trip (a read-only script run as root)."""
    out = remote.sh(facts_script(target), what="read host facts").stdout
    return facts.parse_facts(out)


def step_unit(ctx: Context, step: Step) -> engine.Unit:
    """A step as a unit: wait for background work if it must, decide, then apply."""

    def converge() -> Done:
        parts: list[Result] = []
        waited = ""
        if step.joins and ctx.background:
            start = time.monotonic()
            parts = ctx.join()
            for part in parts:
                ctx.show_part(part)
            waited = f"waited {time.monotonic() - start:.2f}s for the background work"
        reason = step.skipped(ctx)
        if reason:
            return Done(detail=reason, skipped=True, parts=parts)
        changes = step.check(ctx)
        if ctx.dry_run or not changes:
            if changes and (script := diff_script(changes)):
                current = facts.parse_facts(ctx.remote.sh(script, what="read files").stdout).raw
                changes = with_diffs(changes, current, step.files(ctx))
            return Done(changes, waited, parts=parts)
        done = step.apply(ctx, changes)
        if not isinstance(done, Done):
            done = Done(changes, done or "")
        done.detail = "; ".join(d for d in (waited, done.detail) if d)
        done.parts = parts + done.parts
        return done

    return engine.Unit(step.name, converge, gated=False)


def bootstrap(
    remote: Remote,
    target: Target,
    artifact: Artifact,
    *,
    dry_run: bool = False,
    on_result: Callable[[Result], None] | None = None,
    on_part: Callable[[Result], None] | None = None,
    before_switch: Callable[[], str] | None = None,
) -> tuple[list[Result], Context]:
    """Converge the host to the target. The remote must be connected. Steps stop at the first
    failure; nothing is undone (a re-run converges), except inside the release lifecycle.
    ``before_switch``: called right before the release's switch (a fleet's: wait for the
    migrations another host runs); its failure fails the release."""
    start = time.monotonic()
    ctx = Context(target=target, remote=remote, facts=gather(remote, target), artifact=artifact,
                  dry_run=dry_run, show=on_part, before_switch=before_switch)  # fmt: skip
    ctx.release_id = app.serving_release(ctx.facts, ctx.target)

    def refresh() -> None:
        ctx.facts = gather(remote, target)

    ctx.refresh = refresh
    first = Result("facts", "ok", time.monotonic() - start, detail="one round trip")
    if on_result:
        on_result(first)
    try:
        outcome = engine.run([step_unit(ctx, s) for s in bootstrap_steps()], report=on_result)
    finally:
        ctx.settle()
    if outcome.error is not None and isinstance(outcome.error.__cause__, RemoteError):
        raise outcome.error.__cause__  # the connection broke: not a step's failure
    return [first, *outcome.results], ctx
