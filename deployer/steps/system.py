"""Host preparation steps: wait for boot-time package managers, packages, user, directories."""

from __future__ import annotations

import shlex

from deployer.steps.base import Change, Context, Step

DPKG_TIMEOUT = 600


def wanted_packages(firewall: bool) -> list[str]:
    pkgs = ["nginx", "certbot", "python3-venv"]
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


class Wait(Step):
    """Fresh cloud VMs run cloud-init and unattended-upgrades at boot: wait for them."""

    name = "wait"

    def check(self, ctx: Context) -> list[Change]:
        busy = ctx.facts.lines("busy")
        if busy and not ctx.dry_run:
            ctx.remote.sh(wait_script(), what="wait for cloud-init and the dpkg lock")
            self.detail = f"waited for {', '.join(sorted(set(busy)))}"
            if ctx.refresh:
                ctx.refresh()
        return []


FIRST = ("python3-venv",)  # what the app install needs; the rest installs meanwhile


class Packages(Step):
    """nginx, certbot, python3-venv (and nftables). python3-venv goes first; the others install
    in the background while the app's venv is built (joined before nginx is configured)."""

    name = "packages"

    def check(self, ctx: Context) -> list[Change]:
        missing = [p for p in wanted_packages(ctx.target.firewall) if p not in ctx.facts.packages]
        return [Change(f"install {' '.join(missing)}")] if missing else []

    def apply(self, ctx: Context, changes: list[Change]) -> str:
        missing = changes[0].summary.split()[1:]
        first = [p for p in missing if p in FIRST]
        rest = [p for p in missing if p not in FIRST]
        if first or not ctx.parallel:
            now = missing if not ctx.parallel else first
            ctx.remote.sh(apt_install_script(now), what="apt-get install")
            rest = [p for p in rest if p not in now]
            if not rest:
                ctx.refresh_facts()
                return ""
        script = apt_install_script(rest, update=not first)
        ctx.in_background("apt-get install " + " ".join(rest), script)
        return f"{' '.join(rest)}: installing in the background"


def useradd_argv(app: str) -> list[str]:
    return [
        "useradd", "--system", "--user-group", "--no-create-home",
        "--home-dir", f"/srv/{app}", "--shell", "/usr/sbin/nologin", app,
    ]  # fmt: skip


class User(Step):
    """An unprivileged system user named after the app, without a login shell."""

    name = "user"

    def check(self, ctx: Context) -> list[Change]:
        return [] if ctx.facts.get("user") else [Change(f"create system user {ctx.app}")]

    def apply(self, ctx: Context, changes: list[Change]) -> str:
        ctx.remote.run(useradd_argv(ctx.app), sudo=True, what="useradd")
        return ""


def wanted_dirs(app: str) -> list[tuple[str, str, str, str]]:
    """(path, mode, owner, group) of every directory bootstrap manages."""
    root = f"/srv/{app}"
    return [
        (root, "755", "root", "root"),
        (f"{root}/releases", "755", "root", "root"),
        (f"{root}/shared", "750", "root", app),
        (f"{root}/shared/data", "750", app, app),
        (f"{root}/state", "750", "root", "root"),
        ("/etc/nginx/deployer", "755", "root", "root"),
        ("/etc/deployer", "755", "root", "root"),
        ("/var/www/deployer-acme", "755", "root", "root"),
        ("/var/cache/deployer/pip", "700", "root", "root"),
    ]


def install_dirs_script(dirs: list[tuple[str, str, str, str]]) -> str:
    q = shlex.quote
    return "set -e; " + "; ".join(
        f"install -d -m {mode} -o {q(owner)} -g {q(group)} {q(path)}"
        for path, mode, owner, group in dirs
    )


class Dirs(Step):
    name = "dirs"

    def check(self, ctx: Context) -> list[Change]:
        stats = ctx.facts.stats
        return [
            Change(f"directory {mode} {owner}:{group} {path}")
            for path, mode, owner, group in wanted_dirs(ctx.app)
            if stats.get(path) != (mode, owner, group)
        ]

    def apply(self, ctx: Context, changes: list[Change]) -> str:
        want = {c.summary.split()[-1] for c in changes}
        dirs = [d for d in wanted_dirs(ctx.app) if d[0] in want]
        ctx.remote.sh(install_dirs_script(dirs), what="create directories")
        return ""
