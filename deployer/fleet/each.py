"""One short piece of work on every host of a fleet at once (at most ``width`` at a time), one
SSH connection each: the day-two commands that are not releases (``env list``,
``maintenance on|off``, the fence around a fleet's restore). A host that cannot be reached, or
whose command fails, answers with its error; the others are not held up by it."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from deployer.remote import CommandError, Remote, RemoteError

if TYPE_CHECKING:
    from deployer.fleet.roll import Member


@dataclass(frozen=True)
class Answer:
    """What one host's work returned, or why it did not (``error``, one line)."""

    name: str
    value: Any = None
    error: str = ""


def on_each(members: list[Member], work: Callable[[Remote, Member], Any], width: int = 16
            ) -> list[Answer]:
    """``work(remote, member)`` on every member, ``width`` at a time; answers in the members'
    order."""

    def one(member: Member) -> Answer:
        try:
            with Remote(member.target) as remote:
                return Answer(member.name, work(remote, member))
        except (RemoteError, CommandError) as exc:
            lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
            return Answer(member.name, error=": ".join(lines) or type(exc).__name__)

    if not members:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(width, len(members)))) as pool:
        return list(pool.map(one, members))
