"""What every step shares: the run context, desired files, changes and results."""

from __future__ import annotations

import difflib
import hashlib
import shlex
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from deployer.steps.facts import Facts

if TYPE_CHECKING:
    from deployer.artifact import Artifact
    from deployer.remote import Remote
    from deployer.target import Target

Status = Literal["ok", "changed", "failed", "skipped"]


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
class Change:
    """One difference between the host and the desired state."""

    summary: str
    diff: str = ""


@dataclass
class StepResult:
    name: str
    status: Status
    seconds: float
    changes: list[str] = field(default_factory=list)
    diffs: list[str] = field(default_factory=list)
    detail: str = ""


@dataclass
class Context:
    """Everything a step needs: target, connection, facts and decisions made by earlier steps."""

    target: Target
    remote: Remote
    facts: Facts
    artifact: Artifact
    dry_run: bool = False
    release_id: str = ""  # the release that will be serving after this run
    port: int = 8001
    old_release: str = ""  # the release serving before (to stop), if replaced
    new_release: bool = False
    restart: bool = False  # the serving instance must restart (unit or env changed)
    reload_nginx: bool = False
    tls: bool = False  # a certificate exists for the domain (nginx serves HTTPS)
    health: str = ""  # the health answer's body, once checked
    refresh: Callable[[], None] | None = None  # re-read facts (after waiting for the host)
    parallel: bool = True  # let independent work overlap (apt vs. the app's venv)
    background: list[tuple[str, Future]] = field(default_factory=list)

    def refresh_facts(self) -> None:
        if self.refresh:
            self.refresh()

    def in_background(self, what: str, script: str) -> None:
        """Run a root shell script on another channel of the same connection."""
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="deployer-bg")
        self.background.append((what, pool.submit(self.remote.sh, script, what=what)))
        pool.shutdown(wait=False)

    def join(self) -> bool:
        """Wait for background work; re-read facts if there was any. Raises its failure."""
        jobs, self.background = self.background, []
        for _what, future in jobs:
            future.result()
        if jobs:
            self.refresh_facts()
        return bool(jobs)

    @property
    def app(self) -> str:
        return self.target.app.name

    @property
    def root(self) -> str:
        return f"/srv/{self.app}"


def file_changes(facts: Facts, files: list[FileSpec]) -> list[Change]:
    """Files whose content or ownership differs from the host (secrets show no diff)."""
    hashes, stats = facts.hashes, facts.stats
    changes = []
    for spec in files:
        have = hashes.get(spec.path)
        if have is None:
            changes.append(Change(f"create {spec.path}", _diff("", spec, new=True)))
        elif have != spec.sha256:
            changes.append(Change(f"update {spec.path}", "" if spec.secret else "?"))
        elif stats.get(spec.path, (spec.mode.lstrip("0"),))[:3] != (
            spec.mode.lstrip("0"),
            spec.owner,
            spec.group,
        ):
            changes.append(Change(f"fix mode/owner of {spec.path}"))
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


def fill_diffs(ctx: Context, files: list[FileSpec], changes: list[Change]) -> list[Change]:
    """For dry runs: fetch the current content of changed (non-secret) files to show diffs."""
    wanted = {s.path: s for s in files if not s.secret}
    need = [c for c in changes if c.diff == "?" and c.summary.split()[-1] in wanted]
    if not need:
        return changes
    paths = [c.summary.split()[-1] for c in need]
    script = "; ".join(f"echo @@{shlex.quote(p)}; cat {shlex.quote(p)}" for p in paths)
    from deployer.steps.facts import parse_facts

    current = parse_facts(ctx.remote.sh(script, what="read files").stdout).raw
    out = []
    for change in changes:
        path = change.summary.split()[-1]
        if change.diff == "?" and path in wanted:
            change = Change(change.summary, _diff(current.get(path, ""), wanted[path]))
        out.append(change)
    return out


def write_files(ctx: Context, files: list[FileSpec], changes: list[Change]) -> None:
    """Write the files named by *changes* (content or ownership)."""
    changed = {c.summary.split()[-1] for c in changes}
    for spec in files:
        if spec.path in changed:
            ctx.remote.write_file(
                spec.path, spec.data, mode=spec.mode, owner=spec.owner, group=spec.group
            )


class Step:
    """A unit of convergence: ``check`` reads facts and lists changes; ``apply`` makes them."""

    name = "step"
    detail = ""
    skipped = False

    def check(self, ctx: Context) -> list[Change]:
        raise NotImplementedError

    def apply(self, ctx: Context, changes: list[Change]) -> str:
        """Make the changes; return an optional detail line."""
        raise NotImplementedError
