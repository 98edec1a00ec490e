"""Release state on a host, read in one round trip and written atomically.

Reads: the ledger, the lock holder, the release directories, the ``current`` link, the serving
socket's link, the running instances and the warm ones. Writes: the ledger (atomic replace),
audit lines (append), the lock (lock.py).
Every command is built here from validated values; ``remote`` is a connected ``Remote``.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING

from deployer.layout import Layout
from deployer.release import audit, lock
from deployer.release.ledger import Ledger

if TYPE_CHECKING:
    from deployer.remote import Remote

SEP = "----deployer-section----"
STATE_SECTIONS = 7


@dataclass(frozen=True)
class HostState:
    """What the host says about releases right now."""

    ledger: Ledger
    holder: lock.LockInfo | None
    release_dirs: tuple[str, ...]
    current_link: str  # release id the ``current`` symlink points at ('' if none)
    serving: str  # release id the serving socket's link names ('' if none)
    active_units: tuple[str, ...] = ()  # running <app>@<id>.service instances
    warm: tuple[str, ...] = ()  # releases kept running without traffic (their window open)


def read_script(layout: Layout) -> str:
    """One shell script printing every section, separated by SEP lines."""
    q = shlex.quote
    parts = [
        f"cat -- {q(str(layout.ledger))} 2>/dev/null",
        f"cat -- {q(str(layout.lock_dir))}/info.json 2>/dev/null",
        f"ls -1 -- {q(str(layout.releases))} 2>/dev/null",
        f"readlink -- {q(str(layout.current))} 2>/dev/null",
        f"readlink -- {q(str(layout.serving_socket))} 2>/dev/null",
        f"systemctl list-units --plain --no-legend --state=active {q(layout.app + '@*.service')}"
        " | cut -d' ' -f1",
        f"systemctl list-units --plain --no-legend --state=active "
        f"{q(f'{layout.warm_prefix}*{layout.WARM_SUFFIX}')} | cut -d' ' -f1",
    ]
    return f"; echo {SEP}; ".join(parts) + "; true"


def parse_state(stdout: str, layout: Layout) -> HostState:
    sections = [*stdout.split(SEP + "\n"), *[""] * STATE_SECTIONS][:STATE_SECTIONS]
    ledger_text, lock_text, dirs, link, serving, units, timers = sections
    return HostState(
        ledger=Ledger.from_json(ledger_text),
        holder=lock.parse_holder(lock_text),
        release_dirs=tuple(line for line in dirs.split() if line),
        current_link=link.strip().rstrip("/").rsplit("/", 1)[-1],
        serving=layout.release_of_socket(serving.strip()),
        active_units=tuple(units.split()),
        warm=tuple(r for r in map(layout.release_of_warm_timer, timers.split()) if r),
    )


def read_state(remote: Remote, layout: Layout) -> HostState:
    return parse_state(remote.sh(read_script(layout), what="read release state").stdout, layout)


def write_ledger(
    remote: Remote,
    layout: Layout,
    ledger: Ledger,
    entry: audit.AuditEntry | None = None,
    *,
    then: str = "",
) -> None:
    """Atomically replace releases.json (the state directory exists since bootstrap), and
    append ``entry`` to the audit log and run the script ``then`` in the same round trip."""
    from deployer.shell import write_file_script

    script = write_file_script(str(layout.ledger), "0640", "root", "root")
    if entry is not None:
        script += f"; {audit.append_script(layout.audit_log, entry)}"
    if then:
        script += f"; {then}"
    remote.sh(script, stdin=ledger.to_json().encode(), what="write releases.json")


def append_audit(remote: Remote, layout: Layout, entry: audit.AuditEntry) -> None:
    remote.sh(audit.append_script(layout.audit_log, entry), what="append audit log")


def acquire_lock(remote: Remote, layout: Layout, info: lock.LockInfo) -> HostState:
    """Take the deploy lock and read the state in the same round trip; raise LockHeld naming
    the holder if someone else has it."""
    script = f"{lock.acquire_script(layout.lock_dir, info)}; echo {SEP}; {read_script(layout)}"
    res = remote.sh(script, check=False, what="take lock")
    head, _, rest = res.stdout.partition(SEP + "\n")
    if res.code == lock.HELD_EXIT:
        raise lock.LockHeld(lock.parse_holder(head) or lock.LockInfo.from_json(""))
    if res.code != 0 or "acquired" not in head:
        from deployer.remote import CommandError

        raise CommandError("take deploy lock", res.code, res.stderr, res.stdout)
    return parse_state(rest, layout)


def release_lock(remote: Remote, layout: Layout, info: lock.LockInfo) -> None:
    remote.sh(lock.release_script(layout.lock_dir, info.token), what="release lock")


def force_unlock(remote: Remote, layout: Layout) -> lock.LockInfo | None:
    """Remove the lock whoever holds it; return the holder it had."""
    res = remote.sh(lock.force_unlock_script(layout.lock_dir), what="unlock")
    return lock.parse_holder(res.stdout)
