"""Host preparation steps: wait for boot-time package managers, packages, user, directories."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import ClassVar

from deployer.engine import Change
from deployer.layout import Layout
from deployer.steps.base import Context, Step

DPKG_TIMEOUT = 600


def wanted_packages(firewall: bool) -> list[str]:
    pkgs = ["nginx", "certbot"]  # the app's venv needs only python3: uv builds it
    return [*pkgs, "nftables"] if firewall else pkgs


def wait_script(timeout: int = DPKG_TIMEOUT) -> str:
    """Block until cloud-init is done and nobody holds the dpkg locks (or *timeout* passes)."""
    return (
        "command -v cloud-init >/dev/null && cloud-init status --wait >/dev/null 2>&1; "
        f"end=$(( $(date +%s) + {int(timeout)} )); "
        "while :; do busy=; for f in /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock; do "
        'i=$(stat -c %i "$f" 2>/dev/null) && grep -q ":$i " /proc/locks && busy=1; done; '
        '[ -z "$busy" ] && exit 0; [ "$(date +%s)" -ge "$end" ] && '
        "{ echo 'dpkg lock still held' >&2; exit 1; }; sleep 0.5; done"
    )


def apt_install_script(packages: list[str], *, update: bool = True) -> str:
    """apt-get [update +] install, non-interactive, waiting for the dpkg lock if it is taken.

    ``dpkg --configure -a`` first finishes an install an earlier, interrupted run left behind.
    """
    opts = f"-o DPkg::Lock::Timeout={DPKG_TIMEOUT} -o Dpkg::Use-Pty=0"
    pkgs = " ".join(shlex.quote(p) for p in packages)
    return (
        "set -e; export DEBIAN_FRONTEND=noninteractive; "
        + ("dpkg --configure -a; " if update else "")
        + (f"apt-get {opts} -qq update; " if update else "")
        + f"apt-get {opts} -qq install -y --no-install-recommends {pkgs}"
    )


@dataclass(frozen=True)
class WaitFor(Change):
    """Boot-time package managers hold the host: wait for them (changes nothing)."""

    kind: ClassVar[str] = "wait"
    acts: ClassVar[bool] = False
    holders: tuple[str, ...]

    @property
    def summary(self) -> str:
        return f"wait for {', '.join(self.holders)}"


@dataclass(frozen=True)
class InstallPackages(Change):
    kind: ClassVar[str] = "packages"
    names: tuple[str, ...]
    background: bool = False  # installs while later steps run; joined before nginx
    update: bool = True  # apt-get update first (once per run)

    @property
    def summary(self) -> str:
        return f"install {' '.join(self.names)}" + (" in the background" if self.background else "")


class Wait(Step):
    """Fresh cloud VMs run cloud-init and unattended-upgrades at boot: wait for them."""

    name = "wait"

    def check(self, ctx: Context) -> list[Change]:
        busy = tuple(sorted(set(ctx.facts.lines("busy"))))
        return [WaitFor(busy)] if busy else []

    def apply(self, ctx: Context, changes: list[Change]) -> str:
        ctx.remote.sh(wait_script(), what="wait for cloud-init and the dpkg lock")
        ctx.refresh_facts()
        (wait,) = changes
        return f"waited for {', '.join(wait.holders)}"


FIRST: tuple[str, ...] = ()  # what the app install needs first (nothing: uv); the rest meanwhile


def package_changes(wanted: list[str], installed: set[str]) -> list[Change]:
    """What the app's install needs now (FIRST); the rest in the background, joined before
    nginx is configured (so apt overlaps the app's install)."""
    missing = [p for p in wanted if p not in installed]
    now = tuple(p for p in missing if p in FIRST)
    later = tuple(p for p in missing if p not in FIRST)
    changes: list[Change] = [InstallPackages(now)] if now else []
    if later:
        changes.append(InstallPackages(later, background=True, update=not now))
    return changes


class Packages(Step):
    """nginx and certbot (and nftables): none needed by the app's venv (uv)."""

    name = "packages"

    def check(self, ctx: Context) -> list[Change]:
        return package_changes(wanted_packages(ctx.target.firewall), ctx.facts.packages)

    def apply(self, ctx: Context, changes: list[Change]) -> str:
        for change in changes:
            assert isinstance(change, InstallPackages)
            script = apt_install_script(list(change.names), update=change.update)
            what = "apt-get install " + " ".join(change.names)
            if change.background:
                ctx.in_background(self.name, [change], script, what)
            else:
                ctx.remote.sh(script, what=what)
        if not ctx.background:  # else the join re-reads them
            ctx.refresh_facts()
        return ""


def useradd_argv(app: str) -> list[str]:
    return [
        "useradd", "--system", "--user-group", "--no-create-home",
        "--home-dir", str(Layout(app).root), "--shell", "/usr/sbin/nologin", app,
    ]  # fmt: skip


@dataclass(frozen=True)
class CreateUser(Change):
    kind: ClassVar[str] = "user"
    name: str

    @property
    def summary(self) -> str:
        return f"create system user {self.name}"


class User(Step):
    """An unprivileged system user named after the app, without a login shell."""

    name = "user"

    def check(self, ctx: Context) -> list[Change]:
        return [] if ctx.facts.get("user") else [CreateUser(ctx.app)]

    def apply(self, ctx: Context, changes: list[Change]) -> str:
        ctx.remote.run(useradd_argv(ctx.app), sudo=True, what="useradd")
        return ""


def wanted_dirs(app: str) -> list[tuple[str, str, str, str]]:
    """(path, mode, owner, group) of every directory bootstrap manages."""
    lay = Layout(app)
    return [
        (str(lay.root), "755", "root", "root"),
        (str(lay.releases), "755", "root", "root"),
        (str(lay.shared), "750", "root", app),
        (str(lay.data), "750", app, app),
        (str(lay.state), "750", "root", "root"),
        ("/etc/nginx/deployer", "755", "root", "root"),
        ("/etc/nginx/deployer/tls", "750", "root", "www-data"),
        ("/etc/deployer", "755", "root", "root"),
        ("/var/www/deployer-acme", "755", "root", "root"),
        ("/var/cache/deployer/uv", "700", "root", "root"),
    ]


def install_dirs_script(dirs: list[tuple[str, str, str, str]]) -> str:
    q = shlex.quote
    return "set -e; " + "; ".join(
        f"install -d -m {mode} -o {q(owner)} -g {q(group)} {q(path)}"
        for path, mode, owner, group in dirs
    )


@dataclass(frozen=True)
class MakeDir(Change):
    kind: ClassVar[str] = "directory"
    path: str
    mode: str
    owner: str
    group: str

    @property
    def summary(self) -> str:
        return f"directory {self.mode} {self.owner}:{self.group} {self.path}"


class Dirs(Step):
    name = "dirs"

    def check(self, ctx: Context) -> list[Change]:
        stats = ctx.facts.stats
        return [
            MakeDir(path, mode, owner, group)
            for path, mode, owner, group in wanted_dirs(ctx.app)
            if stats.get(path) != (mode, owner, group)
        ]

    def apply(self, ctx: Context, changes: list[Change]) -> str:
        dirs = [(c.path, c.mode, c.owner, c.group) for c in changes if isinstance(c, MakeDir)]
        ctx.remote.sh(install_dirs_script(dirs), what="create directories")
        return ""
