"""Sandbox timings: cold image build, and warm host-ready time (median of 5). Needs root.

Runs in a private lab (DEPLOYER_SANDBOX_LAB=9 unless set) so it never disturbs running hosts.
Usage: sudo .venv/bin/python bench/sandbox_bench.py [--skip-cold]
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("DEPLOYER_SANDBOX_LAB", "9")

from deployer.sandbox import config, down, image, up  # after the lab choice


def cold_build() -> float:
    """Build the base image from nothing into a throwaway cache; seconds."""
    saved = config.CACHE_DIR
    with tempfile.TemporaryDirectory(dir=saved.parent if saved.parent.is_dir() else None) as tmp:
        config.CACHE_DIR = Path(tmp)
        try:
            start = time.perf_counter()
            image.ensure()
            return time.perf_counter() - start
        finally:
            config.CACHE_DIR = saved


def warm_ready(rounds: int = 5, snapshot: str | None = None) -> list[float]:
    """Seconds from `up` to SSH answering, for `rounds` new hosts on a warm image and lab."""
    up(["bench-warmup"], snapshot=snapshot)  # image unpacked, lab started: not measured
    times = []
    try:
        for n in range(rounds):
            start = time.perf_counter()
            up([f"bench-{n}"], snapshot=snapshot)
            times.append(time.perf_counter() - start)
            down([f"bench-{n}"])
    finally:
        down(all=True)
    return times


def main() -> None:
    if "--skip-cold" not in sys.argv:
        print(f"image build (cold): {cold_build():.1f} s")
    fresh = warm_ready()
    print(
        f"host ready (warm, base image): median {statistics.median(fresh):.2f} s "
        f"of {len(fresh)} ({', '.join(f'{t:.2f}' for t in fresh)})"
    )
    prov = warm_ready(snapshot="provisioned")
    print(
        f"host ready (warm, provisioned snapshot): median {statistics.median(prov):.2f} s "
        f"of {len(prov)} ({', '.join(f'{t:.2f}' for t in prov)})"
    )


if __name__ == "__main__":
    main()
