"""Fleet benchmark: how a rolling deploy's time grows with the fleet, 1, 2 and 4 hosts behind the
lab load balancer, all measured in the same run.

    sudo .venv/bin/python bench/fleet_bench.py [--batch 50%] [--canary] [--workers 2] [--show]

Boots four provisioned sandbox hosts behind one lab load balancer, bootstraps v1 on all four in
parallel and deploys v2 to all four (warms every host's caches). Then deploys a new version to a
fleet of 1 host, of 2 and of 4 (the first N hosts), each with ``--batch`` (default 50%, no canary
batch unless --canary) and prints each wall-clock time (the whole CLI run) and its ratio to the
one-host deploy. Target (issue 12): 4 hosts at batch 50% <= 1.6 x one host. Not run by the tests.
``--show`` prints each deploy's phases with their times (where the fleet's time goes). The
sandbox hosts share this machine's CPUs: their installs and the boots of the new release run on
the same cores, which a real fleet's hosts do not; each line also prints how long a host took
from starting the new release to its health answer, against the one-host deploy's, which shows
that contention, and how busy the machine's cores were during it (near 100%: the deploy is
bound by this machine's CPUs, not by the roll's order).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NAMES = ["fb1", "fb2", "fb3", "fb4"]
LB = "fbench"


def version_copy(root: Path, version: str) -> Path:
    src = root / f"v{version}" / "app"
    shutil.copytree(REPO / "app", src, ignore=shutil.ignore_patterns("__pycache__", "*.db"))
    (src / "VERSION").write_text(version + "\n")
    return src.parent  # the project: only its app/ ships (the stage's include)


SHOW = False  # --show: print each deploy's output (its phases, with their times)


def cpu_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine so far (/proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return sum(fields) - idle, sum(fields)


def cli(config: Path, *args: str) -> tuple[float, float, dict]:
    """Run deployer; (wall-clock seconds, the share of the machine's CPU busy meanwhile, its
    --json document for a deploy, else {})."""
    as_json = ["--json"] if args[0] == "deploy" else []
    busy0, total0 = cpu_ticks()
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "deployer", *args, *as_json, "--config", str(config)],
        capture_output=True, text=True, cwd=REPO, check=False,
    )  # fmt: skip
    seconds = time.monotonic() - start
    busy1, total1 = cpu_ticks()
    busy = (busy1 - busy0) / max(1, total1 - total0)
    if proc.returncode != 0:
        sys.exit(f"deployer {' '.join(args)} failed:\n{proc.stdout}{proc.stderr}")
    if SHOW and args[0] == "deploy":
        print(f"--- deployer {' '.join(args[:2])}: {seconds:.2f} s\n{proc.stderr}", flush=True)
    return seconds, busy, json.loads(proc.stdout) if as_json else {}


def boot_seconds(report: dict) -> float:
    """The mean time a host took from starting the new release to its health answer: how much
    the sandbox hosts, sharing this machine's cores, slow each other down."""
    times = [sum(s["seconds"] for s in h["steps"] if s["name"] in ("start", "health"))
             for h in report["hosts"]]
    return sum(times) / len(times)


def write_config(tmp: Path, outputs: dict, source: Path, workers: int) -> Path:
    """One stage per fleet size: f1, f2, f4 (the first N hosts of the pool)."""
    lines = []
    for n in (1, 2, 4):
        path = tmp / f"fleet{n}.json"
        path.write_text(json.dumps({**outputs, "hosts": outputs["hosts"][:n]}))
        lines += [f'[stages.f{n}]\noutputs = "{path}"\n', f"[stages.f{n}.app]",
                  f'source = "{source}"', 'include = ["app"]',
                  'requirements = "app/requirements.txt"', 'version_file = "app/VERSION"',
                  'env = { ENVIRONMENT = "production" }',
                  'secrets_from_env = ["SECRET_KEY"]', f"workers = {workers}", ""]
    config = tmp / "deployer.toml"
    config.write_text("\n".join(lines))
    return config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", default="50%")
    parser.add_argument("--canary", action="store_true", help="A one-host first batch.")
    parser.add_argument("--show", action="store_true", help="Print each deploy's phases.")
    parser.add_argument("--workers", type=int, default=2,
                        help="Web workers per host (deployer's default 2; 1 halves each boot's "
                             "CPU, for a machine whose cores the hosts share).")
    opts = parser.parse_args()
    global SHOW
    SHOW = opts.show

    from deployer import sandbox
    from deployer.sandbox.api import fleet_outputs

    tmp = Path(tempfile.mkdtemp(prefix="fleet-bench-"))
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(48))
    try:
        sandbox.up(NAMES, snapshot="provisioned", lb_name=LB)
        config = write_config(tmp, fleet_outputs(LB), version_copy(tmp, "1.0.0"),
                              opts.workers)
        boot, _, _ = cli(config, "bootstrap", "--stage", "f4", "--parallel", "4")
        warm, _, _ = cli(config, "deploy", "f4", "--source", str(version_copy(tmp, "2.0.0")),
                      "--batch", "100%")
        canary = [] if opts.canary else ["--no-canary"]
        times, boots, busy = {}, {}, {}
        for n, version in ((1, "3.0.0"), (2, "4.0.0"), (4, "5.0.0")):
            source = str(version_copy(tmp, version))
            times[n], busy[n], report = cli(config, "deploy", f"f{n}", "--source", source,
                                            "--batch", opts.batch, *canary)
            boots[n] = boot_seconds(report)
        print(f"{len(NAMES)} sandbox hosts sharing this machine's {os.cpu_count()} cores, "
              f"{opts.workers} web worker{'s' * (opts.workers > 1)} each")
        print(f"bootstrap v1, 4 hosts in parallel:     {boot:6.2f} s")
        print(f"deploy v2 to 4 hosts (warms caches):   {warm:6.2f} s")
        for n, seconds in times.items():
            ratio = seconds / times[1]
            print(f"deploy to {n} host{'s' if n > 1 else ' '} (batch {opts.batch}"
                  f"{', canary' if opts.canary else ''}): {seconds:6.2f} s  = {ratio:.2f} x 1 host"
                  f"   (start to healthy per host: {boots[n]:.2f} s = {boots[n] / boots[1]:.2f} x;"
                  f" cores busy {busy[n]:.0%})")
        met = "met" if times[4] <= 1.6 * times[1] else "NOT met"
        print(f"target: 4 hosts <= 1.6 x 1 host: {met}")
    finally:
        sandbox.down([LB, *NAMES])
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
