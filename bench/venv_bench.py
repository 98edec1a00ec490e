"""Benchmark: building a release venv on a sandbox host, uv (deployer's installer) beside plain
``python3 -m venv`` + pip, cold (empty cache) and warm (cache kept), in the same run.

Boots one sandbox host (needs root), sends the sample app's requirements and uv, then per round
times on the host itself (no SSH in the numbers) in this order: pip cold, uv cold, pip warm,
uv warm. Both compile bytecode (pip does by default; deployer asks uv to). Not part of the tests.

    .venv/bin/python bench/venv_bench.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import shlex
import statistics
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORK = "/srv/venv-bench"  # beside the releases, as a real install


def timed_script(body: str) -> str:
    """Run *body* and print its wall-clock seconds, measured on the host."""
    return f"set -e; s=$(date +%s%N); {body}; e=$(date +%s%N); echo $(( (e - s) / 1000000 ))"


def scripts(uv: str, uv_env: str) -> dict[str, tuple[str, str]]:
    """name -> (cache reset, timed build) for each measure."""
    req = f"{WORK}/requirements.txt"
    pip = (
        f"rm -rf {WORK}/pipv && python3 -m venv {WORK}/pipv && {WORK}/pipv/bin/pip install -q "
        f"--disable-pip-version-check --root-user-action=ignore --cache-dir {WORK}/pipcache "
        f"-r {req}"
    )
    uvb = (
        f"{uv_env}\nexport UV_CACHE_DIR={WORK}/uvcache\nrm -rf {WORK}/uvv && "
        f'{uv} venv -q --python "$(command -v python3)" {WORK}/uvv && '
        f"{uv} pip install -q --python {WORK}/uvv/bin/python -r {req}"
    )
    return {
        "pip cold": (f"rm -rf {WORK}/pipcache", pip),
        "uv cold": (f"rm -rf {WORK}/uvcache", uvb),
        "pip warm": ("true", pip),
        "uv warm": ("true", uvb),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from deployer.release.install import uv_env
    from deployer.release.uv import UV, ensure_uv
    from deployer.remote import Remote
    from deployer.sandbox import api, state
    from deployer.target import build_target, from_outputs

    lease = state.take_lease()
    with state.locked():
        api.ensure_lab()
    results: dict[str, list[float]] = {}
    try:
        (host,) = api.up(["bench-venv"], snapshot="provisioned")
        try:
            target = build_target(from_outputs(host.outputs()))
            with Remote(target) as remote:
                ensure_uv(remote)
                req = (REPO / "app" / "requirements.txt").read_bytes()
                remote.sh(f"mkdir -p {WORK} && cat > {WORK}/requirements.txt", stdin=req)
                for _ in range(args.rounds):
                    for name, (reset, build) in scripts(UV, uv_env()).items():
                        remote.sh(reset)
                        out = remote.sh(timed_script(f"sh -c {shlex.quote(build)}")).stdout
                        results.setdefault(name, []).append(int(out.split()[-1]) / 1000)
        finally:
            api.stop_hosts([host.name])
    finally:
        api.release_lab(lease, [])
    med = {k: statistics.median(v) for k, v in results.items()}
    print(f"{'venv build':<10} {'median s':>9}  runs: seconds")
    for key, values in results.items():
        print(f"{key:<10} {med[key]:9.2f}  {' '.join(f'{v:.2f}' for v in values)}")
    print(f"cold  uv/pip = {med['uv cold'] / med['pip cold']:.2f}")
    print(f"warm  uv/pip = {med['uv warm'] / med['pip warm']:.2f}")


if __name__ == "__main__":
    main()
