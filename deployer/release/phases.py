"""The named phases of a deploy and a rollback, and which of them are gated.

A deploy is lock → upload → install → migrate → start → health → switch → drain → record →
cleanup → unlock. Phases up to and including ``switch`` are *gated*: a failure there means
traffic never moved (or was moved back by the undo), so the previous release is still serving.
They run as units of ``deployer.engine`` (see ``lifecycle.Run``).
"""

from __future__ import annotations

from collections.abc import Collection

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
GATED = frozenset(
    {"lock", "upload", "install", "migrate", "start", "health", "pre_switch", "switch"}
)
HOOKS = ("pre_switch", "post_switch", "post_rollback")  # deployer.toml: app.hooks


def with_hooks(phases: tuple[str, ...], action: str, hooks: Collection[str]) -> tuple[str, ...]:
    """*phases* with the configured hooks in place: ``pre_switch`` right before the switch
    (a deploy only; failing it fails the deploy), ``post_switch`` / ``post_rollback`` last
    before the unlock (the release already serves)."""
    out = list(phases)
    if action == "deploy" and "pre_switch" in hooks:
        out.insert(out.index("switch"), "pre_switch")
    post = "post_switch" if action == "deploy" else "post_rollback"
    if post in hooks:
        out.insert(out.index("unlock"), post)
    return tuple(out)
