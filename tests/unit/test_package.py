"""`deployer package`: reproducible Cloud Run context and App Service zip, and both really serve."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tarfile
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from deployer.cli import app as cli
from deployer.package import TEMPLATES, Package
from deployer.package import build_appservice_zip as build_zip
from deployer.package import build_cloudrun_context as build_context
from deployer.project import Project

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app"
VENV_BIN = Path(sys.executable).parent
SECRET = "k" * 48
runner = CliRunner()


def make_source(root: Path) -> Path:
    src = root / "app"
    src.mkdir(parents=True)
    (src / "main.py").write_text("app = None\n")
    (src / "VERSION").write_text("2.0.0\n")
    (src / "requirements.txt").write_text("fastapi==0.165.0\n")
    (src / "__pycache__").mkdir()
    (src / "__pycache__" / "main.cpython-311.pyc").write_bytes(b"junk")
    return src


SAMPLE = ["--include", "app", "--requirements", "app/requirements.txt"]


def sample(src: Path) -> Project:
    """The sample layout: the project holds app/ (with its requirements); only app/ ships."""
    return Project(src.parent, ("app",))


def build_cloudrun_context(src: Path, out: Path) -> Package:
    return build_context(sample(src), out, requirements="app/requirements.txt")


def build_appservice_zip(src: Path, out: Path) -> Package:
    return build_zip(sample(src), out, requirements="app/requirements.txt")


def package(src: Path, out: Path) -> dict:
    argv = ["package", "--src", str(src.parent), *SAMPLE, "--out", str(out), "--json"]
    result = runner.invoke(cli, argv)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def hashes(built: dict) -> dict[str, str]:
    return {kind: item["sha256"] for kind, item in built.items()}


def test_package_twice_gives_identical_hashes(tmp_path: Path) -> None:
    src = make_source(tmp_path)
    first, second = package(src, tmp_path / "a"), package(src, tmp_path / "b")
    assert set(first) == {"source", "cloudrun", "appservice"}
    assert hashes(first) == hashes(second)
    for item in first.values():
        assert hashlib.sha256(Path(item["path"]).read_bytes()).hexdigest() == item["sha256"]


def test_one_changed_byte_changes_every_hash(tmp_path: Path) -> None:
    src = make_source(tmp_path)
    before = hashes(package(src, tmp_path / "out"))
    (src / "VERSION").write_text("2.0.1\n")
    after = hashes(package(src, tmp_path / "out"))
    assert all(before[kind] != after[kind] for kind in before)


def test_package_only_and_errors(tmp_path: Path) -> None:
    src = make_source(tmp_path)
    only = runner.invoke(
        cli,
        ["package", "--src", str(src.parent), *SAMPLE, "--out", str(tmp_path / "o"),
         "--only", "cloudrun"],
    )  # fmt: skip
    assert only.exit_code == 0
    assert only.output.split()[0] == "cloudrun"
    assert [p.name[:9] for p in (tmp_path / "o").iterdir()] == ["cloudrun-"]
    missing = runner.invoke(cli, ["package", "--src", str(tmp_path / "nope")])
    assert missing.exit_code == 2
    assert "not found" in missing.output


def test_cloudrun_context_layout(tmp_path: Path) -> None:
    pkg = build_cloudrun_context(make_source(tmp_path), tmp_path / "out")
    with tarfile.open(pkg.path) as tar:
        listed = tar.getnames()
        dockerfile = tar.extractfile("Dockerfile").read()  # type: ignore[union-attr]
    assert listed == ["Dockerfile", "app", "app/VERSION", "app/main.py", "app/requirements.txt"]
    assert dockerfile == (TEMPLATES / "Dockerfile").read_bytes()


def test_appservice_zip_layout_and_reproducibility(tmp_path: Path) -> None:
    src = make_source(tmp_path)
    first = build_appservice_zip(src, tmp_path / "a")
    os.utime(src / "main.py", (1_700_000_000, 1_700_000_000))
    second = build_appservice_zip(src, tmp_path / "b")
    assert first.sha256 == second.sha256
    with zipfile.ZipFile(first.path) as zf:
        infos = {i.filename: i for i in zf.infolist()}
        assert zf.read("requirements.txt") == (src / "requirements.txt").read_bytes()
    assert list(infos) == [
        "requirements.txt",
        "startup.sh",
        "app/",
        "app/VERSION",
        "app/main.py",
        "app/requirements.txt",
    ]
    assert infos["startup.sh"].external_attr >> 16 == 0o100755
    assert {i.date_time for i in infos.values()} == {(1980, 1, 1, 0, 0, 0)}


# --- the Dockerfile template -------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (TEMPLATES / "Dockerfile").read_text()
    text = re.sub(r"\\\n\s*", " ", text)
    lines = [line.strip() for line in text.splitlines()]
    return [tuple(line.split(None, 1)) for line in lines if line and not line.startswith("#")]


def final_stage() -> list[tuple[str, str]]:
    instructions = dockerfile_instructions()
    last_from = max(i for i, (op, _) in enumerate(instructions) if op == "FROM")
    return instructions[last_from:]


def test_dockerfile_is_multi_stage_and_non_root() -> None:
    instructions = dockerfile_instructions()
    assert sum(op == "FROM" for op, _ in instructions) >= 2
    final = final_stage()
    assert any(op == "COPY" and arg.startswith("--from=build") for op, arg in final)
    users = [arg for op, arg in final if op == "USER"]
    assert users, "the final stage must switch to a non-root user"
    assert users[-1].split(":")[0] not in ("0", "root")
    ops = [op for op, _ in final]
    assert ops.index("USER") < ops.index("CMD")
    assert "HEALTHCHECK" in ops


def test_dockerfile_runs_gunicorn_with_uvicorn_workers() -> None:
    cmd = json.loads(dict(final_stage())["CMD"])
    assert cmd[0] == "gunicorn"
    assert cmd[cmd.index("--worker-class") + 1] == "uvicorn_worker.UvicornWorker"
    assert cmd[-1] == "app.main:app"


# --- both packages really serve the sample app ---------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serving(argv: list[str], cwd: Path, env: dict[str, str]) -> Iterator[subprocess.Popen]:
    proc = subprocess.Popen(
        argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_health(proc: subprocess.Popen, port: int) -> dict:
    url = f"http://127.0.0.1:{port}/health"
    for _ in range(300):
        if proc.poll() is not None:
            output = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
            pytest.fail(f"server exited with {proc.returncode}:\n{output[-3000:]}")
        try:
            return httpx.get(url, timeout=2).json()
        except httpx.TransportError:
            time.sleep(0.1)
    pytest.fail("server never answered /health")


def base_env(port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PORT", "HOST", "DATABASE"))}
    env.update(
        PATH=f"{VENV_BIN}:{env.get('PATH', '/usr/bin:/bin')}",
        PORT=str(port),
        SECRET_KEY=SECRET,
        WEB_CONCURRENCY="1",
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


needs_app = pytest.mark.skipif(
    not (APP / "main.py").is_file(), reason="sample app (app/main.py) not written yet"
)


@needs_app
def test_cloudrun_context_serves_health(tmp_path: Path) -> None:
    """Run the image's ENV + WORKDIR + CMD from the unpacked build context (no docker here)."""
    pkg = build_cloudrun_context(APP, tmp_path / "dist")
    ctx = tmp_path / "srv"
    with tarfile.open(pkg.path) as tar:
        tar.extractall(ctx, filter="data")
    final = final_stage()
    env = base_env(free_port())
    for op, arg in final:
        if op == "ENV":
            for key, value in re.findall(r"(\w+)=(\S+)", arg):
                if key not in ("PATH", "PORT"):
                    env[key] = value
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'app.db'}"
    cmd = json.loads(dict(final)["CMD"])
    with serving(cmd, ctx, env) as proc:
        body = wait_health(proc, int(env["PORT"]))
        health = json.loads(dict(final)["HEALTHCHECK"].split("CMD", 1)[1])
        assert subprocess.run(health, env=env, timeout=30, check=False).returncode == 0
    assert body == {"status": "ok", "version": (APP / "VERSION").read_text().strip()}
    assert env["ENVIRONMENT"] == "production"


