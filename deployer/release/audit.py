"""The audit log on the host (state/audit.log): one JSON line per deploy, rollback, promotion
or unlock, only ever appended to (``>>``, O_APPEND)."""

from __future__ import annotations

import json
import shlex
from dataclasses import asdict, dataclass, field
from pathlib import PurePosixPath

from deployer.release.lock import now_iso, whoami

ACTIONS = (
    "deploy", "rollback", "promote", "unlock", "noop",
    "exec", "env", "maintenance", "backup", "restore",
)  # fmt: skip


@dataclass(frozen=True)
class AuditEntry:
    """One line of the audit log."""

    action: str
    result: str  # "ok" | "failed" | "refused" | "started"
    release: str = ""
    sha256: str = ""
    version: str = ""
    detail: str = ""
    who: str = field(default_factory=whoami)
    time: str = field(default_factory=now_iso)

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"unknown audit action {self.action!r}")

    def to_line(self) -> str:
        """One line of JSON (newlines inside values are escaped by json)."""
        return json.dumps(asdict(self), sort_keys=True)


def append_script(log: PurePosixPath, entry: AuditEntry) -> str:
    """Shell script appending one entry; the log is created 0640 on first use."""
    path = shlex.quote(str(log))
    return f"umask 027; printf '%s\\n' {shlex.quote(entry.to_line())} >> {path}"


def parse(text: str) -> list[AuditEntry]:
    """Entries from the log's text (damaged lines are skipped)."""
    entries = []
    known = set(AuditEntry.__dataclass_fields__)
    for line in text.splitlines():
        try:
            data = json.loads(line)
            entries.append(AuditEntry(**{k: v for k, v in data.items() if k in known}))
        except (ValueError, TypeError):
            continue
    return entries
