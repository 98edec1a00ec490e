"""Bootstrap a fleet: every host converges in parallel (at most ``parallel`` at once), one
summary per host and a fleet total; with a load balancer, its HTTPS URL is checked last.

Migrations run once, on the first host, before its switch; the other hosts skip them and
switch only once they ran (they share the database)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from deployer.engine import UnitError
from deployer.remote import Remote, RemoteError

if TYPE_CHECKING:
    from deployer.artifact import Artifact
    from deployer.engine import Result
    from deployer.fleet.roll import Member


@dataclass
class HostSummary:
    name: str
    counts: dict[str, int] = field(default_factory=dict)  # status -> steps
    seconds: float = 0.0
    error: str = ""  # connection failure or the failed step's detail
    results: list[Result] = field(default_factory=list)  # the steps, for --json

    @property
    def ok(self) -> bool:
        return not self.error and not self.counts.get("failed")

    def describe(self) -> str:
        shown = ", ".join(f"{n} {s}" for s, n in sorted(self.counts.items()))
        state = "ok" if self.ok else "FAILED"
        tail = f"  {self.error}" if self.error else ""
        return f"{self.name:<16} {state:<6} {shown or 'no step'}  {self.seconds:.1f}s{tail}"


class MigrationsOnce:
    """The fleet's migrations, run by the release of one host (``host``): the others' switches
    wait until its migrate phase ended (or its bootstrap did, when it had none to run)."""

    def __init__(self, host: str) -> None:
        self.host = host
        self.error = ""
        self._done = threading.Event()

    def seen(self, result: Result) -> None:
        """A phase of ``host``'s release ended."""
        if result.name == "migrate" and not self._done.is_set():
            self.error = result.detail if result.status == "failed" else ""
            self._done.set()

    def ended(self, error: str) -> None:
        """``host``'s bootstrap ended (``error``: why it failed): without a migrate phase, its
        outcome decides."""
        if not self._done.is_set():
            self.error = error
            self._done.set()

    def wait(self) -> str:
        """Before another host's switch: block until the migrations ran; fail if they did not."""
        self._done.wait()
        if self.error:
            raise UnitError(f"migrations on {self.host} failed: {self.error}"[:300])
        return f"migrations ran on {self.host}"


def converge_one(member: Member, artifact: Artifact, *, dry_run: bool, trust_new_host: bool,
                 on_part: Callable[[Result], None] | None = None,
                 before_switch: Callable[[], str] | None = None) -> HostSummary:
    from deployer.steps.plan import bootstrap

    summary = HostSummary(member.name)
    start = time.monotonic()
    try:
        with Remote(member.target, trust_new_host=trust_new_host) as remote:
            results, _ = bootstrap(remote, member.target, artifact, dry_run=dry_run,
                                   on_part=on_part, before_switch=before_switch)
        summary.results = results
        for r in results:
            summary.counts[r.status] = summary.counts.get(r.status, 0) + 1
            if r.status == "failed":
                summary.error = f"{r.name}: {r.detail}"[:300]
    except RemoteError as exc:
        summary.error = f"connection failed: {exc}"
    summary.seconds = time.monotonic() - start
    return summary


def converge(
    members: list[Member],
    artifact: Artifact,
    *,
    parallel: int,
    dry_run: bool = False,
    trust_new_host: bool = False,
    say: Callable[[str], None] = print,
) -> list[HostSummary]:
    """Bootstrap every member, ``parallel`` at a time (the first one first); print each host's
    summary as it ends. With migrations, only the first host runs them (see the module)."""
    from deployer.fleet.roll import Member, without_migrations

    first = members[0].name if members else ""
    once = MigrationsOnce(first) if members and members[0].target.app.migrations else None

    def one(member: Member) -> HostSummary:
        target, on_part, gate = member.target, None, None
        if once is not None and member.name == first:
            on_part = once.seen
        elif once is not None:
            target, gate = without_migrations(target), once.wait
        error = "bootstrap crashed"
        try:
            summary = converge_one(Member(member.name, target), artifact, dry_run=dry_run,
                                   trust_new_host=trust_new_host, on_part=on_part,
                                   before_switch=gate)
            error = "" if summary.ok else summary.error or "bootstrap failed"
        finally:
            if once is not None and member.name == first:
                once.ended(error)  # whatever happened: the others never wait forever
        say(summary.describe())
        return summary

    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        return list(pool.map(one, members))


def total(summaries: list[HostSummary], seconds: float) -> str:
    changed = sum(1 for s in summaries if s.counts.get("changed"))
    failed = [s.name for s in summaries if not s.ok]
    line = (f"fleet: {len(summaries)} hosts, {changed} changed, "
            f"{len(summaries) - len(failed)} ok, {len(failed)} failed in {seconds:.1f}s")
    return line + (f" ({', '.join(failed)})" if failed else "")
