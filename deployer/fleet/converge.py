"""Bootstrap a fleet: every host converges in parallel (at most ``parallel`` at once), one
summary per host and a fleet total; with a load balancer, its HTTPS URL is checked last."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from deployer.remote import Remote, RemoteError

if TYPE_CHECKING:
    from deployer.artifact import Artifact
    from deployer.fleet.roll import Member


@dataclass
class HostSummary:
    name: str
    counts: dict[str, int] = field(default_factory=dict)  # status -> steps
    seconds: float = 0.0
    error: str = ""  # connection failure or the failed step's detail

    @property
    def ok(self) -> bool:
        return not self.error and not self.counts.get("failed")

    def describe(self) -> str:
        shown = ", ".join(f"{n} {s}" for s, n in sorted(self.counts.items()))
        state = "ok" if self.ok else "FAILED"
        tail = f"  {self.error}" if self.error else ""
        return f"{self.name:<16} {state:<6} {shown or 'no step'}  {self.seconds:.1f}s{tail}"


def converge_one(member: Member, artifact: Artifact, *, dry_run: bool, trust_new_host: bool
                 ) -> HostSummary:
    from deployer.steps.plan import bootstrap

    summary = HostSummary(member.name)
    start = time.monotonic()
    try:
        with Remote(member.target, trust_new_host=trust_new_host) as remote:
            results, _ = bootstrap(remote, member.target, artifact, dry_run=dry_run)
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
    """Bootstrap every member, ``parallel`` at a time; print each host's summary as it ends."""

    def one(member: Member) -> HostSummary:
        summary = converge_one(member, artifact, dry_run=dry_run, trust_new_host=trust_new_host)
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
