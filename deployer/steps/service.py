"""The hardened systemd template unit and the serving release's instance."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from deployer.engine import Change
from deployer.release import switch
from deployer.release.install import release_env
from deployer.release.unit import unit_path, web_unit
from deployer.steps.app import deploying, env_file, release_state, serving_release
from deployer.steps.base import Context, FileSpec, Step, WriteFile, file_changes, write_files
from deployer.steps.facts import Facts
from deployer.target import Target

if TYPE_CHECKING:
    from deployer.artifact import Artifact

def unit_file(target: Target) -> FileSpec:
    return FileSpec(unit_path(target.app.name), web_unit(target))


@dataclass(frozen=True)
class StartInstance(Change):
    """(Re)start the serving release's instance and wait until it answers on its socket."""

    kind: ClassVar[str] = "unit"
    release_id: str
    unit: str
    restart: bool = False
    workers: int = 0  # rewrite its release.env with this worker count first (0: keep it)

    @property
    def summary(self) -> str:
        verb = "restart" if self.restart else "start"
        return f"{verb} {self.unit}" + (f" with {self.workers} workers" if self.workers else "")


@dataclass(frozen=True)
class StopInstances(Change):
    """Stop instances of releases that do not serve."""

    kind: ClassVar[str] = "unit"
    units: tuple[str, ...]

    @property
    def summary(self) -> str:
        return f"stop {' '.join(self.units)}"


def service_changes(facts: Facts, target: Target, artifact: Artifact) -> list[Change]:
    """The unit file; and, unless a deploy starts a new release, the serving instance:
    started if it is not running, restarted when its unit, settings or worker count changed;
    instances of other releases stopped."""
    changes: list[Change] = list(file_changes(facts, [unit_file(target)]))
    if deploying(facts, target, artifact):
        return changes  # the release lifecycle starts the new instance and stops the old
    rid = serving_release(facts, target)
    unit = target.layout.unit(rid)
    workers = target.app.workers
    state = release_state(facts, target)
    running = state.active_units
    active = unit in running
    enabled = unit in facts.lines("unit_enabled")
    settings = bool(file_changes(facts, [env_file(target)]))
    if facts.kv("current_env").get("WEB_CONCURRENCY") != str(workers):
        changes.append(StartInstance(rid, unit, restart=True, workers=workers))
    elif changes or settings:
        changes.append(StartInstance(rid, unit, restart=True))
    elif not active or not enabled:
        changes.append(StartInstance(rid, unit))
    warm = {target.layout.unit(r) for r in state.warm}  # their window ends them
    others = sorted(u for u in running if u != unit and u not in warm)
    if others:
        changes.append(StopInstances(tuple(others)))
    return changes


class Service(Step):
    """``<app>@.service`` rendered and loaded; the serving release's instance running."""

    name = "systemd"

    def files(self, ctx: Context) -> list[FileSpec]:
        return [unit_file(ctx.target)]

    def check(self, ctx: Context) -> list[Change]:
        return service_changes(ctx.facts, ctx.target, ctx.artifact)

    def apply(self, ctx: Context, changes: list[Change]) -> str:
        write_files(ctx, self.files(ctx), changes)
        if any(isinstance(c, WriteFile) for c in changes):
            ctx.remote.run(["systemctl", "daemon-reload"], sudo=True)
        layout = ctx.target.layout
        for c in changes:
            if isinstance(c, StartInstance):
                env = release_env(c.workers) if c.workers else ""
                switch.start_instance(ctx.remote, layout, c.release_id, restart=c.restart, env=env)
                paths = ctx.target.app.gate_paths  # health, then readiness
                switch.wait_healthy(ctx.remote, layout, c.release_id, paths)
            elif isinstance(c, StopInstances):
                switch.stop_instances(ctx.remote, list(c.units))
        return ""
