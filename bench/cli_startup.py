"""Benchmark: how fast `deployer --help` starts, beside a bare interpreter start in the same run.

Target (issue 2): <= 0.3 s, i.e. no cloud SDK or SSH library imported until a command needs it.
Run: .venv/bin/python bench/cli_startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

DEPLOYER = Path(sys.executable).with_name("deployer")


def median_seconds(argv: list[str], runs: int) -> float:
    """Median wall time of `runs` executions of argv (output discarded)."""
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    bare = median_seconds([sys.executable, "-c", "pass"], args.runs)
    helped = median_seconds([str(DEPLOYER), "--help"], args.runs)
    print(f"python -c pass      median {bare:.3f} s")
    ratio = helped / bare
    print(f"deployer --help     median {helped:.3f} s  ({ratio:.1f}x bare; target <= 0.300 s)")


if __name__ == "__main__":
    main()
