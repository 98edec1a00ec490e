"""Benchmark: `deployer bootstrap` cold and no-op re-run vs a plain shell script, same run.

Boots two fresh sandbox hosts (needs root), then measures on each, interleaved:
  - deployer: cold bootstrap of the sample app, then N no-op re-runs;
  - bench/plain_bootstrap.sh: the same minimum steps, cold and re-run;
and prints medians with the ratio deployer/plain. Not part of the test suite.

    .venv/bin/python bench/bootstrap_bench.py [--rounds 1] [--noop-runs 5]
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


INTERNAL: list[float] = []  # deployer's own timer (after interpreter start-up and imports)


def timed(argv: list[str], env: dict[str, str] | None = None) -> float:
    """Wall-clock seconds of one command (exits with its output if it fails)."""
    start = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=REPO, check=False)
    seconds = time.monotonic() - start
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(argv[:4])}...\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    if "--json" in argv:
        INTERNAL.append(json.loads(proc.stdout)["seconds"])
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


def one_round(names: list[str], noop_runs: int, tmp: Path) -> dict[str, list[float]]:
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
        res["deployer no-op"] = [timed(deployer_argv(outputs), env) for _ in range(noop_runs)]
        res["  (in-process)"] = INTERNAL[-noop_runs:]
        return res
    finally:
        api.stop_hosts([h.name for h in hosts])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--noop-runs", type=int, default=5)
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
                for key, values in one_round(names, args.noop_runs, Path(tmp)).items():
                    results.setdefault(key, []).extend(values)
    finally:
        api.release_lab(lease, [])
    med = {k: statistics.median(v) for k, v in results.items()}
    print(f"{'measure':<16} {'median s':>9}  runs")
    for key, values in results.items():
        print(f"{key:<16} {med[key]:9.2f}  {len(values)}")
    print(
        f"cold ratio   deployer/plain = {med['deployer cold'] / med['plain cold']:.2f}"
        "  (target <= 0.8)"
    )
    print(
        f"no-op ratio  deployer/plain = {med['deployer no-op'] / med['plain re-run']:.2f}"
        f"  (deployer no-op {med['deployer no-op']:.2f} s, target <= 1.0 s)"
    )


if __name__ == "__main__":
    main()
