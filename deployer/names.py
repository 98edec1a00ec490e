"""Names, patterns and contract values shared by `deployer` and the Pulumi programs in `stacks/`.

The lowest layer: it imports nothing from either package, so both can use it. Each pattern is
anchored; each ``check_*`` returns its (normalised) value or raises ValueError naming it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime

APP_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")  # also the system user and the unit's prefix
RELEASE_ID = re.compile(r"^[0-9]{8}T[0-9]{6}-[0-9a-f]{16}$")  # UTC time + 16 hex of the sha256
SHA256 = re.compile(r"^[0-9a-f]{64}$")
LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"  # one DNS label (a regex fragment)
DOMAIN = re.compile(rf"^(?=.{{1,253}}$)(?:{LABEL}\.)+[a-z]{{2,63}}$")
_STACK = r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}"
STACK = re.compile(rf"^{_STACK}$")  # as in Pulumi.<stack>.yaml
QUALIFIED_STACK = re.compile(rf"^(?:{_STACK}/){{0,2}}{_STACK}$")  # [org/[project/]]stack
ROLE = re.compile(r"^[a-z][a-z0-9]{0,15}$")  # a process role beside web (`processes`)
JOB = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
CALENDAR = re.compile(r"^[A-Za-z0-9 :*/,.~-]{1,100}$")  # systemd.time(7); checked on the host
ROLE_COMMAND = re.compile(r"^[A-Za-z0-9 ._/:=,@+-]+$")  # no shell, no $ or % (systemd expands)
# Seconds a replaced instance keeps finishing its requests: nginx's old workers after a switch,
# and a load balancer's deregistration delay (stacks) for a leaving server.
DRAIN_TIMEOUT = 30
# A container image pinned by digest (never a tag).
IMAGE_BY_DIGEST = re.compile(r"^[a-z0-9.-]+(:[0-9]+)?/[a-z0-9._/-]+@sha256:[0-9a-f]{64}$")
# A relative path inside the project, as `deployer package` names it (hash in the name).
PACKAGE_PATH = re.compile(r"^(?!/)(?!.*(^|/)\.\.(/|$))[A-Za-z0-9._/-]+\.zip$")


def check_app(app: str) -> str:
    """Return ``app`` if it is a valid app name, else raise ValueError."""
    if not APP_NAME.fullmatch(app):
        raise ValueError(f"invalid app name {app!r}: expected {APP_NAME.pattern}")
    return app


def check_release_id(release_id: str) -> str:
    """Return ``release_id`` if it has our shape (``YYYYmmddTHHMMSS-<16 hex>``), else raise."""
    if not RELEASE_ID.fullmatch(release_id):
        raise ValueError(f"invalid release id {release_id!r}")
    return release_id


def check_sha256(sha256: str) -> str:
    """Return ``sha256`` if it is 64 lower-case hex digits, else raise ValueError."""
    if not SHA256.fullmatch(sha256):
        raise ValueError(f"invalid artifact sha256 {sha256!r}")
    return sha256


def new_release_id(sha256: str, now: datetime | None = None) -> str:
    """A sortable id: UTC deploy time plus the artifact's short hash (``Artifact.short``)."""
    check_sha256(sha256)
    now = now or datetime.now(UTC)
    return f"{now.astimezone(UTC):%Y%m%dT%H%M%S}-{sha256[:16]}"


def check_domain(value: str) -> str:
    """A lower-case DNS name of at least two labels, ending in a top-level name of letters."""
    name = value.lower().rstrip(".")
    if not DOMAIN.fullmatch(name):
        raise ValueError(f"not a valid domain name: {value!r}")
    return name


def check_role(role: str, command: str) -> None:
    """A process role's name and command (``processes = { worker = "python -m app.worker" }``)."""
    if not ROLE.fullmatch(role) or role == "web":
        raise ValueError(f"invalid process role {role!r}: ^[a-z][a-z0-9]{{0,15}}$, not web")
    if not ROLE_COMMAND.fullmatch(command) or not command.strip():
        raise ValueError(
            f"process {role}: the command may only use letters, digits, spaces and ._/:=,@+-"
        )


def check_stack(stack: str, *, qualified: bool = False) -> str:
    """A stack name (``qualified``: ``[org/[project/]]stack``, as ``pulumi --stack`` takes)."""
    if not (QUALIFIED_STACK if qualified else STACK).fullmatch(stack):
        raise ValueError(f"invalid stack name {stack!r} (letters, digits, . _ -)")
    return stack


def check_job(name: str, job: Mapping[str, str]) -> None:
    """A scheduled job (``schedule = { nightly = { cmd = "...", on = "daily" } }``)."""
    if not JOB.fullmatch(name):
        raise ValueError(f"invalid job name {name!r}: expected ^[a-z][a-z0-9-]{{0,30}}$")
    if set(job) != {"cmd", "on"}:
        raise ValueError(f"schedule.{name}: expected exactly cmd and on")
    if not ROLE_COMMAND.fullmatch(job["cmd"]) or not job["cmd"].strip():
        raise ValueError(f"schedule.{name}.cmd: only letters, digits, spaces and ._/:=,@+-")
    if not CALENDAR.fullmatch(job["on"]):
        raise ValueError(f"schedule.{name}.on: not a systemd calendar expression")
