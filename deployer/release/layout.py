"""Where releases live on a host (the binding layout from the contracts), and release ids."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePosixPath

APP_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
RELEASE_ID = re.compile(r"^[0-9]{8}T[0-9]{6}-[0-9a-f]{16}$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")


def check_app(app: str) -> str:
    """Return ``app`` if it is a valid app name, else raise ValueError."""
    if not APP_NAME.fullmatch(app):
        raise ValueError(f"invalid app name {app!r}: expected ^[a-z][a-z0-9-]{{0,30}}$")
    return app


def check_release_id(release_id: str) -> str:
    """Return ``release_id`` if it has our shape (``YYYYmmddTHHMMSS-<16 hex>``), else raise."""
    if not RELEASE_ID.fullmatch(release_id):
        raise ValueError(f"invalid release id {release_id!r}")
    return release_id


def new_release_id(sha256: str, now: datetime | None = None) -> str:
    """A sortable id: UTC deploy time plus the artifact's short hash (``Artifact.short``)."""
    if not SHA256.fullmatch(sha256):
        raise ValueError(f"invalid artifact sha256 {sha256!r}")
    now = now or datetime.now(UTC)
    return f"{now.astimezone(UTC):%Y%m%dT%H%M%S}-{sha256[:16]}"


@dataclass(frozen=True)
class Layout:
    """Paths of one app on a host: /srv/<app>/{releases,shared,state,current}."""

    app: str = "app"

    def __post_init__(self) -> None:
        check_app(self.app)

    @property
    def root(self) -> PurePosixPath:
        return PurePosixPath("/srv") / self.app

    @property
    def releases(self) -> PurePosixPath:
        return self.root / "releases"

    def release(self, release_id: str) -> PurePosixPath:
        return self.releases / check_release_id(release_id)

    @property
    def current(self) -> PurePosixPath:
        return self.root / "current"

    @property
    def state(self) -> PurePosixPath:
        return self.root / "state"

    @property
    def ledger(self) -> PurePosixPath:
        return self.state / "releases.json"

    @property
    def audit_log(self) -> PurePosixPath:
        return self.state / "audit.log"

    @property
    def lock_dir(self) -> PurePosixPath:
        return self.state / "deploy.lock"

    def unit(self, release_id: str) -> str:
        """The systemd instance running one release: ``<app>@<id>.service``."""
        return f"{self.app}@{check_release_id(release_id)}.service"
