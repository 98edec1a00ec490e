"""The bootstrap plan: the ordered steps, one fact-gathering round trip, and the run loop."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from deployer.remote import CommandError, RemoteError
from deployer.steps import app, facts, service, system, web
from deployer.steps.base import Context, FileSpec, Step, StepResult, fill_diffs
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
        app.Release(),
        app.Migrations(),
        service.Service(),
        web.Nginx(),
        service.Switch(),
        web.Certbot(),
        web.Firewall(),
        Health(),
    ]


def managed_files(target: Target) -> list[FileSpec]:
    """Every file bootstrap writes whose hash the facts must include."""
    return [
        app.env_file(target),
        service.unit_file(target),
        *web.nginx_files(target, port=8001, tls=False),
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
    return facts.probe_lines(probes)


def gather(remote: Remote, target: Target) -> facts.Facts:
    """All facts in one round trip (a read-only script run as root)."""
    out = remote.sh(facts_script(target), what="read host facts").stdout
    return facts.parse_facts(out)


def run_steps(
    ctx: Context,
    steps: list[Step],
    on_result: Callable[[StepResult], None] | None = None,
) -> list[StepResult]:
    """Run steps in order; stop at the first failure (its result carries the error)."""
    results = []
    for step in steps:
        start = time.monotonic()
        result = _run_one(ctx, step)
        result.seconds = time.monotonic() - start
        results.append(result)
        if on_result:
            on_result(result)
        if result.status == "failed":
            break
    return results


def _run_one(ctx: Context, step: Step) -> StepResult:
    try:
        changes = step.check(ctx)
        if changes and ctx.dry_run:
            files = _files_for_diff(ctx)
            changes = fill_diffs(ctx, files, changes)
        detail = step.detail
        if changes and not ctx.dry_run:
            detail = step.apply(ctx, changes) or step.detail
    except CommandError as exc:
        return StepResult(step.name, "failed", 0, detail=str(exc))
    except RuntimeError as exc:  # e.g. the health check
        return StepResult(step.name, "failed", 0, detail=str(exc))
    except RemoteError:
        raise
    return StepResult(
        step.name,
        "changed" if changes else ("skipped" if step.skipped else "ok"),
        0,
        changes=[c.summary for c in changes],
        diffs=[c.diff for c in changes if c.diff and c.diff != "?"],
        detail=detail,
    )


def _files_for_diff(ctx: Context) -> list[FileSpec]:
    t = ctx.target
    return [
        service.unit_file(t),
        *web.nginx_files(t, port=ctx.port, tls=ctx.tls),
        *web.certbot_files(t),
        web.nftables_file(web.firewall_ports(ctx.facts.lines("sshd_ports"))),
        app.env_file(t),
    ]


def bootstrap(
    remote: Remote,
    target: Target,
    artifact: Artifact,
    *,
    dry_run: bool = False,
    on_result: Callable[[StepResult], None] | None = None,
) -> tuple[list[StepResult], Context]:
    """Converge the host to the target. The remote must be connected."""
    start = time.monotonic()
    ctx = Context(target=target, remote=remote, facts=gather(remote, target), artifact=artifact,
                  dry_run=dry_run)

    def refresh() -> None:
        ctx.facts = gather(remote, target)

    ctx.refresh = refresh
    first = StepResult("facts", "ok", time.monotonic() - start, detail="one round trip")
    if on_result:
        on_result(first)
    try:
        results = run_steps(ctx, bootstrap_steps(), on_result)
    finally:
        _settle(ctx)
    return [first, *results], ctx


def _settle(ctx: Context) -> None:
    """Never leave background work (apt) running when the run stops early."""
    for _what, future in ctx.background:
        with contextlib.suppress(CommandError, RemoteError):
            future.result()
    ctx.background = []
