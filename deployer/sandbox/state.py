"""On-disk state: one JSON file per host and one for the lab, a lock, and session leases.

Everything a later process needs to list or stop what an earlier one started lives here.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path

from deployer.sandbox import config
from deployer.sandbox.proc import start_time


def hosts_dir() -> Path:
    return config.STATE_DIR / "hosts"


def host_file(name: str) -> Path:
    return hosts_dir() / f"{name}.json"


def lab_file() -> Path:
    return config.STATE_DIR / "lab.json"


def logs_dir() -> Path:
    return config.STATE_DIR / "logs"


def fs_dir() -> Path:
    """Mount point of the sandbox's tmpfs (unpacked layers, per-host overlays)."""
    return config.STATE_DIR / "fs"


def read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def write(path: Path, data: dict) -> None:
    """Write JSON atomically (rename over the old file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True))
    tmp.replace(path)


def host_records() -> list[dict]:
    folder = hosts_dir()
    if not folder.is_dir():
        return []
    records = (read(p) for p in sorted(folder.glob("*.json")))
    return [r for r in records if r]


@contextlib.contextmanager
def locked() -> Iterator[None]:
    """Serialize sandbox changes across processes (an flock on STATE_DIR/lock)."""
    config.STATE_DIR.mkdir(parents=True, exist_ok=True, mode=0o755)
    with (config.STATE_DIR / "lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _lease_dir() -> Path:
    return config.STATE_DIR / "leases"


def take_lease() -> Path:
    """Mark this process as a user of the lab (a pytest session), so others keep it running."""
    pid = os.getpid()
    path = _lease_dir() / f"{pid}-{start_time(pid)}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    return path


def live_leases(exclude: Path | None = None) -> list[Path]:
    """Leases whose process still runs; stale ones are removed."""
    folder = _lease_dir()
    if not folder.is_dir():
        return []
    alive = []
    for path in folder.iterdir():
        pid, _, started = path.name.partition("-")
        if path == exclude:
            continue
        if pid.isdigit() and str(start_time(int(pid))) == started:
            alive.append(path)
        else:
            path.unlink(missing_ok=True)
    return alive
