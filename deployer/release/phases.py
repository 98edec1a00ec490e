"""The named phases of a deploy and a rollback, and which of them are gated.

A deploy is lock → upload → install → migrate → start → health → switch → drain → record →
cleanup → unlock. Phases up to and including ``switch`` are *gated*: a failure there means
traffic never moved (or was moved back by the undo), so the previous release is still serving.
They run as units of ``deployer.engine`` (see ``lifecycle.Run``).
"""

from __future__ import annotations

DEPLOY_PHASES = (
    "lock",
    "upload",
    "install",
    "migrate",
    "start",
    "health",
    "switch",
    "drain",
    "record",
    "cleanup",
    "unlock",
)
ROLLBACK_PHASES = ("lock", "start", "health", "switch", "drain", "record", "unlock")
GATED = frozenset({"lock", "upload", "install", "migrate", "start", "health", "switch"})
