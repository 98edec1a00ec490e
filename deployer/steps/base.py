"""What every step shares: the run context, desired files, file changes, the Step base."""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import shlex
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, ClassVar, Literal

from deployer.engine import Change, Result
from deployer.steps.facts import Facts

if TYPE_CHECKING:
    from deployer.artifact import Artifact
    from deployer.remote import Remote
    from deployer.target import Target


@dataclass(frozen=True)
class FileSpec:
    """A file as it should be on the host."""

    path: str
    content: str
    mode: str = "0644"
    owner: str = "root"
    group: str = "root"
    secret: bool = False

    @property
    def data(self) -> bytes:
        return self.content.encode()

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class WriteFile(Change):
    """A managed file to create, rewrite, or fix the mode/owner of."""

    kind: ClassVar[str] = "file"
    path: str
    how: Literal["create", "update", "mode"] = "update"
    diff: str = field(default="", compare=False)  # shown with --diff ("?": not fetched yet)

    @property
    def summary(self) -> str:
        verb = {"create": "create", "update": "update", "mode": "fix mode/owner of"}[self.how]
        return f"{verb} {self.path}"


@dataclass
class Background:
    """Work running on another channel of the same connection (apt while the venv builds)."""

    step: str
    changes: list[Change]
    future: Future[float]  # its own duration in seconds


@dataclass
class Context:
    """Everything a step needs: target, connection, facts, and what earlier steps did."""

    target: Target
    remote: Remote
    facts: Facts
    artifact: Artifact
    dry_run: bool = False
    release_id: str = ""  # the release serving after this run (set by the app step)
    health: str = ""  # the health answer's body, once checked
    refresh: Callable[[], None] | None = None  # re-read facts (after waiting for the host)
    show: Callable[[Result], None] | None = None  # live output of a step's parts
    before_switch: Callable[[], str] | None = None  # a fleet's: wait for its migrations
    background: list[Background] = field(default_factory=list)

    def show_part(self, result: Result) -> None:
        if self.show:
            self.show(result)

    def refresh_facts(self) -> None:
        if self.refresh:
            self.refresh()

    def in_background(self, step: str, changes: list[Change], script: str, what: str) -> None:
        """Run a root shell script on another channel of the same connection."""

        def timed() -> float:
            start = time.monotonic()
            self.remote.sh(script, what=what)
            return time.monotonic() - start

        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="deployer-bg")
        self.background.append(Background(step, changes, pool.submit(timed)))
        pool.shutdown(wait=False)

    def join(self) -> list[Result]:
        """Wait for background work and re-read facts if there was any; one result per job
        (its own time, not the wait). Raises the first job's failure."""
        jobs, self.background = self.background, []
        results = [
            Result(f"{job.step} (bg)", "changed", job.future.result(), job.changes,
                   "ran in the background")
            for job in jobs
        ]  # fmt: skip
        if jobs:
            self.refresh_facts()
        return results

    def settle(self) -> None:
        """Never leave background work (apt) running when the run stops early."""
        for job in self.background:
            with contextlib.suppress(Exception):
                job.future.result()
        self.background = []

    @property
    def app(self) -> str:
        return self.target.app.name


def file_changes(facts: Facts, files: list[FileSpec]) -> list[WriteFile]:
    """Files whose content or ownership differs from the host (secrets show no diff)."""
    hashes, stats = facts.hashes, facts.stats
    changes = []
    for spec in files:
        have = hashes.get(spec.path)
        if have is None:
            changes.append(WriteFile(spec.path, "create", _diff("", spec, new=True)))
        elif have != spec.sha256:
            changes.append(WriteFile(spec.path, "update", "" if spec.secret else "?"))
        elif stats.get(spec.path, (spec.mode.lstrip("0"),))[:3] != (
            spec.mode.lstrip("0"),
            spec.owner,
            spec.group,
        ):
            changes.append(WriteFile(spec.path, "mode"))
    return changes


def _diff(old: str, spec: FileSpec, new: bool = False) -> str:
    if spec.secret:
        return f"(secret file {spec.path}: content not shown)"
    lines = difflib.unified_diff(
        old.splitlines(keepends=True),
        spec.content.splitlines(keepends=True),
        fromfile="/dev/null" if new else spec.path,
        tofile=spec.path,
    )
    return "".join(lines)


def diff_script(changes: list[Change]) -> str:
    """Read-only script printing the current content of files whose diff is still to fetch."""
    paths = [c.path for c in changes if isinstance(c, WriteFile) and c.diff == "?"]
    return "; ".join(f"echo @@{shlex.quote(p)}; cat {shlex.quote(p)}" for p in paths)


def with_diffs(changes: list[Change], current: dict[str, str], files: list[FileSpec]):
    """The changes with their diffs filled in from *current* (path -> content on the host)."""
    wanted = {s.path: s for s in files if not s.secret}
    out: list[Change] = []
    for change in changes:
        if isinstance(change, WriteFile) and change.diff == "?" and change.path in wanted:
            spec = wanted[change.path]
            change = replace(change, diff=_diff(current.get(change.path, ""), spec))
        out.append(change)
    return out


def write_files(ctx: Context, files: list[FileSpec], changes: list[Change]) -> None:
    """Write the files named by *changes* (content or ownership)."""
    changed = {c.path for c in changes if isinstance(c, WriteFile)}
    for spec in files:
        if spec.path in changed:
            ctx.remote.write_file(
                spec.path, spec.data, mode=spec.mode, owner=spec.owner, group=spec.group
            )


class Step:
    """A unit of convergence. ``check`` is a pure decision: facts (and the target) in, typed
    changes out, never a command. ``apply`` makes exactly those changes and may return a
    detail line. ``joins`` steps first wait for background work (and see fresh facts)."""

    name = "step"
    joins = False

    def check(self, ctx: Context) -> list[Change]:
        raise NotImplementedError

    def files(self, ctx: Context) -> list[FileSpec]:
        """The managed files this step writes (for diffs)."""
        return []

    def skipped(self, ctx: Context) -> str:
        """Why this step does not apply here ('' when it does)."""
        return ""

    def apply(self, ctx: Context, changes: list[Change]) -> str | None:
        raise NotImplementedError
