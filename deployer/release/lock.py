"""The deploy lock: an atomic ``mkdir`` of state/deploy.lock/ holding who/when/what/message.

``mkdir`` either creates the directory or fails, in one system call, so two deploys started at
once cannot both win (a check-then-write lock can). The holder's details are written to a temp
file and renamed into place, so a refused deploy reads them whole. Each holder carries a random
token; releasing removes the lock only if the token still matches (a forced unlock followed by
someone else's deploy is never undone by the first holder finishing late).
"""

from __future__ import annotations

import getpass
import json
import secrets
import shlex
import socket
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import PurePosixPath

HELD_EXIT = 75  # EX_TEMPFAIL: the lock is held by someone else


def whoami() -> str:
    """``user@machine`` of the person running deployer (shown to others and in the audit log)."""
    return f"{getpass.getuser()}@{socket.gethostname()}"


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class LockInfo:
    """Who holds the lock, since when, for what, and why."""

    who: str
    what: str
    message: str = ""
    when: str = field(default_factory=now_iso)
    token: str = field(default_factory=lambda: secrets.token_hex(8))

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> LockInfo:
        """Parse a holder record; a missing or damaged one becomes an 'unknown' holder."""
        try:
            data = json.loads(text)
            return cls(**{k: str(data[k]) for k in ("who", "what", "message", "when", "token")})
        except (ValueError, KeyError, TypeError):
            return cls(who="unknown", what="unknown", message="lock record unreadable", when="?")

    def describe(self) -> str:
        text = f"{self.who} since {self.when}: {self.what}"
        return f"{text} ({self.message})" if self.message else text


class LockHeld(RuntimeError):
    """Raised when someone else holds the deploy lock."""

    def __init__(self, holder: LockInfo) -> None:
        super().__init__(f"deploy lock held by {holder.describe()}")
        self.holder = holder


# The SSH session a script runs in: its nearest ancestor named sshd*, as "PID STARTTIME" (empty
# when there is none). A lock whose holder's session is gone (the connection was cut) is stale.
SESSION = (
    "session() { p=$$; while [ \"$p\" -gt 1 ] 2>/dev/null; do "
    'case "$(cat /proc/$p/comm 2>/dev/null)" in sshd*) '
    "echo \"$p $(sed 's/.*) //' /proc/$p/stat | cut -d' ' -f20)\"; return;; esac; "
    "p=$(sed 's/.*) //' /proc/$p/stat 2>/dev/null | cut -d' ' -f2); done; }; "
    "alive() { [ -z \"$1\" ] || [ \"$(sed 's/.*) //' /proc/$1/stat 2>/dev/null "
    "| cut -d' ' -f20)\" = \"$2\" ]; }; "
)


def acquire_script(lock_dir: PurePosixPath, info: LockInfo) -> str:
    """Shell script: take the lock (print 'acquired') or print the holder and exit 75.

    A lock left by a holder whose SSH session is gone (a cut connection) is taken over once:
    renamed aside (one rename wins), checked to still be that stale lock, removed."""
    lock = shlex.quote(str(lock_dir))
    record = shlex.quote(info.to_json())
    take = (
        f"mkdir -- {lock} 2>/dev/null && {{ session > {lock}/session; "
        f"printf '%s\\n' {record} > {lock}/info.tmp && mv -f {lock}/info.tmp {lock}/info.json"
        f" && echo acquired; }}"
    )
    stale = (
        f"read -r sp ss < {lock}/session 2>/dev/null; "
        f'if [ -n "$sp" ] && ! alive "$sp" "$ss" && mv -T {lock} {lock}.stale.$$ 2>/dev/null; '
        f'then if [ "$(cat {lock}.stale.$$/session)" = "$sp $ss" ]; '
        f"then rm -rf -- {lock}.stale.$$; else mv -T {lock}.stale.$$ {lock}; fi; fi"
    )
    return (
        f"umask 077; {SESSION}mkdir -p -- {shlex.quote(str(lock_dir.parent))} && "
        f"if {take}; then :; "
        f"elif {stale}; {take}; then :; "
        f"else i=0; while [ ! -s {lock}/info.json ] && [ $i -lt 20 ]; do sleep 0.1; i=$((i+1));"
        f" done; cat {lock}/info.json 2>/dev/null; exit {HELD_EXIT}; fi"
    )


def release_script(lock_dir: PurePosixPath, token: str) -> str:
    """Shell script: remove the lock only if it still carries our token."""
    lock = shlex.quote(str(lock_dir))
    return (
        f"if grep -qF -- {shlex.quote(token)} {lock}/info.json 2>/dev/null; "
        f"then rm -rf -- {lock}; fi"
    )


def read_script(lock_dir: PurePosixPath) -> str:
    """Shell script: print the holder record, or nothing when unlocked."""
    return f"cat -- {shlex.quote(str(lock_dir))}/info.json 2>/dev/null || true"


def force_unlock_script(lock_dir: PurePosixPath) -> str:
    """Shell script: print the holder record (if any), then remove the lock."""
    lock = shlex.quote(str(lock_dir))
    return f"cat -- {lock}/info.json 2>/dev/null; rm -rf -- {lock}"


def parse_holder(stdout: str) -> LockInfo | None:
    """The holder record from a read script's output (None when unlocked)."""
    text = stdout.strip()
    return LockInfo.from_json(text.splitlines()[-1]) if text else None
