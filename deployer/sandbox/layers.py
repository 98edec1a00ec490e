"""Filesystem layers: the unpacked base image and snapshot layers on tmpfs, per-host overlays.

`PROVISIONED_PACKAGES` defines the "provisioned" snapshot: a base host with these apt packages
installed, kept as a cached overlay layer keyed on the list and the base image.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from deployer.sandbox import config, state
from deployer.sandbox.proc import run

PROVISIONED_PACKAGES = ["nginx", "python3-venv", "certbot", "python3-certbot-nginx", "nftables"]
SNAPSHOTS = ("provisioned",)


def snapshot_key(base_key: str, packages: list[str] = PROVISIONED_PACKAGES) -> str:
    digest = hashlib.sha256(f"{base_key}\0{' '.join(sorted(packages))}\0v1".encode())
    return digest.hexdigest()[:16]


def snapshot_path(key: str) -> Path:
    return config.CACHE_DIR / "layers" / f"provisioned-{key}.tar.zst"


def store(partial: Path, out: Path) -> Path:
    """Move a finished archive into the cache, dropping older archives of the same kind."""
    partial.replace(out)
    kind = out.name.split("-", 1)[0]
    for old in out.parent.glob(f"{kind}-*.tar.zst"):
        if old != out:
            old.unlink(missing_ok=True)
    return out


def is_mounted(path: Path) -> bool:
    target = str(path.resolve()) if path.exists() else str(path)
    return any(line.split()[1] == target for line in Path("/proc/mounts").read_text().splitlines())


def our_mounts() -> list[str]:
    """Mount points under the state directory, deepest first."""
    root = str(config.STATE_DIR)
    points = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    return sorted((p for p in points if p == root or p.startswith(root + "/")), reverse=True)


def mount_tmpfs() -> Path:
    fs = state.fs_dir()
    fs.mkdir(parents=True, exist_ok=True)
    if not is_mounted(fs):
        run(["mount", "-t", "tmpfs", "-o", "mode=0755", f"{config.PREFIX}-fs", str(fs)])
    return fs


def unmount(path: Path) -> None:
    if is_mounted(path):
        run(["umount", str(path)], check=False)
    if is_mounted(path):
        run(["umount", "-l", str(path)])


def unpack(archive: Path) -> Path:
    """Unpack `archive` once onto the tmpfs; returns the directory (a lower layer)."""
    dest = mount_tmpfs() / "lower" / archive.name.removesuffix(".tar.zst")
    marker = dest.with_name(dest.name + ".complete")  # beside the tree, invisible to hosts
    if marker.exists():
        return dest
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    run(["tar", "--numeric-owner", "--xattrs", "--xattrs-include=*", "-I", "zstd", "-xpf",
         str(archive), "-C", str(dest)])
    marker.touch()
    return dest


def overlay_argv(lowers: list[Path], upper: Path, work: Path, target: Path) -> list[str]:
    """mount(8) argv for an overlay; `lowers` are listed top-most first."""
    lower = ":".join(str(p) for p in lowers)
    return ["mount", "-t", "overlay", "overlay", "-o",
            f"lowerdir={lower},upperdir={upper},workdir={work}", str(target)]


def host_dir(name: str) -> Path:
    return state.fs_dir() / "hosts" / name


def mount_host_root(name: str, lowers: list[Path]) -> Path:
    """A fresh writable root for host `name` stacked on `lowers`."""
    base = host_dir(name)
    shutil.rmtree(base, ignore_errors=True)
    upper, work, root = base / "upper", base / "work", base / "root"
    for path in (upper, work, root):
        path.mkdir(parents=True)
    run(overlay_argv(lowers, upper, work, root))
    return root


def unmount_host_root(name: str) -> None:
    base = host_dir(name)
    unmount(base / "root")
    shutil.rmtree(base, ignore_errors=True)
