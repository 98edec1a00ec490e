"""The app: .env from settings and secrets, and its release (through the deploy lifecycle)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from deployer import envfile
from deployer.engine import Change, Done, Result
from deployer.release.lifecycle import Run
from deployer.release.migrations import migrate
from deployer.release.state import HostState, parse_state
from deployer.steps.base import Context, FileSpec, Step, file_changes, write_files
from deployer.steps.facts import Facts
from deployer.target import Target

if TYPE_CHECKING:
    from deployer.artifact import Artifact


def env_content(target: Target) -> str:
    spec = target.app
    values = dict(spec.env)
    values.update({k: v.get_secret_value() for k, v in spec.secrets.items()})
    # The release directory is read-only: a default SQLite database lives in shared/data.
    values.setdefault("DATABASE_URL", f"sqlite:///{target.layout.data}/{spec.name}.db")
    return envfile.render(spec.name, values)


def env_file(target: Target) -> FileSpec:
    app = target.app.name
    path = str(target.layout.env_file)
    return FileSpec(path, env_content(target), "0600", app, app, secret=True)


class EnvFile(Step):
    """Settings and secrets in /srv/<app>/shared/.env (0600, app user); content never shown."""

    name = "env file"

    def files(self, ctx: Context) -> list[FileSpec]:
        return [env_file(ctx.target)]

    def check(self, ctx: Context) -> list[Change]:
        return list(file_changes(ctx.facts, self.files(ctx)))

    def apply(self, ctx: Context, changes: list[Change]) -> str:
        write_files(ctx, self.files(ctx), changes)
        return ""


@dataclass(frozen=True)
class DeployRelease(Change):
    """Ship the artifact with the release lifecycle (lock → install → … → switch → record)."""

    kind: ClassVar[str] = "release"
    sha256: str
    version: str = ""
    first: bool = False  # nothing serves on this host yet

    @property
    def summary(self) -> str:
        return f"deploy artifact {self.sha256[:12]} ({self.version or 'no version'})" + (
            " as the first release" if self.first else ""
        )


@dataclass(frozen=True)
class Migrate(Change):
    """Run the serving release's migrations (configured after it was deployed)."""

    kind: ClassVar[str] = "migrations"
    release_id: str
    config: str

    @property
    def summary(self) -> str:
        return f"alembic upgrade head ({self.config}) for release {self.release_id}"


def release_state(facts: Facts, target: Target) -> HostState:
    """The release state section of the facts (the same read the deploy lock does)."""
    return parse_state(facts.raw.get("release_state", ""), target.layout)


def serving_release(facts: Facts, target: Target) -> str:
    """The release that serves now, when the ledger, ``current`` and the serving socket
    agree ('' if not)."""
    state = release_state(facts, target)
    cur = state.ledger.current()
    if cur is None or state.current_link != cur.id or not facts.get("current_installed"):
        return ""
    return cur.id if state.serving == cur.id else ""


def release_changes(facts: Facts, target: Target, artifact: Artifact) -> list[Change]:
    """Deploy unless the artifact is what serves; else migrations the serving release lacks."""
    serving = serving_release(facts, target)
    if not serving or facts.get("current_sha") != artifact.sha256:
        first = not release_state(facts, target).serving
        return [DeployRelease(artifact.sha256, artifact.version or "", first=first)]
    if target.app.migrations and not facts.get("current_migrated"):
        return [Migrate(serving, str(target.app.migrations))]
    return []


def deploying(facts: Facts, target: Target, artifact: Artifact) -> bool:
    return any(isinstance(c, DeployRelease) for c in release_changes(facts, target, artifact))


class Release(Step):
    """The app's release, through the same lifecycle as `deployer deploy`, under its lock."""

    name = "app release"

    def check(self, ctx: Context) -> list[Change]:
        return release_changes(ctx.facts, ctx.target, ctx.artifact)

    def apply(self, ctx: Context, changes: list[Change]) -> Done:
        for change in changes:
            if isinstance(change, Migrate):
                migrate(ctx.remote, ctx.target, change.release_id)
                return Done(changes)
        return deploy(ctx, changes)


def deploy(ctx: Context, changes: list[Change]) -> Done:
    parts: list[Result] = []

    def part(result: Result) -> None:
        parts.append(result)
        ctx.show_part(result)

    def join() -> str:
        start = time.monotonic()
        done = ctx.join()
        for result in done:
            part(result)
        waited = f"waited {time.monotonic() - start:.2f}s for the background work" if done else ""
        gate = ctx.before_switch() if ctx.before_switch else ""
        return "; ".join(d for d in (waited, gate) if d)

    run = Run(
        ctx.remote, ctx.target, artifact=ctx.artifact, message="bootstrap",
        bootstrap=True, before_switch=join, report=part,
    )  # fmt: skip
    outcome = run.execute()
    if outcome.error is not None:
        outcome.error.parts = parts
        raise outcome.error
    ctx.release_id = run.release_id
    return Done(changes, outcome.stopped or f"{run.release_id} is live", parts=parts)
