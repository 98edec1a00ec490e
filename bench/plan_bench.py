"""Time `deployer plan` for every example stack (offline, mock engine); prints seconds.

Default: all stacks in ONE process (what a test session or a loop over stacks pays: each provider
SDK is imported once). ``--parallel``: one process per cloud (dev + prod), all at once.
``--subprocess``: each stack in a fresh `python -m deployer plan` process, one after another
(what one CLI call pays). Provider SDK imports dominate; without bytecode (PYTHONDONTWRITEBYTECODE,
pip --no-compile) run `python -m deployer.plan.precompile` once first.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def stacks(only: str = "") -> list[str]:
    found = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in ROOT.glob("Pulumi.*.yaml"))
    return [s for s in found if not only or s in only.split(",")]


def bytecode_present() -> bool:
    site = Path(sysconfig.get_paths()["purelib"])
    return any((site / "pulumi_aws" / "ec2" / "__pycache__").glob("_inputs.*.pyc"))


def in_process(only: str = "") -> float:
    start = time.perf_counter()
    cpu = time.process_time()
    from deployer.plan import plan_stack

    print(f"{'stack':<20} {'resources':>9} {'violations':>10} {'seconds':>8}")
    for stack in stacks(only):
        t = time.perf_counter()
        plan = plan_stack(stack, ROOT)
        elapsed = time.perf_counter() - t
        print(
            f"{stack:<20} {len(plan.run.resources):>9} {len(plan.violations):>10} {elapsed:>8.2f}"
        )
    total = time.perf_counter() - start
    print(
        f"total (one process, imports included): {total:.2f} s wall, "
        f"{time.process_time() - cpu:.2f} s CPU"
    )
    return total


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def subprocesses() -> float:
    start = time.perf_counter()
    for stack in stacks():
        t, cpu = time.perf_counter(), _children_cpu()
        result = subprocess.run(
            [sys.executable, "-m", "deployer", "plan", stack, "--json", "--root", str(ROOT)],
            capture_output=True,
            check=False,
        )
        wall, used = time.perf_counter() - t, _children_cpu() - cpu
        print(f"{stack:<20} exit {result.returncode} {wall:>6.2f} s wall {used:>6.2f} s CPU")
    total = time.perf_counter() - start
    print(f"total (one process per stack): {total:.2f} s wall, {_children_cpu():.2f} s CPU")
    return total


def parallel() -> float:
    start = time.perf_counter()
    clouds = sorted({stack.rsplit("-", 1)[0] for stack in stacks()})
    jobs = [
        subprocess.Popen(
            [sys.executable, __file__, "--only", ",".join(s for s in stacks() if s.startswith(c))],
            stdout=subprocess.PIPE,
            text=True,
        )
        for c in clouds
    ]
    for job in jobs:
        out, _ = job.communicate()
        print("\n".join(line for line in out.splitlines()[2:] if not line.startswith("total")))
    total = time.perf_counter() - start
    print(f"total (one process per cloud, in parallel): {total:.2f} s wall")
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subprocess", action="store_true", help="one process per stack")
    parser.add_argument("--parallel", action="store_true", help="one process per cloud, at once")
    parser.add_argument("--only", default="", help="comma-separated stacks (default: all)")
    args = parser.parse_args()
    print(f"SDK bytecode present: {bytecode_present()}; target: all stacks <= 3 s")
    if args.subprocess:
        subprocesses()
    elif args.parallel:
        parallel()
    else:
        in_process(args.only)


if __name__ == "__main__":
    main()
