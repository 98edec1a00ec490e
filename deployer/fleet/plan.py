"""Fleet decisions, free of SSH: batches, lock order, run-once work, the revert plan, drift
(of releases and of environments), the total of a command run on every host.

Facts in (host names, what each host answered), typed decisions out; `deployer.fleet.roll`
executes them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

BATCH = re.compile(r"^(?P<n>[0-9]{1,4})(?P<pct>%?)$")


@dataclass(frozen=True)
class BatchSize:
    """``--batch N`` (hosts) or ``--batch N%`` (of the fleet, rounded up)."""

    value: int
    percent: bool = False

    def hosts(self, fleet: int) -> int:
        if self.percent:
            return max(1, math.ceil(fleet * self.value / 100))
        return self.value


def parse_batch(spec: str) -> BatchSize:
    m = BATCH.fullmatch(spec.strip())
    if not m or int(m["n"]) < 1 or (m["pct"] and int(m["n"]) > 100):
        raise ValueError(f"--batch expects N (hosts, >= 1) or N% (1-100%), got {spec!r}")
    return BatchSize(int(m["n"]), bool(m["pct"]))


def batches(hosts: list[str], size: BatchSize, canary: bool = True) -> list[list[str]]:
    """The roll order: a canary batch of one host first (when the fleet has more than one),
    then batches of ``size``; hosts keep their configured order."""
    if not hosts:
        return []
    first, rest = ([hosts[:1]], hosts[1:]) if canary and len(hosts) > 1 else ([], hosts)
    n = size.hosts(len(hosts))
    return first + [rest[i : i + n] for i in range(0, len(rest), n)]


def lock_order(hosts: list[str]) -> list[str]:
    """Every fleet lock is taken in one fixed order (sorted names), so two deploys of
    overlapping fleets cannot each hold half and wait for the other; released in reverse."""
    return sorted(set(hosts))


@dataclass(frozen=True)
class RollPlan:
    batches: list[list[str]]
    #: the one host that runs the run-once work (migrations), in the first batch, which is
    #: a single host whenever there is such work: done before any other host switches
    run_once_on: str | None


def roll_plan(hosts: list[str], size: BatchSize, run_once: bool, canary: bool = True
              ) -> RollPlan:
    """Batches plus where the run-once work goes. With run-once work, the first batch is one
    host even without a canary, so the work finishes before the fleet's first switch."""
    order = batches(hosts, size, canary=canary or run_once)
    return RollPlan(order, order[0][0] if run_once and order else None)


#: Per-host outcome of one step of a roll.
SWITCHED, NOOP, FAILED, UNTOUCHED = "switched", "noop", "failed", "untouched"


@dataclass(frozen=True)
class Revert:
    """What to do after a failed batch: roll these hosts back (in this order) and mark the
    new release bad on those."""

    rollback: list[str]
    mark_bad: list[str]


def revert_plan(outcomes: dict[str, str], reached: set[str]) -> Revert:
    """``outcomes``: host -> SWITCHED/NOOP/FAILED/UNTOUCHED so far; ``reached``: hosts the new
    release got onto (uploaded or further). No failure: nothing to revert. Otherwise every host
    that switched goes back (last switched first) and the release is marked bad wherever it
    reached, so no later rollback picks it."""
    if FAILED not in outcomes.values():
        return Revert([], [])
    switched = [h for h, o in outcomes.items() if o == SWITCHED]
    return Revert(list(reversed(switched)), sorted(reached))


@dataclass(frozen=True)
class Preflight:
    hosts: list[str]  # the hosts to roll
    skipped: list[str] = field(default_factory=list)
    error: str = ""


def preflight(reachable: dict[str, str], skip_down: bool) -> Preflight:
    """``reachable``: host -> "" when it answered, else the connection error. A host that is down
    stops the roll before any host is touched, unless ``skip_down`` (then it is skipped)."""
    down = {h: e for h, e in reachable.items() if e}
    up = [h for h in reachable if h not in down]
    if not down:
        return Preflight(up)
    if skip_down and up:
        return Preflight(up, skipped=list(down))
    named = "; ".join(f"{h}: {e}" for h, e in down.items())
    hint = "" if skip_down else " (pass --skip-down to roll the others)"
    return Preflight([], error=f"host down, nothing touched: {named}{hint}")


@dataclass(frozen=True)
class HostRelease:
    """What one host serves: release id, artifact hash and version (empty when none)."""

    release: str = ""
    sha256: str = ""
    version: str = ""


@dataclass(frozen=True)
class Drift:
    consistent: bool
    majority: str  # the sha256 most hosts serve ("" when none)
    drifted: list[str]  # hosts serving something else

    def describe(self) -> str:
        if self.consistent:
            return "all hosts on one release"
        return f"drift: {', '.join(self.drifted)} not on {self.majority[:12] or 'any release'}"


def drift(current: dict[str, HostRelease]) -> Drift:
    """Hosts on a different artifact than most of the fleet (ties: the first host's wins)."""
    counts: dict[str, int] = {}
    for rel in current.values():
        counts[rel.sha256] = counts.get(rel.sha256, 0) + 1
    if not counts:
        return Drift(True, "", [])
    majority = max(counts, key=lambda sha: counts[sha])  # first seen wins a tie
    drifted = [h for h, rel in current.items() if rel.sha256 != majority]
    return Drift(not drifted, majority, drifted)


@dataclass(frozen=True)
class EnvDiff:
    """How one host's environment differs from the reference host's: key names only."""

    host: str
    missing: list[str]  # keys the reference has and this host not
    extra: list[str]  # keys this host has and the reference not
    differs: list[str]  # keys both have, with other values

    def describe(self) -> str:
        named = (("missing", self.missing), ("extra", self.extra),
                 ("other value of", self.differs))
        parts = [f"{what} {', '.join(keys)}" for what, keys in named if keys]
        return f"{self.host}: {'; '.join(parts)}"


def env_drift(fingerprints: dict[str, dict[str, str]]) -> list[EnvDiff]:
    """``fingerprints``: host -> key -> hash of its value, in fleet order. Every host is compared
    with the first; the hosts that differ, in order (values are never needed, only hashes)."""
    if not fingerprints:
        return []
    ref = next(iter(fingerprints.values()))
    out = []
    for host, mine in fingerprints.items():
        diff = EnvDiff(host, sorted(set(ref) - set(mine)), sorted(set(mine) - set(ref)),
                       sorted(k for k in set(ref) & set(mine) if ref[k] != mine[k]))
        if diff.missing or diff.extra or diff.differs:
            out.append(diff)
    return out


def tally(errors: dict[str, str]) -> str:
    """The fleet total of a command run on every host (``errors``: host -> '' when it went
    through, else why not), naming the hosts that failed."""
    failed = [h for h, e in errors.items() if e]
    line = f"fleet: {len(errors)} hosts, {len(errors) - len(failed)} ok, {len(failed)} failed"
    return line + (f" ({', '.join(failed)})" if failed else "")
