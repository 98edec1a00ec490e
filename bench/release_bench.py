"""Release benchmark on one sandbox host: deploy time with warm caches, rollback time, and
failed requests under load, all from the same run.

    sudo .venv/bin/python bench/release_bench.py [--requests 2000] [--concurrency 10]

Boots a provisioned sandbox host, bootstraps v1, deploys v2 once to warm the host's caches, then
measures (each under constant load through nginx over HTTPS): deploying v3, rolling back to v2;
then, without load, rolling forward to v3 by id. Times are wall-clock of the whole CLI run.
Targets (issue 5): deploy <= 8 s warm, rollback <= 2 s, 0 failed requests. Not run by the tests.
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
        if len(fields) >= 3 and fields[0] == "ok" and fields[2].endswith("s"):
            parts.append(f"{fields[1]} {fields[2]}")
    return ", ".join(parts)


def under_load(config: Path, url: str, load_kwargs: dict, *args: str):
    from deployer.release.loadcheck import Background

    with Background(url, **load_kwargs) as bg:
        seconds, proc = cli(config, *args)
    return seconds, proc, bg.result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=10)
    opts = parser.parse_args()

    from deployer import sandbox

    tmp = Path(tempfile.mkdtemp(prefix="release-bench-"))
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(48))
    (host,) = sandbox.up([NAME], snapshot="provisioned")
    try:
        out = host.outputs()
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
            'migrations = "app/alembic.ini"\n'
            'env = { ENVIRONMENT = "production" }\nsecrets_from_env = ["SECRET_KEY"]\n'
        )
        boot, _ = cli(config, "bootstrap", "--stage", "bench")
        url = f"https://{out['domain']}/health"
        load = {
            "requests": opts.requests,
            "concurrency": opts.concurrency,
            "resolve_to": out["address"],
            "cafile": out["acme_root"],
            "max_seconds": 600,
        }
        warm, _ = cli(config, "deploy", "bench", "--source", str(version_copy(tmp, "2.0.0")))
        v3 = version_copy(tmp, "3.0.0")
        deploy_s, deploy_p, deploy_load = under_load(
            config, url, load, "deploy", "bench", "--source", str(v3)
        )
        rollback_s, rollback_p, rollback_load = under_load(config, url, load, "rollback", "bench")
        v3_id = re.search(r"(\d{8}T\d{6}-[0-9a-f]{16}) is live", deploy_p.stdout).group(1)
        idle_s, idle_p = cli(config, "rollback", "bench", v3_id)  # back to v3, no load
        print(f"bootstrap v1 (provisioned host):   {boot:6.2f} s")
        print(f"first deploy v2 (warms caches):     {warm:6.2f} s")
        print(f"deploy v3, warm caches:             {deploy_s:6.2f} s   (target <= 8 s)")
        print(f"   phases: {phase_times(deploy_p.stdout)}")
        print(f"rollback v3 -> v2:                  {rollback_s:6.2f} s   (target <= 2 s)")
        print(f"   phases: {phase_times(rollback_p.stdout)}")
        print(f"rollback v2 -> v3, no load:         {idle_s:6.2f} s")
        print(f"   phases: {phase_times(idle_p.stdout)}")
        for what, res in (("deploy", deploy_load), ("rollback", rollback_load)):
            print(f"failed requests during {what + ':':<13} {res.failed}   ({res.summary()})")
    finally:
        sandbox.down([NAME])
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
