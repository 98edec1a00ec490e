"""Roll a release across a fleet: preflight, the fleet lock, every host prepared at once (its
lifecycle's first stage: lock, upload, install), then batches: the first batch started and
checked on its own while the others install (migrations once, there), switched once every host
is installed, every later host warmed meanwhile (started and checked beside the release it
serves), each later batch then only switched; on failure the
revert (switched hosts back, prepared and warm ones undone and unlocked, the release marked bad
wherever it reached).

Each host switches with the one-host release lifecycle (`deployer.release.lifecycle.Run`:
health-gated, zero-downtime); this module only decides order and undo (`deployer.fleet.plan`)
and runs the hosts' stages in parallel, one SSH connection each, one stage at a time per host.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from deployer.fleet import plan
from deployer.layout import Layout
from deployer.ops.env import back_to
from deployer.release import lock
from deployer.release.lifecycle import Run
from deployer.release.state import acquire_lock, read_state, write_ledger
from deployer.remote import Remote, RemoteError

if TYPE_CHECKING:
    from deployer.artifact import Artifact
    from deployer.engine import Outcome, Result
    from deployer.release.ledger import Release
    from deployer.target import Target

ROLLED_BACK, SKIPPED = "rolled back", "skipped"


@dataclass(frozen=True)
class Member:
    """One host of a fleet: its name and its complete target."""

    name: str
    target: Target


@dataclass
class HostReport:
    name: str
    outcome: str = plan.UNTOUCHED
    release: str = ""
    detail: str = ""
    seconds: float = 0.0
    results: list[Result] = field(default_factory=list)  # its lifecycle's phases
    revert: list[Result] = field(default_factory=list)  # the phases of its revert, if any

    def to_dict(self) -> dict[str, object]:
        data: dict[str, object] = {"name": self.name, "outcome": self.outcome,
                                   "release": self.release, "detail": self.detail}
        if self.revert:
            data["revert"] = [r.to_dict() for r in self.revert]
        return data


@dataclass
class FleetResult:
    ok: bool
    message: str
    hosts: dict[str, HostReport] = field(default_factory=dict)
    refused: bool = False  # the fleet lock was held, or a host was down


def fleet_lock_dir(layout: Layout) -> PurePosixPath:
    """The fleet lock, beside each host's own deploy lock (taken per host by its lifecycle)."""
    return layout.state / "fleet.lock"


def read_fleet_holder(remote: Remote, layout: Layout) -> lock.LockInfo | None:
    """Who holds the fleet lock on this host (None when free)."""
    res = remote.sh(lock.read_script(fleet_lock_dir(layout)), what="read fleet lock")
    return lock.parse_holder(res.stdout)


class FleetLock:
    """The fleet lock on every host, taken in the fixed order, released on every host."""

    def __init__(self, remotes: dict[str, Remote], layout: Layout, info: lock.LockInfo) -> None:
        self.remotes, self.layout, self.info = remotes, layout, info
        self.held: list[str] = []

    def acquire(self) -> None:
        where = fleet_lock_dir(self.layout)
        for name in plan.lock_order(list(self.remotes)):
            res = self.remotes[name].sh(lock.acquire_script(where, self.info), check=False,
                                        what="take fleet lock")
            if res.code == lock.HELD_EXIT:
                self.release()
                holder = lock.parse_holder(res.stdout) or lock.LockInfo.from_json("")
                raise lock.LockHeld(holder) from None
            if res.code != 0 or "acquired" not in res.stdout:
                self.release()
                raise RemoteError(f"{name}: could not take the fleet lock: {res.stderr[-200:]}")
            self.held.append(name)

    def release(self) -> None:
        script = lock.release_script(fleet_lock_dir(self.layout), self.info.token)
        for name in reversed(self.held):
            with contextlib.suppress(RemoteError, OSError):
                self.remotes[name].sh(script, what="release fleet lock")
        self.held = []


def connect_all(members: list[Member]) -> tuple[dict[str, Remote], dict[str, str]]:
    """Connect to every host in parallel; (connected remotes, host -> error for the others)."""
    def one(m: Member) -> tuple[str, Remote | None, str]:
        try:
            return m.name, Remote(m.target).connect(), ""
        except RemoteError as exc:
            return m.name, None, str(exc)

    with ThreadPoolExecutor(max_workers=min(16, len(members) or 1)) as pool:
        results = list(pool.map(one, members))
    remotes = {n: r for n, r, _ in results if r is not None}
    return remotes, {n: e for n, _, e in results if e}


def close_all(remotes: dict[str, Remote]) -> None:
    for remote in remotes.values():
        with contextlib.suppress(Exception):
            remote.close()


