"""cgroups for the sandbox: each nspawn runs in its own, lab services share one.

systemd-nspawn started from the root cgroup creates /payload and /supervisor at the top of the
hierarchy, so a second container would collide: every container gets its own group first.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

from deployer.sandbox import config


def group_name(label: str) -> str:
    return f"{config.PREFIX}-{label}"


def paths(label: str, roots: tuple[Path, ...] = config.CGROUP_ROOTS) -> list[Path]:
    return [root / group_name(label) for root in roots if root.is_dir()]


def create(label: str, roots: tuple[Path, ...] = config.CGROUP_ROOTS) -> list[Path]:
    groups = paths(label, roots)
    for group in groups:
        group.mkdir(exist_ok=True)
    return groups


def pids(group: Path) -> set[int]:
    """Every PID in `group` and its descendants."""
    found: set[int] = set()
    for folder, _dirs, files in os.walk(group):
        if "cgroup.procs" in files:
            text = Path(folder, "cgroup.procs").read_text()
            found.update(int(p) for p in text.split())
    return found


def kill_all(group: Path, timeout: float = 5.0) -> None:
    """SIGKILL whatever is left in `group` (used only after a polite stop failed or crashed)."""
    deadline = time.monotonic() + timeout
    while (left := pids(group)) and time.monotonic() < deadline:
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)


def remove(group: Path) -> None:
    """rmdir `group` and its children, deepest first; it must hold no process."""
    if not group.is_dir():
        return
    for folder, _dirs, _files in sorted(os.walk(group), key=lambda w: -len(w[0])):
        try:
            Path(folder).rmdir()
        except OSError:
            time.sleep(0.1)
            Path(folder).rmdir()


def ours() -> list[Path]:
    """Every cgroup of ours, in every hierarchy."""
    found: list[Path] = []
    for root in config.CGROUP_ROOTS:
        if root.is_dir():
            found += sorted(p for p in root.iterdir() if p.name.startswith(config.PREFIX + "-"))
    return found
