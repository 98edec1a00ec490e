"""Benchmark: `deployer bootstrap` cold and no-op re-run vs a plain shell script, same run.

Boots two fresh sandbox hosts (needs root), then measures on each, interleaved:
  - deployer: cold bootstrap of the sample app, then N no-op re-runs;
  - bench/plain_bootstrap.sh: the same minimum steps, cold and re-run;
and prints medians with the ratio deployer/plain. With ``--baseline CHECKOUT`` (e.g. a git
worktree of an older commit) the no-op re-runs alternate with that checkout's deployer on the
same host, and the ratio new/baseline is printed too. Not part of the test suite.

    .venv/bin/python bench/bootstrap_bench.py [--rounds 1] [--noop-runs 5] [--baseline DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PLAIN = REPO / "bench" / "plain_bootstrap.sh"


INTERNAL: list[float] = []  # deployer's own timer (the JSON report's "seconds")
CHANGED: list[int] = []  # what each JSON report counted as changed


def timed(argv: list[str], env: dict[str, str] | None = None, cwd: Path = REPO) -> float:
    """Wall-clock seconds of one command (exits with its output if it fails)."""
    start = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=cwd, check=False)
    seconds = time.monotonic() - start
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(argv[:4])}...\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    if "--json" in argv:
        report = json.loads(proc.stdout)
        CHANGED.append(report["changed"])
        if cwd == REPO:
            INTERNAL.append(report["seconds"])
    return seconds


def deployer_argv(outputs: Path) -> list[str]:
    return [
        sys.executable, "-m", "deployer", "bootstrap", "--outputs", str(outputs),
        "--secret", "SECRET_KEY", "--source", str(REPO), "--include", "app",
        "--requirements", "app/requirements.txt", "--migrations", "app/alembic.ini", "--json",
    ]  # fmt: skip


def plain_argv(out: dict, artifact: Path) -> list[str]:
    return [
        "bash", str(PLAIN), str(out["ssh_port"]), out["ssh_key"], out["domain"],
        out["acme_server"], out["acme_ca"], str(artifact), "app/requirements.txt", "app.main:app",
    ]  # fmt: skip


def noop(outputs: Path, env: dict[str, str], cwd: Path = REPO) -> float:
    seconds = timed(deployer_argv(outputs), env, cwd)
    if CHANGED[-1]:
        sys.exit(f"a re-run changed {CHANGED[-1]} steps (from {cwd}): not a no-op")
    return seconds


def one_round(
    names: list[str], noop_runs: int, tmp: Path, baseline: Path | None
) -> dict[str, list[float]]:
    from deployer.artifact import build_source_artifact
    from deployer.project import Project
    from deployer.sandbox import api

    hosts = api.up(names)
    try:
        ours, theirs = hosts
        outputs = tmp / f"{ours.name}.json"
        outputs.write_text(json.dumps(ours.outputs()))
        artifact = build_source_artifact(Project(REPO, ("app",)), tmp)
        env = {**os.environ, "SECRET_KEY": secrets.token_urlsafe(48)}
        res: dict[str, list[float]] = {}
        res["plain cold"] = [timed(plain_argv(theirs.outputs(), artifact.path))]
        res["deployer cold"] = [timed(deployer_argv(outputs), env)]
        res["plain re-run"] = [timed(plain_argv(theirs.outputs(), artifact.path))]
        res["deployer no-op"], res["baseline no-op"] = [], []
        for i in range(noop_runs):  # interleaved in alternating order: the same machine load
            pair = [("deployer no-op", REPO), ("baseline no-op", baseline)]
            for key, cwd in pair if i % 2 == 0 else pair[::-1]:
                if cwd is not None:
                    res[key].append(noop(outputs, env, cwd))
        res["  (in-process)"] = INTERNAL[-noop_runs:]
        if not baseline:
            del res["baseline no-op"]
        return res
    finally:
        api.stop_hosts([h.name for h in hosts])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--noop-runs", type=int, default=5)
    parser.add_argument("--baseline", type=Path, help="another checkout to compare no-ops with")
    args = parser.parse_args()
    from deployer.sandbox import api, state

    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)  # measure a normal install (cached .pyc)
    lease = state.take_lease()
    with state.locked():
        api.ensure_lab()
    results: dict[str, list[float]] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for i in range(args.rounds):
                names = [f"bench-d{i}", f"bench-p{i}"]
                got = one_round(names, args.noop_runs, Path(tmp), args.baseline)
                for key, values in got.items():
                    results.setdefault(key, []).extend(values)
    finally:
        api.release_lab(lease, [])
    med = {k: statistics.median(v) for k, v in results.items()}
    print(f"{'measure':<16} {'median s':>9}  runs")
    for key, values in results.items():
        print(f"{key:<16} {med[key]:9.2f}  {len(values)}")
    print(
        f"cold ratio   deployer/plain = {med['deployer cold'] / med['plain cold']:.2f}"
        "  (target <= 0.6)"
    )
    print(
        f"no-op ratio  deployer/plain = {med['deployer no-op'] / med['plain re-run']:.2f}"
        f"  (deployer no-op {med['deployer no-op']:.2f} s, target <= 1.0 s)"
    )
    if "baseline no-op" in med:
        print(f"no-op ratio  deployer/baseline = "
              f"{med['deployer no-op'] / med['baseline no-op']:.2f}  (target <= 1.0)")


if __name__ == "__main__":
    main()
