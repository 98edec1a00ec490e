"""The built wheel works outside a checkout: templates inside, no top-level sample `app`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def build_wheel(tmp_path: Path) -> Path:
    """Build from a copy of the tracked files (no build/ or egg-info left in the checkout)."""
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.decode()
    src = tmp_path / "src"
    for name in filter(None, tracked.split("\0")):
        target = src / name
        target.parent.mkdir(parents=True, exist_ok=True)
        origin = REPO / name
        if origin.is_symlink():
            target.symlink_to(os.readlink(origin))
        elif origin.exists():
            shutil.copy2(origin, target)
    out = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "-w", str(out), str(src)],
        check=True, capture_output=True,
    )  # fmt: skip
    (wheel,) = out.glob("deployer-*.whl")
    return wheel


def test_wheel_ships_templates_and_renders_from_them(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path)
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {n.removeprefix("deployer/templates/") for n in names if "/templates/" in n}
    assert shipped == {p.name for p in (REPO / "templates").iterdir()}
    assert not any(n.startswith("app/") for n in names)  # would shadow users' own `app`
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    probe = (
        "import deployer, sys\n"
        "from deployer.render import render\n"
        "assert deployer.__file__.startswith(sys.argv[1]), deployer.__file__\n"
        "print(render('certbot-env.conf.j2', acme_ca='/x/ca-8123.pem'))\n"
    )
    shown = subprocess.run(
        [sys.executable, "-c", probe, str(site)],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(site)},
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "/x/ca-8123.pem" in shown.stdout
