"""uv on the host: the installer that builds every release's venv, one pinned version.

uv is a PyPI wheel holding one static binary. This machine downloads the wheel once (pip, into
``~/.cache/deployer/uv``) and sends it to a host that lacks it, which unpacks the binary to
``/opt/deployer/uv-<version>/uv``: no pip, no venv and no download on the host's critical path.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from deployer.remote import Remote

UV_VERSION = "0.13.9"
UV_DIR = f"/opt/deployer/uv-{UV_VERSION}"
UV = f"{UV_DIR}/uv"
PLATFORMS = {"x86_64": "manylinux_2_17_x86_64", "aarch64": "manylinux_2_17_aarch64"}


class UvError(RuntimeError):
    """The uv wheel for the host cannot be had."""


def cache_dir() -> Path:
    return Path("~/.cache/deployer/uv").expanduser()


def local_wheel(machine: str, cache: Path | None = None) -> Path:
    """The uv wheel for a host of architecture *machine* (``uname -m``), downloaded once."""
    platform = PLATFORMS.get(machine)
    if platform is None:
        raise UvError(f"no uv wheel for host architecture {machine!r}")
    cache = cache or cache_dir()
    found = sorted(cache.glob(f"uv-{UV_VERSION}-*{platform}*.whl"))
    if found:
        return found[0]
    cache.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [
            sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
            "--no-deps", "--only-binary=:all:", "--platform", platform, "--dest", str(cache),
            f"uv=={UV_VERSION}",
        ],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    found = sorted(cache.glob(f"uv-{UV_VERSION}-*{platform}*.whl"))
    if proc.returncode != 0 or not found:
        raise UvError(f"pip download uv=={UV_VERSION} failed: {proc.stderr.strip()[-300:]}")
    return found[0]


def unpack_script() -> str:
    """Run as root with the wheel on stdin: unpack its uv binary into UV_DIR."""
    member = f"uv-{UV_VERSION}.data/scripts/uv"
    extract = (
        "import io, sys, zipfile; "
        f"z = zipfile.ZipFile(io.BytesIO(sys.stdin.buffer.read())); "
        f"open(sys.argv[1], 'wb').write(z.read({member!r}))"
    )
    d, uv = shlex.quote(UV_DIR), shlex.quote(UV)
    return (
        f"set -e; mkdir -p {d}; tmp=$(mktemp {d}/.uv.XXXXXX); "
        f'python3 -c {shlex.quote(extract)} "$tmp"; chmod 0755 "$tmp"; mv -f "$tmp" {uv}'
    )


def ensure_uv(remote: Remote) -> None:
    """Give the host uv (this version) unless it has it: one round trip when it does."""
    probe = f"uname -m; test -x {shlex.quote(UV)} && echo present || true"
    out = remote.sh(probe, what="look for uv").stdout.split()
    if "present" in out:
        return
    wheel = local_wheel(out[0] if out else "x86_64")
    remote.sh(unpack_script(), stdin=wheel.read_bytes(), what=f"install uv {UV_VERSION}")
