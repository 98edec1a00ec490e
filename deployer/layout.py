"""Where one app lives on a host: every path bootstrap and releases use, in one place.

    /srv/<app>/releases/<id>/        one directory (and venv) per release
    /srv/<app>/current               -> the serving release (for humans)
    /srv/<app>/shared/.env           settings and secrets (0600, app user)
    /srv/<app>/shared/data/          the app's writable data (e.g. SQLite)
    /srv/<app>/state/                releases.json, audit.log, deploy.lock/, artifacts/<sha>.tar
    /run/deployer/<app>/<id>/web.sock  each running release's socket (gone when it stops)
    /var/lib/deployer/<app>/serving.sock -> the serving release's socket (nginx connects here)

Reached as ``target.layout``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

from deployer.names import check_app, check_release_id, check_sha256


@dataclass(frozen=True)
class Layout:
    """Paths of one app on a host: /srv/<app>/{releases,current,shared,state}."""

    app: str = "app"

    def __post_init__(self) -> None:
        check_app(self.app)

    @property
    def root(self) -> PurePosixPath:
        """The app's directory (also the app user's home)."""
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
    def shared(self) -> PurePosixPath:
        return self.root / "shared"

    @property
    def env_file(self) -> PurePosixPath:
        return self.shared / ".env"

    @property
    def data(self) -> PurePosixPath:
        return self.shared / "data"

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

    @property
    def artifacts(self) -> PurePosixPath:
        """Uploaded artifacts are kept on the host (for promotion), one per retained release."""
        return self.state / "artifacts"

    def artifact(self, sha256: str) -> PurePosixPath:
        return self.artifacts / f"{check_sha256(sha256)}.tar"

    def runtime_directory(self, instance: str = "%i") -> str:
        """A release's directory under /run, as its unit's ``RuntimeDirectory=`` names it:
        *instance* a release id, or the unit's own ``%i``."""
        return f"deployer/{self.app}/{instance}"

    def socket(self, release_id: str = "") -> PurePosixPath:
        """The unix socket a release's instance listens on, in its runtime directory (no
        *release_id*: as its unit spells it, with ``%i``)."""
        instance = check_release_id(release_id) if release_id else "%i"
        return PurePosixPath("/run") / self.runtime_directory(instance) / "web.sock"

    @property
    def serving_socket(self) -> PurePosixPath:
        """The symlink nginx connects through: renamed atomically to switch traffic (on disk,
        root's: it survives a reboot, and the app user cannot move it)."""
        return PurePosixPath("/var/lib/deployer") / self.app / "serving.sock"

    def release_of_socket(self, target: str) -> str:
        """The release id a ``serving_socket`` link target names ('' if it names none)."""
        head, tail = str(self.socket()).split("%i")
        return _release_between(target, head, tail)

    WARM_SUFFIX = ".timer"

    @property
    def warm_prefix(self) -> str:
        """How the names of the app's warm-window timers begin (``warm_timer``)."""
        return f"deployer-{self.app}-warm-"

    def warm_timer(self, release_id: str) -> str:
        """The transient timer that stops a warm release when its window ends."""
        return f"{self.warm_prefix}{check_release_id(release_id)}{self.WARM_SUFFIX}"

    def release_of_warm_timer(self, name: str) -> str:
        """The release id a ``warm_timer`` name carries ('' if it is not one)."""
        return _release_between(name, self.warm_prefix, self.WARM_SUFFIX)

    def unit(self, release_id: str) -> str:
        """The systemd instance running one release: ``<app>@<id>.service``."""
        return f"{self.app}@{check_release_id(release_id)}.service"

    def release_of_unit(self, unit: str) -> str:
        """The release id of a ``unit`` name ('' if it is not one of this app's releases)."""
        return _release_between(unit, f"{self.app}@", ".service")


def _release_between(text: str, prefix: str, suffix: str) -> str:
    """The release id *text* holds between *prefix* and *suffix* ('' if it holds none)."""
    if not text.startswith(prefix) or not text.endswith(suffix):
        return ""
    try:
        return check_release_id(text[len(prefix) : len(text) - len(suffix)])
    except ValueError:
        return ""
