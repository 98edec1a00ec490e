"""Build the "provisioned" snapshot layer: a base host with PROVISIONED_PACKAGES installed.

The layer is the overlay upper dir of a host that installed the packages and halted, minus the
files that must stay per host (SSH host keys, hostname, login key, logs), tarred into the cache.
"""

from __future__ import annotations

import shlex
import shutil
import tempfile
from pathlib import Path

from deployer.sandbox import hosts, layers
from deployer.sandbox.proc import Proc, run, stop

BUILDER = "snapshot-builder"
PER_HOST = ("etc/ssh/ssh_host_*", "etc/hostname", "etc/hosts", "home/*/.ssh",
            "var/log/journal", "var/cache/apt/*.bin", "var/cache/apt/archives/*.deb",
            "var/cache/debconf/*-old", "etc/machine-id", "etc/pip.conf",
            "etc/apt/apt.conf.d/80deployer-proxy")


def install_command(packages: list[str]) -> str:
    """The shell command the builder host runs (as root through sudo)."""
    pkgs = " ".join(shlex.quote(p) for p in packages)
    inner = ("apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "
             f"--no-install-recommends {pkgs} && apt-get clean")
    return f"sudo sh -c {shlex.quote(inner)}"


def scrub(upper: Path) -> None:
    """Remove per-host files from a halted host's upper dir."""
    for pattern in PER_HOST:
        for path in upper.glob(pattern):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()


def build(key: str, base: Path, index: int, packages: list[str]) -> Path:
    """Boot a builder host on `base`, install `packages`, halt it, store its upper dir."""
    out = layers.snapshot_path(key)
    out.parent.mkdir(parents=True, exist_ok=True)
    host = hosts.boot(BUILDER, index, [base], snapshot=None)
    try:
        host.ssh(install_command(packages), timeout=900)
        for proc in (Proc(**p) for p in host.procs if p["name"] == "nspawn"):
            stop(proc, timeout=30)
        upper = layers.host_dir(BUILDER) / "upper"
        scrub(upper)
        with tempfile.TemporaryDirectory(dir=out.parent, prefix="build-") as tmp:
            partial = Path(tmp) / "layer.tar.zst"
            run(["tar", "--numeric-owner", "--xattrs", "--xattrs-include=*", "-I", "zstd -T0 -3",
                 "-C", str(upper), "-cf", str(partial), "."])
            layers.store(partial, out)
    finally:
        hosts.teardown(host.to_dict())
    return out
