"""Time planning every example stack offline (mock engine, imports included); prints seconds.

Default: two fresh processes plan all stacks, one after another in each. The first the way
``deployer plan --all`` does (garbage collector paused), the second with the collector running,
as a baseline; per-stack times and the ratio are printed. ``--cli``: wall time of one
``deployer plan --all --json`` process, start-up included. ``--subprocess``: one fresh
``deployer plan STACK`` process per stack (what separate CLI calls pay).
Provider SDK imports dominate; without bytecode (PYTHONDONTWRITEBYTECODE, pip --no-compile) run
``python -m deployer.plan.precompile`` once first.
"""

from __future__ import annotations

import argparse
import contextlib
import resource
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = 3.0


def bytecode_present() -> bool:
    site = Path(sysconfig.get_paths()["purelib"])
    return any((site / "pulumi_aws" / "ec2" / "__pycache__").glob("_inputs.*.pyc"))


def worker(collecting: bool) -> None:
    """Plan every stack in this process; print a row per stack."""
    from deployer.plan import plan_stack
    from deployer.plan.engine import gc_paused
    from deployer.stack_config import stack_names

    with contextlib.nullcontext() if collecting else gc_paused():  # as `deployer plan` does
        for stack in stack_names(ROOT):
            t = time.perf_counter()
            plan = plan_stack(stack, ROOT)
            print(
                f"{stack:<20} {len(plan.run.resources):>9} {len(plan.violations):>10} "
                f"{time.perf_counter() - t:>8.2f}"
            )


def run_worker(collecting: bool) -> tuple[list[str], float]:
    """Rows of a fresh worker process and its wall time, start-up and exit included."""
    flag = "--collecting" if collecting else "--paused"
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, __file__, flag], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    return out, time.perf_counter() - start


def compare() -> None:
    rows, paused = run_worker(collecting=False)
    _, collecting = run_worker(collecting=True)
    print(f"{'stack':<20} {'resources':>9} {'violations':>10} {'seconds':>8}")
    print("\n".join(rows))
    print(
        f"all {len(rows)} stacks, one process, start-up to exit: {paused:.2f} s "
        f"(target <= {TARGET:.0f} s)"
    )
    print(
        f"baseline with the garbage collector running: {collecting:.2f} s "
        f"-> {collecting / paused:.2f}x"
    )


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cli(*args: str) -> tuple[int, float, float]:
    """Run ``deployer plan ARGS`` in a fresh process: (exit code, wall s, CPU s)."""
    t, cpu = time.perf_counter(), _children_cpu()
    result = subprocess.run(
        [sys.executable, "-m", "deployer", "plan", *args, "--json", "--root", str(ROOT)],
        capture_output=True,
        check=False,
    )
    return result.returncode, time.perf_counter() - t, _children_cpu() - cpu


def one_cli_call() -> None:
    code, wall, cpu = cli("--all")
    print(
        f"deployer plan --all: exit {code}, {wall:.2f} s wall, {cpu:.2f} s CPU "
        f"(target <= {TARGET:.0f} s)"
    )


def cli_per_stack() -> None:
    from deployer.stack_config import stack_names

    total = 0.0
    for stack in stack_names(ROOT):
        code, wall, cpu = cli(stack)
        total += wall
        print(f"{stack:<20} exit {code} {wall:>6.2f} s wall {cpu:>6.2f} s CPU")
    print(f"total (one process per stack): {total:.2f} s wall")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--cli", action="store_true", help="one `deployer plan --all` process")
    mode.add_argument("--subprocess", action="store_true", help="one process per stack")
    mode.add_argument("--paused", action="store_true", help=argparse.SUPPRESS)
    mode.add_argument("--collecting", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.paused or args.collecting:
        worker(collecting=args.collecting)
        return
    print(f"SDK bytecode present: {bytecode_present()}")
    if args.cli:
        one_cli_call()
    elif args.subprocess:
        cli_per_stack()
    else:
        compare()


if __name__ == "__main__":
    main()
