"""Migrations skipped when the database ran the same scripts: the script, run for real with a
stand-in systemd-run (it records the upgrade instead of running alembic)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from deployer.release.migrations import HASH_CODE, migrate_script
from deployer.target import build_target

INI = "[alembic]\nscript_location = %(here)s/migrations\n"


def release(root: Path, name: str, script: str = "def upgrade(): pass\n") -> Path:
    rel = root / name
    (rel / "app" / "migrations" / "versions").mkdir(parents=True)
    (rel / "app" / "alembic.ini").write_text(INI)
    (rel / "app" / "migrations" / "env.py").write_text("# env\n")
    (rel / "app" / "migrations" / "versions" / "0001_first.py").write_text(script)
    return rel


def scripts_hash(rel: Path) -> str:
    done = subprocess.run(["python3", "-c", HASH_CODE, "app/alembic.ini"], cwd=rel,
                          capture_output=True, text=True, check=True)  # fmt: skip
    return done.stdout.strip()


def test_hash_follows_the_scripts_only(tmp_path: Path) -> None:
    a, b = release(tmp_path, "a"), release(tmp_path, "b")
    (b / "app" / "main.py").write_text("changed = True\n")  # app code: not a migration
    (b / "app" / "migrations" / "__pycache__").mkdir()
    (b / "app" / "migrations" / "__pycache__" / "env.cpython-311.pyc").write_bytes(b"x")
    assert scripts_hash(a) == scripts_hash(b) != ""
    c = release(tmp_path, "c", "def upgrade(): add_column()\n")
    assert scripts_hash(c) != scripts_hash(a)
    (a / "app" / "alembic.ini").write_text("[alembic]\nscript_location = mypkg:migrations\n")
    assert scripts_hash(a) == ""  # a package location: unknown, never skipped


def run_migrate(tmp: Path, rel: Path, *, force: bool = False) -> str:
    bin_dir = tmp / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "systemd-run"
    fake.write_text(f'#!/bin/sh\necho upgrade >> {tmp}/upgrades\n')
    fake.chmod(0o755)
    t = build_target({"host": "203.0.113.10", "domain": "api.example.com",
                      "app": {"migrations": "app/alembic.ini"}})  # fmt: skip
    script = migrate_script(t, str(rel), force=force, record=str(tmp / "record"))
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    done = subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (rel / ".migrated").exists()
    return done.stdout.strip()


def upgrades(tmp: Path) -> int:
    path = tmp / "upgrades"
    return len(path.read_text().split()) if path.exists() else 0


def test_same_scripts_skip_the_upgrade_changed_ones_run_it(tmp_path: Path) -> None:
    v1, v2 = release(tmp_path, "v1"), release(tmp_path, "v2")
    v3 = release(tmp_path, "v3", "def upgrade(): add_column()\n")
    assert run_migrate(tmp_path, v1) == "" and upgrades(tmp_path) == 1  # first: migrates
    assert run_migrate(tmp_path, v2) == "skipped" and upgrades(tmp_path) == 1
    assert run_migrate(tmp_path, v3) == "" and upgrades(tmp_path) == 2  # a new script
    assert run_migrate(tmp_path, v3, force=True) == "" and upgrades(tmp_path) == 3
    (tmp_path / "record").unlink()  # what a restore does: the next deploy migrates
    assert run_migrate(tmp_path, v3) == "" and upgrades(tmp_path) == 4