def without_migrations(t: Target) -> Target:
    return t.model_copy(update={"app": t.app.model_copy(update={"migrations": None})})


@dataclass
class Roll:
    """A deploy (artifact), an environment change (``env_for``, no artifact) or a rollback
    across ``members``."""

    members: list[Member]
    action: str = "deploy"
    artifact: Artifact | None = None
    rollback_to: str = ""  # rollback: a release id; every host goes to its artifact
    #                        ('' = each host's previous good release)
    batch: plan.BatchSize = field(default_factory=lambda: plan.BatchSize(1))
    canary: bool = True
    skip_down: bool = False
    message: str = ""
    keep: int = 5
    audit_as: str = ""
    parallel: int = 4  # hosts prepared (lock, upload, install) at once
    say: Callable[[str], None] = print
    # an environment change (a deploy without artifact): each host's new .env from the one it
    # has, computed under its lock (see ``Run.env_for``); a revert puts that one back
    env_for: Callable[[str], tuple[str, str] | None] | None = None

    def __post_init__(self) -> None:
        self.runs: dict[str, tuple[Run, Outcome]] = {}  # prepared, waiting for their batch
        self.planned: dict[str, Release] = {}  # host -> the release its lifecycle planned
        self.by_name = {m.name: m for m in self.members}
        self.layout = Layout(self.members[0].target.app.name)
        self.reports = {m.name: HostReport(m.name) for m in self.members}
        self._print = threading.Lock()
        self.rollback_sha = ""
        self.env_before: dict[str, str] = {}  # an environment change: host -> the .env it had

    def _say(self, text: str) -> None:
        with self._print:
            self.say(text)

    def execute(self) -> FleetResult:
        remotes, down = connect_all(self.members)
        try:
            pre = plan.preflight({m.name: down.get(m.name, "") for m in self.members},
                                 self.skip_down)
            if pre.error:
                return FleetResult(False, pre.error, self.reports, refused=True)
            for name in pre.skipped:
                self.reports[name].outcome = SKIPPED
                self.reports[name].detail = f"down: {down[name]}"
            live = {n: remotes[n] for n in pre.hosts}
            info = lock.LockInfo(who=lock.whoami(), what=f"fleet {self.action}",
                                 message=self.message)
            fleet_lock = FleetLock(live, self.layout, info)
            try:
                fleet_lock.acquire()
            except lock.LockHeld as exc:
                return FleetResult(False, f"refused: fleet {exc}", self.reports, refused=True)
            try:
                return self._roll(live, pre.hosts)
            finally:
                fleet_lock.release()
        finally:
            close_all(remotes)

    def _roll(self, remotes: dict[str, Remote], hosts: list[str]) -> FleetResult:
        with ThreadPoolExecutor(max(1, min(16, len(hosts)))) as pool:
            states = dict(zip(hosts, pool.map(lambda n: read_state(remotes[n], self.layout),
                                              hosts), strict=True))
        before = {n: s.ledger.current() for n, s in states.items()}
        named = [r for s in states.values() if (r := s.ledger.get(self.rollback_to))]
        if self.rollback_to and not named:
            return FleetResult(False, f"no host has release {self.rollback_to}", self.reports,
                               refused=True)
        self.rollback_sha = named[0].sha256 if named else ""
        run_once = bool(self.members[0].target.app.migrations) and self.action == "deploy"
        rolled = plan.roll_plan(hosts, self.batch, run_once=run_once, canary=self.canary)
        outcomes = {n: plan.UNTOUCHED for n in hosts}
        reached: set[str] = set()

        def settle(done: list[tuple[str, str, bool]]) -> None:
            for name, outcome, got_there in done:
                outcomes[name] = outcome
                if got_there:
                    reached.add(name)

        # stage one on every host (lock, upload, install; --parallel at once, the first batch
        # first): the slow part, off the batches; each host keeps its deploy lock until its
        # batch switches it
        self._say(f"prepare: {' '.join(hosts)}")
        width = max(1, min(self.parallel, len(hosts)))
        try:
            with ThreadPoolExecutor(width) as pool, ThreadPoolExecutor(len(hosts)) as now:
                prepared = {n: pool.submit(self._prepare, remotes[n], n, rolled.run_once_on)
                            for b in rolled.batches for n in b}
                self._batches(rolled.batches, prepared, outcomes, settle, pool, now)
        finally:  # prepared or warm, never switched: what ran undone, their locks given back
            failed = [n for n, o in outcomes.items() if o == plan.FAILED]
            why = f"fleet {self.action} stopped" + (f": {', '.join(failed)} failed" * bool(failed))
            with ThreadPoolExecutor(max_workers=max(1, len(self.runs))) as pool:
                list(pool.map(lambda n: self._step(n, stop=why), list(self.runs)))
        revert = plan.revert_plan(outcomes, reached)
        if not revert.mark_bad:
            sha = self._wanted_sha(remotes, hosts)
            return FleetResult(True, f"{len(hosts)} hosts on {sha[:12]}", self.reports)
        for name in revert.rollback:
            self._revert(remotes[name], name, before[name].id if before[name] else "")
        for name in revert.mark_bad:
            planned = self.planned.get(name)
            if planned is not None and self.action == "deploy":
                mark_bad(remotes[name], self.layout, planned, f"fleet roll failed on "
                         f"{', '.join(failed)}", self.message)
        untouched = [n for n, o in outcomes.items() if o == plan.UNTOUCHED]
        text = (f"{self.action} failed on {', '.join(failed)}: stopped; rolled back "
                f"{', '.join(revert.rollback) or 'no host'}; untouched "
                f"{', '.join(untouched) or 'none'}")
        return FleetResult(False, text, self.reports)

    def _wanted_sha(self, remotes: dict[str, Remote], hosts: list[str]) -> str:
        if self.artifact is not None:
            return self.artifact.sha256
        cur = read_state(remotes[hosts[0]], self.layout).ledger.current()
        return cur.sha256 if cur else ""

    def _prepare(self, remote: Remote, name: str, run_once_on: str | None
                 ) -> tuple[str, str, bool]:
        """Stage one of a host's lifecycle; a prepared host waits in ``runs`` for its batch.
        Returns (name, outcome so far, whether the new release reached it)."""
        t = self.by_name[name].target
        if name != run_once_on:
            t = without_migrations(t)
        start = time.monotonic()
        rollback_to = ""
        if self.action == "rollback":
            rollback_to = self._rollback_id(remote)
        run = Run(remote, t, action=self.action, artifact=self.artifact, rollback_to=rollback_to,
                  message=self.message, keep=self.keep, audit_as=self.audit_as,
                  env_for=self._env_for(name), report=lambda r: self._phase(name, r))
        outcome = run.prepare()
        self.reports[name].seconds = time.monotonic() - start
        if run.pending(outcome):
            self.runs[name] = (run, outcome)
            return name, plan.UNTOUCHED, True
        return self._settled(name, run, outcome)

    def _batches(self, batches: list[list[str]], prepared: dict[str, Future],
                 outcomes: dict[str, str],
                 settle: Callable[[list[tuple[str, str, bool]]], None],
                 pool: ThreadPoolExecutor, now: ThreadPoolExecutor) -> None:
        """Switch the hosts batch by batch once every one is *prepared*. The first batch is
        started and checked on its own as soon as its hosts are prepared, while the others
        still install (a release that cannot boot is found there, on no other host); once it
        is healthy and every host prepared, every later host is warmed ahead (started,
        checked; ``pool``: bounded) while the first batch switches, so a later batch only has
        to switch. A batch switches once the one before has switched; the rest of each host's
        run (drain, record, cleanup) goes on beside the next batch. The first failure stops
        the roll."""
        warming: dict[str, Future] = {}  # host -> its warm-ahead
        tails: list[Future] = []  # switched hosts' drain, record, cleanup

        def harvest(wait_for: list[str], everything: bool = False) -> None:
            """Settle the prepares and warm-aheads of *wait_for* (waiting) and whatever else
            has finished (every one, waiting, with *everything*): a failure is known before
            the next switch."""
            for futures in (prepared, warming):
                for name in list(futures):
                    if everything or name in wait_for or futures[name].done():
                        settle([futures.pop(name).result()])
            for tail in [t for t in tails if everything or t.done()]:
                tails.remove(tail)
                settle([tail.result()])

        def go(through: str, names: list[str]) -> None:
            settle(list(now.map(lambda n: self._step(n, through), names)))

        try:
            for number, batch in enumerate(batches, 1):
                self._say(f"batch {number}/{len(batches)}: {' '.join(batch)}")
                if number == 1:
                    harvest(batch)
                    if plan.FAILED not in outcomes.values():
                        go("health", [n for n in batch if n in self.runs])
                    harvest(list(prepared))  # no switch before every host is prepared
                    if plan.FAILED not in outcomes.values():
                        later = [n for b in batches[1:] for n in b if n in self.runs]
                        if later:
                            self._say(f"warm ahead: {' '.join(later)}")
                        warming = {n: pool.submit(self._step, n, "health", True) for n in later}
                harvest(batch)
                if plan.FAILED in outcomes.values():
                    return
                mine = [n for n in batch if n in self.runs]
                go("switch", mine)
                tails += [now.submit(self._step, n) for n in mine if n in self.runs]
        finally:  # nothing left running: every host's outcome settled
            harvest([], everything=True)

    def _step(self, name: str, through: str = "", recheck: bool = False, stop: str = ""
              ) -> tuple[str, str, bool]:
        """The next stage of a prepared host: its phases through *through* ('': to the end;
        ``stop``: undo what ran instead). *recheck*: warmed ahead of its batch, so its health
        is asked again at the switch. Returns (name, outcome so far, whether the new release
        reached it)."""
        run, outcome = self.runs[name]  # one step at a time per host: no other thread has it
        run.recheck = run.recheck or recheck
        if run.release is not None:
            self.planned[name] = run.release
        start = time.monotonic()
        if through and not stop:
            outcome = run.advance(outcome, through)
        else:
            outcome = run.resume(outcome, stop=stop)
        self.reports[name].seconds += time.monotonic() - start
        if run.pending(outcome):
            self.runs[name] = (run, outcome)
            return name, plan.SWITCHED if run.switched else plan.UNTOUCHED, True
        del self.runs[name]
        if stop:
            self.reports[name].release = run.release_id
            how_far = "started" if run.started else "prepared"
            self.reports[name].detail = f"{how_far}, not switched: {stop}"
            return name, plan.UNTOUCHED, True
        return self._settled(name, run, outcome)

    def _settled(self, name: str, run: Run, outcome) -> tuple[str, str, bool]:
        report = self.reports[name]
        if run.release is not None:
            self.planned[name] = run.release
        report.release = run.release_id
        if outcome.ok:
            report.outcome = plan.NOOP if run.noop else plan.SWITCHED
            report.detail = outcome.stopped or f"{run.release_id} is live"
            return name, report.outcome, not run.noop
        err = outcome.error
        report.outcome = plan.FAILED
        report.detail = f"{err.unit}: {err.message}"
        return name, plan.FAILED, err.unit != "lock"

    def _env_for(self, name: str) -> Callable[[str], tuple[str, str] | None] | None:
        """The environment change on host *name*, keeping the .env it read for a revert."""
        change = self.env_for
        if change is None:
            return None

        def compute(current: str) -> tuple[str, str] | None:
            self.env_before[name] = current
            return change(current)

        return compute

    def _rollback_id(self, remote: Remote) -> str:
        """This host's release of the wanted artifact ('' = its previous good release)."""
        if not self.rollback_sha:
            return ""
        rel = read_state(remote, self.layout).ledger.find_sha(self.rollback_sha)
        return rel.id if rel else f"{self.rollback_to}-missing-here"

    def _revert(self, remote: Remote, name: str, release_id: str) -> None:
        """Host *name* switched to what the roll brought: back to *release_id*; after an
        environment change, the .env it had back instead (the file is shared by releases, so
        a rollback would restart the old one with the new values), health-gated likewise."""
        t = without_migrations(self.by_name[name].target)
        message = f"fleet revert: {self.message}".strip(": ")
        report_to = functools.partial(self._phase, name, revert=True)
        if self.env_for is not None:
            run = Run(remote, t, action="deploy", message=message, audit_as=self.audit_as,
                      env_for=back_to(self.env_before[name]), report=report_to)
        else:
            run = Run(remote, t, action="rollback", rollback_to=release_id, message=message,
                      report=report_to)
        outcome = run.execute()
        back = f"previous .env back ({run.release_id})" if self.env_for else f"back on {release_id}"
        report = self.reports[name]
        report.outcome = ROLLED_BACK if outcome.ok else plan.FAILED
        report.detail = back if outcome.ok else f"revert failed: {outcome.error.message}"

    def _phase(self, name: str, result: Result, revert: bool = False) -> None:
        report = self.reports[name]
        (report.revert if revert else report.results).append(result)
        if result.status != "ok" or result.name in ("switch", "health", "lock"):
            detail = f"  {result.detail}" if result.detail else ""
            self._say(f"  {name:<12} {result.status:>7} {result.name:<8} "
                      f"{result.seconds:6.2f}s{detail}"[:200])


def mark_bad(remote: Remote, layout: Layout, planned: Release, note: str, message: str) -> None:
    """Mark the release bad on one host, under its deploy lock (no rollback picks it); added to
    the ledger when it got no further than its install there."""
    from deployer.release.lifecycle import marked_bad

    info = lock.LockInfo(who=lock.whoami(), what=f"mark {planned.id} bad", message=message)
    state = acquire_lock(remote, layout, info)
    release = lock.release_script(layout.lock_dir, info.token)
    rel = state.ledger.get(planned.id)
    led = None if rel and rel.status == "bad" else marked_bad(state.ledger, planned, note[:300])
    if led is None:  # already bad, or it serves (then it is no failure of this roll)
        remote.sh(release, what="release lock")
        return
    write_ledger(remote, layout, led, then=release)
