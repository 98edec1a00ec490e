"""Release benchmark on one sandbox host: warm deploy, rollback inside and outside the warm
window, failed requests under load (strict client: no retry) and the memory the kept release
costs, all from the same run.

    sudo .venv/bin/python bench/release_bench.py [--requests 5000] [--concurrency 20]

Boots a provisioned sandbox host, bootstraps v1, deploys v2 once to warm the host's caches, then
measures, each under constant load through nginx over HTTPS: deploying v3 (warm caches, same
migration scripts), rolling back to v2 inside its warm window, deploying v3 again, ending v2's
window, and rolling back to v2 outside it (a boot). Times: "phases" is the host work (the
phase lines' sum), "live" what deployer reports (from its process start: Python start-up and
SSH connect included), "wall" the whole CLI run. Targets (issue 13): warm deploy <= 3 s,
rollback inside the window <= 1 s, 0 failed requests. Not run by the tests.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NAME = "relbench"


def version_copy(root: Path, version: str) -> Path:
    src = root / f"v{version}" / "app"
    shutil.copytree(REPO / "app", src, ignore=shutil.ignore_patterns("__pycache__", "*.db"))
    (src / "VERSION").write_text(version + "\n")
    return src.parent  # the project: only its app/ ships (the stage's include)


def cli(config: Path, *args: str) -> tuple[float, subprocess.CompletedProcess]:
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "deployer", *args, "--config", str(config)],
        capture_output=True, text=True, cwd=REPO, check=False,
    )  # fmt: skip
    seconds = time.monotonic() - start
    if proc.returncode != 0:
        sys.exit(f"deployer {' '.join(args)} failed:\n{proc.stdout}{proc.stderr}")
    return seconds, proc


def phase_times(output: str) -> str:
    """'install 1.2s, health 0.8s, ...' from the phase lines deployer printed."""
    parts = []
    for line in output.splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[0] in ("ok", "changed") and fields[2].endswith("s"):
            parts.append(f"{fields[1]} {fields[2]}")
    return ", ".join(parts)


def under_load(config: Path, url: str, load_kwargs: dict, *args: str):
    from deployer.release.loadcheck import Background

    with Background(url, **load_kwargs) as bg:
        seconds, proc = cli(config, *args)
    return seconds, proc, bg.result


def phase_sum(output: str) -> float:
    """The seconds the host's phases took together (what a release costs past start-up)."""
    total = 0.0
    for part in phase_times(output).split(", "):
        if part:
            total += float(part.split()[1].rstrip("s"))
    return total


def live(output: str) -> float:
    """The seconds deployer reports for a release ('... is live in 2.49s')."""
    found = re.search(r"is live in ([0-9.]+)s", output)
    return float(found.group(1)) if found else float("nan")


def release_id(output: str) -> str:
    return re.search(r"(\d{8}T\d{6}-[0-9a-f]{16}) is live", output).group(1)


def stage_config(tmp: Path, out: dict) -> Path:
    config = tmp / "deployer.toml"
    config.write_text(
        f'[stages.bench]\nhost = "{out["host"]}"\nssh_port = {out["ssh_port"]}\n'
        f'ssh_user = "{out["ssh_user"]}"\nssh_key = "{out["ssh_key"]}"\n'
        f'ssh_host_key = "{out["ssh_host_key"]}"\ndomain = "{out["domain"]}"\n'
        f'address = "{out["address"]}"\nacme_server = "{out["acme_server"]}"\n'
        f'acme_ca = "{out["acme_ca"]}"\nacme_root = "{out["acme_root"]}"\n'
        f"firewall = false\n\n[stages.bench.app]\n"
        f'source = "{version_copy(tmp, "1.0.0")}"\ninclude = ["app"]\n'
        'requirements = "app/requirements.txt"\nversion_file = "app/VERSION"\n'
        'migrations = "app/alembic.ini"\nready_path = "/ready"\n'
        'env = { ENVIRONMENT = "production" }\nsecrets_from_env = ["SECRET_KEY"]\n'
    )
    return config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=20)
    opts = parser.parse_args()

    from deployer import sandbox

    tmp = Path(tempfile.mkdtemp(prefix="release-bench-"))
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(48))
    (host,) = sandbox.up([NAME], snapshot="provisioned")
    try:
        out = host.outputs()
        config = stage_config(tmp, out)
        boot, _ = cli(config, "bootstrap", "--stage", "bench")
        url = f"https://{out['domain']}/health"
        load = {"requests": opts.requests, "concurrency": opts.concurrency,
                "resolve_to": out["address"], "cafile": out["acme_root"], "max_seconds": 600}
        first, first_p = cli(config, "deploy", "bench", "--source", str(version_copy(tmp, "2.0.0")))
        v2 = release_id(first_p.stdout)
        v3 = version_copy(tmp, "3.0.0")
        runs = {"deploy v3 (warm)": under_load(config, url, load, "deploy", "bench",
                                               "--source", str(v3))}  # fmt: skip
        status = cli(config, "status", "bench")[1].stdout
        kept = next((line.strip() for line in status.splitlines() if " warm " in line), "none")
        runs["rollback, in the window"] = under_load(config, url, load, "rollback", "bench", v2)
        runs["deploy v3 again"] = under_load(config, url, load, "deploy", "bench",
                                             "--source", str(v3))  # fmt: skip
        host.ssh(f"sudo systemctl start deployer-app-warm-{v2}.service")  # the window ends
        time.sleep(1)
        runs["rollback, window over"] = under_load(config, url, load, "rollback", "bench", v2)
        print(f"bootstrap v1 (provisioned host):  {boot:6.2f} s wall")
        print(f"first deploy v2 (warms caches):    {first:6.2f} s wall")
        for what, (wall, proc, res) in runs.items():
            print(f"{what + ':':<30} {phase_sum(proc.stdout):5.2f} s phases "
                  f"{live(proc.stdout):5.2f} s live {wall:5.2f} s wall   "
                  f"{res.failed} failed of {res.sent}")  # fmt: skip
            print(f"   phases: {phase_times(proc.stdout)}")
        inside = phase_sum(runs["rollback, in the window"][1].stdout)
        outside = phase_sum(runs["rollback, window over"][1].stdout)
        print(f"rollback inside / outside the window: {inside / outside:.2f}x")
        print(f"kept release: {kept}")
        print("targets: warm deploy <= 3 s, rollback in the window <= 1 s, 0 failed requests")
    finally:
        sandbox.down([NAME])
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
