"""The release ledger (state/releases.json): what was deployed, by whom, and how it went.

Pure data: reading and writing the file on a host is done by the callers (one ``cat``, one
atomic replace). Releases are kept in deploy order; ids sort by deploy time.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from typing import Literal

from deployer.names import check_release_id

Status = Literal["current", "good", "bad"]
STATUSES: tuple[str, ...] = ("current", "good", "bad")
DEFAULT_KEEP = 5


@dataclass(frozen=True)
class Release:
    """One release directory: its artifact identity and what happened to it."""

    id: str
    sha256: str
    version: str = ""
    commit: str = ""
    time: str = ""
    who: str = ""
    status: Status = "good"
    note: str = ""
    previous: str = ""  # the release that served when a deploy made this one current

    def __post_init__(self) -> None:
        check_release_id(self.id)
        if self.status not in STATUSES:
            raise ValueError(f"invalid release status {self.status!r}")


@dataclass(frozen=True)
class Ledger:
    """All known releases of one app on one host, oldest first."""

    releases: tuple[Release, ...] = field(default_factory=tuple)

    # -- reading -------------------------------------------------------------------------------
    @classmethod
    def from_json(cls, text: str) -> Ledger:
        """Parse releases.json; an empty file means no releases yet."""
        if not text.strip():
            return cls()
        data = json.loads(text)
        known = set(Release.__dataclass_fields__)
        rels = [Release(**{k: v for k, v in r.items() if k in known}) for r in data["releases"]]
        return cls(tuple(sorted(rels, key=lambda r: r.id)))

    def to_json(self) -> str:
        return json.dumps({"releases": [asdict(r) for r in self.releases]}, indent=2) + "\n"

    def get(self, release_id: str) -> Release | None:
        return next((r for r in self.releases if r.id == release_id), None)

    def current(self) -> Release | None:
        return next((r for r in self.releases if r.status == "current"), None)

    def rollback_target(self) -> Release | None:
        """The release that served before the current one was deployed, if it is still good;
        else the newest good release deployed before the current one (never a bad one). A
        release redeployed after a rollback thus goes back to what served meanwhile."""
        cur = self.current()
        before = self.get(cur.previous) if cur is not None and cur.previous else None
        if before is not None and before.status == "good":
            return before
        older = [r for r in self.releases if r.status == "good" and (cur is None or r.id < cur.id)]
        return older[-1] if older else None

    # -- changing (each returns a new Ledger) --------------------------------------------------
    def add(self, release: Release) -> Ledger:
        """Record a new release (replacing an entry with the same id)."""
        others = [r for r in self.releases if r.id != release.id]
        return Ledger(tuple(sorted([*others, release], key=lambda r: r.id)))

    def make_current(self, release_id: str, *, deployed: bool = False) -> Ledger:
        """Mark one release current; the previously current one becomes good (and, when a
        deploy made it current, *deployed*, its ``previous``)."""
        if self.get(release_id) is None:
            raise KeyError(release_id)
        cur = self.current()
        prev = {"previous": cur.id} if deployed and cur is not None and cur.id != release_id else {}
        return Ledger(
            tuple(
                replace(r, status="current", **prev)
                if r.id == release_id
                else replace(r, status="good")
                if r.status == "current"
                else r
                for r in self.releases
            )
        )

    def mark_bad(self, release_id: str, note: str = "") -> Ledger:
        """Mark a release bad so rollback never picks it (it must not be current)."""
        rel = self.get(release_id)
        if rel is None:
            raise KeyError(release_id)
        if rel.status == "current":
            raise ValueError(f"release {release_id} is serving; cannot mark it bad")
        return self.add(replace(rel, status="bad", note=note))

    def without(self, release_ids: set[str]) -> Ledger:
        return Ledger(tuple(r for r in self.releases if r.id not in release_ids))


def retention(dir_ids: list[str], ledger: Ledger, keep: int = DEFAULT_KEEP) -> list[str]:
    """Release directories to delete so that ``keep`` remain.

    Always kept: the current release and the rollback target. The rest of the budget goes to
    the newest directories (ids sort by deploy time). Unknown names are never touched.
    """
    if keep < 2:
        raise ValueError("keep must be at least 2 (current and the rollback target)")
    ids = sorted(i for i in set(dir_ids) if _is_release_id(i))
    pinned = {r.id for r in (ledger.current(), ledger.rollback_target()) if r is not None}
    pinned &= set(ids)
    kept = set(pinned)
    for rid in reversed(ids):
        if len(kept) >= keep:
            break
        kept.add(rid)
    return [i for i in ids if i not in kept]


def _is_release_id(name: str) -> bool:
    try:
        check_release_id(name)
    except ValueError:
        return False
    return True