def fake_venv(root: Path) -> None:
    """A virtualenv made of links to the test venv (the real script would pip install)."""
    venv_root = Path(sys.prefix)
    root.mkdir(parents=True)
    shutil.copy(venv_root / "pyvenv.cfg", root / "pyvenv.cfg")
    (root / "lib").symlink_to(venv_root / "lib")
    (root / "bin").mkdir()
    (root / "bin" / "python").symlink_to(Path(sys.executable).resolve())
    (root / ".complete").touch()


@needs_app
def test_appservice_zip_starts_with_its_startup_script(tmp_path: Path) -> None:
    pkg = build_appservice_zip(APP, tmp_path / "dist")
    wwwroot = tmp_path / "wwwroot"
    with zipfile.ZipFile(pkg.path) as zf:
        zf.extractall(wwwroot)  # noqa: S202 - our own zip, built just above
    req_hash = hashlib.sha256((wwwroot / "requirements.txt").read_bytes()).hexdigest()[:16]
    fake_venv(tmp_path / "venvs" / req_hash)
    env = base_env(free_port())
    env.update(
        DEPLOYER_VENV_ROOT=str(tmp_path / "venvs"),
        ENVIRONMENT="production",
        DATABASE_URL=f"sqlite:///{tmp_path / 'app.db'}",
    )
    with serving(["sh", str(wwwroot / "startup.sh")], tmp_path, env) as proc:
        body = wait_health(proc, int(env["PORT"]))
    assert body["status"] == "ok"
    assert body["version"] == (APP / "VERSION").read_text().strip()


def test_startup_script_builds_its_venv_once(tmp_path: Path) -> None:
    """First start: a venv keyed by the requirements hash, marked complete; later starts reuse it.

    The requirements are empty so pip needs no network; gunicorn is then missing on purpose, so
    the script stops at its final exec.
    """
    src = make_source(tmp_path)
    (src / "requirements.txt").write_text("# nothing to install\n")
    pkg = build_appservice_zip(src, tmp_path / "dist")
    wwwroot = tmp_path / "wwwroot"
    with zipfile.ZipFile(pkg.path) as zf:
        zf.extractall(wwwroot)  # noqa: S202 - our own zip, built just above
    env = base_env(free_port())
    env["DEPLOYER_VENV_ROOT"] = str(tmp_path / "venvs")
    req_hash = hashlib.sha256(b"# nothing to install\n").hexdigest()[:16]
    marker = tmp_path / "venvs" / req_hash / ".complete"

    def start() -> subprocess.CompletedProcess:
        return subprocess.run(
            ["sh", str(wwwroot / "startup.sh")],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    first = start()
    assert marker.is_file(), first.stderr
    assert "No module named gunicorn" in first.stderr
    stamp = marker.stat().st_mtime_ns
    second = start()
    assert marker.stat().st_mtime_ns == stamp
    assert "No module named gunicorn" in second.stderr
