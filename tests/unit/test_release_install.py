"""The venv builder of a release install: uv, from what the project declares."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import PurePosixPath

from deployer.layout import Layout
from deployer.project import Dependencies
from deployer.release.install import copy_script, install_script, uv_env, venv_script
from deployer.release.uv import UV

REL = PurePosixPath("/srv/svc/releases/20261202T000000-0123456789abcdef")


def commands(script: str) -> list[list[str]]:
    return [shlex.split(part) for part in script.split(" && ")]


def test_a_requirements_file_is_installed_into_the_release_venv() -> None:
    create, install = commands(venv_script(REL, Dependencies("requirements", ("req/base.txt",))))
    assert create[:3] == [UV, "venv", "-q"] and create[-1] == f"{REL}/venv"
    assert install == [
        UV, "pip", "install", "-q", "--python", f"{REL}/venv/bin/python", "-r",
        f"{REL}/req/base.txt",
    ]  # fmt: skip


def test_a_pyproject_is_installed_non_editable() -> None:
    _, install = commands(venv_script(REL, Dependencies("pyproject", ("pyproject.toml",))))
    assert install[:3] == [UV, "pip", "install"] and install[-1] == str(REL)
    assert "-e" not in install and "--editable" not in install


def test_a_lock_installs_exactly_the_locked_set() -> None:
    script = venv_script(REL, Dependencies("locked", ("pyproject.toml", "uv.lock")))
    sync = next(c for c in commands(script) if "sync" in c)
    assert sync[0] == f"UV_PROJECT_ENVIRONMENT={REL}/venv"
    assert {"--locked", "--no-dev", "--no-editable"} <= set(sync)
    assert f"cd {REL}" in script


def test_uv_uses_the_hosts_cache_python_trust_store_and_pip_proxy() -> None:
    env = uv_env()
    for setting in ("UV_CACHE_DIR=/var/cache/deployer/uv", "UV_PYTHON_DOWNLOADS=never",
                    "UV_NATIVE_TLS=1", "UV_COMPILE_BYTECODE=1"):  # fmt: skip
        assert setting in env
    assert "/etc/pip.conf" in env and "HTTPS_PROXY" in env
    script = install_script(
        Layout("svc"), REL.name, "0" * 64, Dependencies("requirements", ("r.txt",)), "PORT=1\n"
    )
    assert script.index(env) < script.index(f"{UV} venv")


def test_installs_of_one_app_wait_for_each_other_before_touching_releases() -> None:
    deps = Dependencies("requirements", ("r.txt",))
    lock = "exec 9>>/srv/svc/state/install.lock; flock 9"
    install = install_script(Layout("svc"), REL.name, "0" * 64, deps, "PORT=1\n")
    copy = copy_script(Layout("svc"), "20261201T000000-0123456789abcdef", REL.name, deps, "")
    for script in (install, copy):  # a cut install's uv may still write its directory
        lines = script.splitlines()
        assert lines[1] == lock, lines[:3]
        assert not any("rm -rf" in line or "mkdir" in line for line in lines[:2])


def test_stop_waits_for_the_graceful_exit_unless_told_not_to() -> None:
    from deployer.release.switch import stop_argv

    units = ["app@r1.service"]
    assert stop_argv(units) == ["systemctl", "disable", "--quiet", "--now", "app@r1.service"]
    assert "--no-block" in stop_argv(units, wait=False)


def fake_release(root, name: str, requirements: str):
    rel = root / name
    (rel / "venv" / "bin").mkdir(parents=True)
    (rel / "venv" / "lib").mkdir()
    (rel / "venv" / "lib" / "mod.py").write_text("x = 1\n")
    (rel / "venv" / "bin" / "python").symlink_to(sys.executable)
    (rel / "venv" / "bin" / "gunicorn").write_text(f"#!{rel}/venv/bin/python\nimport x\n")
    (rel / "r.txt").write_text(requirements)
    (rel / ".installed").touch()
    return rel


def test_same_requirements_clone_the_serving_venv(tmp_path) -> None:
    from deployer.release.install import reuse_script

    deps = Dependencies("requirements", ("r.txt",))
    old = fake_release(tmp_path, "old", "fastapi==1\n")
    new = tmp_path / "new"
    new.mkdir()
    (new / "r.txt").write_text("fastapi==1\n")
    done = subprocess.run(["sh", "-c", reuse_script(PurePosixPath(new), deps, PurePosixPath(old))],
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "venv: cloned from old"
    assert (new / "venv" / "bin" / "gunicorn").read_text().startswith(f"#!{new}/venv/bin/python")
    assert (old / "venv" / "bin" / "gunicorn").read_text().startswith(f"#!{old}/venv/bin/python")
    assert (new / "venv/lib/mod.py").stat().st_ino == (old / "venv/lib/mod.py").stat().st_ino
    # other requirements (or a pyproject): built, never cloned
    other = tmp_path / "other"
    other.mkdir()
    (other / "r.txt").write_text("fastapi==2\n")
    script = reuse_script(PurePosixPath(other), deps, PurePosixPath(old))
    done = subprocess.run(["sh", "-c", script], capture_output=True, text=True)
    assert "cloned" not in done.stdout and not (other / "venv" / "lib").exists()
    pyproject = reuse_script(PurePosixPath(new), Dependencies("pyproject", ("pyproject.toml",)),
                             PurePosixPath(old))  # fmt: skip
    assert "cp -al" not in pyproject


def test_a_failed_venv_build_fails_the_install(tmp_path) -> None:
    from deployer.release.install import reuse_script

    deps = Dependencies("requirements", ("r.txt",))
    script = "set -eu\n" + reuse_script(PurePosixPath(tmp_path), deps, None) + "\necho installed"
    done = subprocess.run(["sh", "-c", script], capture_output=True, text=True)  # no uv here
    assert done.returncode != 0 and "installed" not in done.stdout, done.stdout


def test_the_release_code_is_compiled_but_not_its_venv_and_a_bad_file_fails_nothing(
    tmp_path,
) -> None:
    from pathlib import Path

    from deployer.release.install import compile_script

    rel = tmp_path / "rel"
    (rel / "app").mkdir(parents=True)
    (rel / "app" / "main.py").write_text("x = 1\n")
    (rel / "app" / "py2.py").write_text("print 'old'\n")  # does not compile: no failure
    (rel / "venv" / "bin").mkdir(parents=True)
    (rel / "venv" / "bin" / "python").symlink_to(sys.executable)
    (rel / "venv" / "lib.py").write_text("y = 2\n")  # uv compiles the venv
    proc = subprocess.run(["sh", "-c", compile_script(PurePosixPath(rel))],
                          capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout == "", proc.stdout + proc.stderr
    compiled = {(*p.relative_to(rel).parts[:1], p.name.split(".")[0])
                for p in Path(rel).rglob("*.pyc")}
    assert compiled == {("app", "main")}
