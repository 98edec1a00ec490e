"""The base image: a minimal Debian built with mmdebstrap, prepared like a fresh cloud VM, cached.

The mirror comes from the outer machine's own apt sources file (read at build time), so no mirror
host is written into the project. The cache key covers every input of the build.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path

from deployer.sandbox import config, layers
from deployer.sandbox.proc import run

INCLUDE = (
    "systemd", "systemd-sysv", "openssh-server", "dbus", "sudo", "python3", "ca-certificates",
)
#: Timers and units that would fight tests for the dpkg lock or a console.
MASKED_UNITS = (
    "apt-daily.timer",
    "apt-daily-upgrade.timer",
    "dpkg-db-backup.timer",
    "fstrim.timer",
    "e2scrub_all.timer",
    "e2scrub_reap.service",
    "getty@.service",
    "console-getty.service",
    "serial-getty@.service",
)
SSHD_CONFIG = """\
# deployer sandbox: key-only logins, as on a cloud VM
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
"""
PREPARE_VERSION = "4"  # bump when prepare() changes
LOCAL_CA_DIR = Path("/usr/local/share/ca-certificates")


def apt_sources_file() -> Path:
    """The outer machine's deb822 sources file, or its sources.list."""
    deb822 = Path("/etc/apt/sources.list.d/debian.sources")
    if deb822.is_file():
        return deb822
    return Path("/etc/apt/sources.list")


def local_cas() -> list[Path]:
    """CA certificates the outer machine trusts locally (e.g. an HTTPS-intercepting proxy)."""
    return sorted(LOCAL_CA_DIR.glob("**/*.crt")) if LOCAL_CA_DIR.is_dir() else []


def mmdebstrap_argv(root: Path, sources: Path) -> list[str]:
    """The mmdebstrap command building a minimal root filesystem into `root`."""
    return [
        "mmdebstrap",
        "--mode=root",
        "--variant=minbase",
        "--quiet",
        f"--include={','.join(INCLUDE)}",
        config.SUITE,
        str(root),
        str(sources),
    ]


def cache_key(sources: Path, cas: list[Path]) -> str:
    """A digest of everything the image depends on."""
    digest = hashlib.sha256()
    for part in (config.SUITE, ",".join(INCLUDE), ",".join(MASKED_UNITS), SSHD_CONFIG):
        digest.update(part.encode() + b"\0")
    digest.update(PREPARE_VERSION.encode() + config.LOGIN_USER.encode())
    digest.update(sources.read_bytes())
    for ca in cas:
        digest.update(ca.name.encode() + ca.read_bytes())
    return digest.hexdigest()[:16]


def image_path(key: str) -> Path:
    return config.CACHE_DIR / "images" / f"base-{key}.tar.zst"


def prepare(root: Path, cas: list[Path]) -> None:
    """Turn a fresh minbase tree into a cloud-VM-like image (user, sshd, masks, CAs)."""
    user = config.LOGIN_USER
    run(["chroot", str(root), "useradd", "-m", "-s", "/bin/bash", "-G", "sudo", user])
    run(["chroot", str(root), "usermod", "-p", "*", user])
    sudoers = root / "etc/sudoers.d" / f"90-{user}"
    sudoers.write_text(f"{user} ALL=(ALL) NOPASSWD:ALL\n")
    sudoers.chmod(0o440)
    (root / "etc/ssh/sshd_config.d/10-deployer.conf").write_text(SSHD_CONFIG)
    for key in (root / "etc/ssh").glob("ssh_host_*"):
        key.unlink()  # regenerated per host
    (root / "etc/machine-id").write_text("")
    (root / "var/lib/dbus/machine-id").unlink(missing_ok=True)
    run(["systemctl", f"--root={root}", "mask", *MASKED_UNITS])
    if cas:
        target = root / "usr/local/share/ca-certificates/deployer-outer"
        target.mkdir(parents=True, exist_ok=True)
        for ca in cas:
            shutil.copyfile(ca, target / ca.name)
        run(["chroot", str(root), "update-ca-certificates"])
    for path in (root / "var/cache/apt/archives").glob("*.deb"):
        path.unlink()
    shutil.rmtree(root / "var/lib/apt/lists", ignore_errors=True)
    (root / "var/lib/apt/lists/partial").mkdir(parents=True)


def build(key: str, sources: Path, cas: list[Path]) -> Path:
    """Build the image for `key` and store it in the cache; returns its path."""
    out = image_path(key)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix="build-") as tmp:
        root = Path(tmp) / "root"
        run(mmdebstrap_argv(root, sources))
        prepare(root, cas)
        partial = Path(tmp) / "image.tar.zst"
        run(["tar", "--numeric-owner", "--xattrs", "-I", "zstd -T0 -3", "-C", str(root),
             "-cf", str(partial), "."])
        layers.store(partial, out)
    return out


def ensure() -> Path:
    """The cached image for the current inputs, built first when missing."""
    sources, cas = apt_sources_file(), local_cas()
    key = cache_key(sources, cas)
    path = image_path(key)
    return path if path.is_file() else build(key, sources, cas)
