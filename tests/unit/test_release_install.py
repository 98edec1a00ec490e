"""The venv builder of a release install, run for real on this machine (no host needed)."""

from __future__ import annotations

import subprocess
from pathlib import Path, PurePosixPath

from deployer.release.install import venv_script


def build(rel: Path, clone_from: Path | None) -> None:
    script = venv_script(
        PurePosixPath(rel), "requirements.txt", PurePosixPath(clone_from) if clone_from else None
    )
    subprocess.run(["sh", "-c", script], check=True, capture_output=True, timeout=300)


def prefix(rel: Path) -> str:
    done = subprocess.run(
        [rel / "venv/bin/python", "-c", "import sys; print(sys.prefix)"],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return done.stdout.strip()


def release(tmp: Path, name: str, requirements: str) -> Path:
    rel = tmp / name
    rel.mkdir()
    (rel / "requirements.txt").write_text(requirements)
    return rel


def test_identical_requirements_clone_the_venv_into_its_own_path(tmp_path: Path) -> None:
    old = release(tmp_path, "r1", "# none\n")
    build(old, None)
    (old / "venv/marker").write_text("built once")
    new = release(tmp_path, "r2", "# none\n")
    build(new, old)
    assert (new / "venv/marker").exists()  # copied, not rebuilt
    assert prefix(new) == str(new / "venv")
    for path in [new / "venv/pyvenv.cfg", *(new / "venv/bin").iterdir()]:
        if path.is_file() and not path.is_symlink():
            assert str(old) not in path.read_text(errors="replace"), path
    assert (new / "venv/bin/pip").read_text().startswith(f"#!{new}/venv/bin/python")


def test_changed_requirements_build_a_fresh_venv(tmp_path: Path) -> None:
    old = release(tmp_path, "r1", "# none\n")
    build(old, None)
    (old / "venv/marker").write_text("built once")
    new = release(tmp_path, "r2", "# changed\n")
    build(new, old)
    assert not (new / "venv/marker").exists()
    assert prefix(new) == str(new / "venv")


def test_stop_waits_for_the_graceful_exit_unless_told_not_to() -> None:
    from deployer.release.switch import stop_argv

    units = ["app@r1.service"]
    assert stop_argv(units) == ["systemctl", "disable", "--quiet", "--now", "app@r1.service"]
    assert "--no-block" in stop_argv(units, wait=False)
