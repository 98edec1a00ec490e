"""Find anything of ours still present: processes, mounts, network namespaces, cgroups."""

from __future__ import annotations

from pathlib import Path

from deployer.sandbox import cgroups, config, layers, network


def processes() -> list[str]:
    """Processes whose command line names our state dir, our namespaces or our cgroups' PIDs."""
    marks = (f"{config.STATE_DIR}/", f"{network.NETNS_DIR / config.PREFIX}-")
    in_groups = set().union(*(cgroups.pids(g) for g in cgroups.ours())) if cgroups.ours() else set()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if int(entry.name) in in_groups or any(mark in argv for mark in marks):
            found.append(f"pid {entry.name}: {argv.strip()[:120]}")
    return found


def find() -> list[str]:
    """Every leftover, one human-readable line each (empty when clean)."""
    found = processes()
    found += [f"mount {p}" for p in layers.our_mounts()]
    found += [f"netns {n}" for n in network.ours()]
    found += [f"cgroup {g}" for g in cgroups.ours()]
    return found
