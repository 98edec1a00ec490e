"""What every command shares: the exit codes and the one guard that maps errors onto them.

Exit codes, for every command:

    0  ok (also a no-op)
    1  the command ran and found problems (`plan`: policy violations; `sandbox doctor`)
    2  bad input (nothing was touched)
    3  connection: the host could not be reached, its key was refused, the sandbox did not start
    4  a step or phase failed (a failed deploy leaves the previous release serving)
    5  refused (deploy lock held, unhealthy promotion source, confirmation declined)
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from enum import IntEnum
from pathlib import Path
from typing import Any

import typer


class Code(IntEnum):
    OK = 0
    FINDINGS = 1
    INPUT = 2
    CONNECT = 3
    FAILED = 4
    REFUSED = 5


# (module, exception, exit code, label). A module that is not imported yet cannot have raised
# its error, so the guard only looks at loaded modules and never imports Fabric to classify.
ERRORS = (
    ("deployer.target", "TargetError", Code.INPUT, "invalid input"),
    ("deployer.project", "ProjectError", Code.INPUT, "invalid input"),  # ArtifactError too
    ("deployer.remote", "RemoteError", Code.CONNECT, "connection failed"),
    ("deployer.sandbox.errors", "SandboxError", Code.CONNECT, "sandbox error"),
    ("deployer.release.lock", "LockHeld", Code.REFUSED, "refused"),
    ("deployer.release.promote", "PromotionRefused", Code.REFUSED, "refused"),
)


def classify(exc: BaseException) -> tuple[Code, str] | None:
    """The exit code and label for an error the commands expect, else None."""
    for module, name, code, label in ERRORS:
        mod = sys.modules.get(module)
        if mod is not None and isinstance(exc, getattr(mod, name)):
            return code, label
    return None


def fail(code: Code, message: str) -> typer.Exit:
    """Print *message* on stderr (red) and return the Exit to raise."""
    typer.secho(message, fg="red", err=True)
    return typer.Exit(code)


def guard(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a command: expected errors become one clean line on stderr and their exit code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            known = classify(exc)
            if known is None:
                raise
            code, label = known
            raise fail(code, f"{label}: {exc}") from None

    return wrapper


ARTIFACTS = Path("~/.cache/deployer/artifacts")


def build_artifact(t):  # (Target) -> Artifact
    """Build (or reuse) the content-addressed artifact of the target's project, checking every
    file the app names is in it (``ProjectError`` naming the file, before any connection)."""
    from deployer.artifact import app_artifact

    return app_artifact(t.app, ARTIFACTS.expanduser())
