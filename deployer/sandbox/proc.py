"""Run commands and manage the long-lived processes the sandbox starts (tracked by PID)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from deployer.sandbox.errors import SandboxError


def run(argv: Sequence[str], *, input: str | None = None, check: bool = True) -> str:
    """Run `argv`, return its stdout; on failure raise with the tail of stderr."""
    proc = subprocess.run(list(argv), input=input, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-8:])
        raise SandboxError(f"command failed ({proc.returncode}): {' '.join(argv)}\n{tail}")
    return proc.stdout


def start_time(pid: int) -> int | None:
    """The kernel start time of `pid` (field 22 of /proc/PID/stat); None if gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return None if fields[0] in ("Z", "X") else int(fields[19])


@dataclass(frozen=True)
class Proc:
    """A process we started, identified by PID and start time (guards against PID reuse)."""

    pid: int
    started: int
    name: str = ""

    def alive(self) -> bool:
        return start_time(self.pid) == self.started

    def to_dict(self) -> dict:
        return asdict(self)


def spawn(
    argv: Sequence[str],
    log: Path,
    *,
    name: str = "",
    env: dict[str, str] | None = None,
    cgroups: Sequence[Path] = (),
) -> Proc:
    """Start `argv` detached (own session), output to `log`; optionally inside `cgroups`."""

    def enter_cgroups() -> None:
        for group in cgroups:
            (group / "cgroup.procs").write_text(str(os.getpid()))

    for pid in list(_REAPABLE):  # collect children that others already stopped
        _reap(pid)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        child = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, **(env or {})},
            preexec_fn=enter_cgroups if cgroups else None,
        )
    started = start_time(child.pid)
    if started is None:
        raise SandboxError(f"{name or argv[0]} exited at once; see {log}")
    _REAPABLE[child.pid] = child
    return Proc(child.pid, started, name)


_REAPABLE: dict[int, subprocess.Popen] = {}


def _reap(pid: int) -> None:
    """Collect the exit status of a child that has ended (no zombie left behind)."""
    child = _REAPABLE.get(pid)
    if child is not None and child.poll() is not None:
        del _REAPABLE[pid]


def stop(proc: Proc, timeout: float = 10.0) -> None:
    """SIGTERM `proc`, wait up to `timeout`, then SIGKILL; no-op when it is already gone."""
    if not proc.alive():
        _reap(proc.pid)
        return
    os.kill(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        child = _REAPABLE.get(proc.pid)
        if child is not None and child.poll() is not None:
            _REAPABLE.pop(proc.pid, None)
            return
        if not proc.alive():
            return
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    child = _REAPABLE.pop(proc.pid, None)
    if child is not None:
        child.wait(5)


def wait_until(check, timeout: float, what: str, interval: float = 0.05) -> None:
    """Poll `check()` until true; raise a SandboxError naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval)
    raise SandboxError(f"timed out after {timeout:.0f}s waiting for {what}")
