"""Prerequisite checks: root, Linux, commands, cgroups. One clear message with the fix."""

from __future__ import annotations

import os
import platform
import shlex
import shutil
import sys
from dataclasses import dataclass

from deployer.sandbox import config
from deployer.sandbox.errors import SandboxError

#: command -> Debian package providing it
COMMANDS = {
    "mmdebstrap": "mmdebstrap",
    "systemd-nspawn": "systemd-container",
    "systemd-socket-activate": "systemd",
    "pebble": "pebble",
    "pebble-challtestsrv": "pebble",
    "tinyproxy": "tinyproxy-bin",
    "openssl": "openssl",
    "ip": "iproute2",
    "nsenter": "util-linux",
    "zstd": "zstd",
    "ssh": "openssh-client",
    "ssh-keygen": "openssh-client",
    "haproxy": "haproxy",  # the lab load balancer
    "certbot": "certbot",  # its certificate, from the sandbox ACME server
    "curl": "curl",
}
PROXYD = "/lib/systemd/systemd-socket-proxyd"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str | None = None


def install_fix(packages: list[str]) -> str:
    return ("sudo apt-get install -y --no-install-recommends " + " ".join(sorted(set(packages))))


def _as_root_command() -> str:
    """This very command line, prefixed with sudo (a script is run through this Python)."""
    argv = list(sys.argv) or ["deployer", "sandbox", "up"]
    if argv[0].endswith(".py") or argv[0] in ("-c", "-m", ""):
        argv = [sys.executable, *argv] if argv[0].endswith(".py") else [sys.executable, "..."]
    return "sudo " + shlex.join(argv)


def checks() -> list[Check]:
    """Every prerequisite, each with the command that fixes it when it fails."""
    result = [Check("linux", platform.system() == "Linux", platform.system(),
                    "run the sandbox on a Linux machine (a Debian/Ubuntu VM works)")]
    result.append(Check("root", os.geteuid() == 0, f"euid {os.geteuid()}",
                        _as_root_command()))
    missing = sorted({pkg for cmd, pkg in COMMANDS.items() if shutil.which(cmd) is None})
    if not os.path.exists(PROXYD):
        missing.append("systemd")
    result.append(Check("commands", not missing, "missing packages: " + " ".join(missing)
                        if missing else "all present", install_fix(missing) if missing else None))
    cgroup_ok = any(root.is_dir() for root in config.CGROUP_ROOTS)
    result.append(Check("cgroups", cgroup_ok, "/sys/fs/cgroup/{systemd,unified}",
                        "mount a cgroup2 hierarchy at /sys/fs/cgroup/unified"))
    return result


def require() -> None:
    """Raise one SandboxError listing every failed check and the command that fixes it."""
    failed = [c for c in checks() if not c.ok]
    if failed:
        lines = "; ".join(f"{c.name}: {c.detail}" for c in failed)
        fixes = " && ".join(c.fix for c in failed if c.fix)
        raise SandboxError(f"sandbox prerequisites missing: {lines}", fix=fixes or None)
