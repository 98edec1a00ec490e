"""Helpers for the sample app's tests (imported by name; pytest's conftest is not importable).

`postgres_cluster` runs Debian's postgresql 15 on a random loopback port with initdb + pg_ctl,
as the `postgres` user when we are root (initdb refuses root), and stops it by PID.
"""

import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.config import Settings
from app.models import User
from app.security import create_access_token

REPO = Path(__file__).resolve().parents[2]
SECRET = "test-secret-key-0123456789-abcdefghijklmnop"
PASSWORD = "correct horse battery"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
APP_ENV_VARS = (
    "DATABASE_URL",
    "SECRET_KEY",
    "ENVIRONMENT",
    "APP_VERSION",
    "CORS_ORIGINS",
    "LOG_LEVEL",
    "ACCESS_TOKEN_EXPIRE_MINUTES",
    "READY_TIMEOUT_SECONDS",
    "PORT",
    "HOST",
    "WEB_CONCURRENCY",
    "PROMETHEUS_MULTIPROC_DIR",
)

ClientFactory = Callable[..., TestClient]


def clean_env(**overrides: str) -> dict[str, str]:
    """The current environment without app settings, plus `overrides` (for subprocesses)."""
    env = {k: v for k, v in os.environ.items() if k not in APP_ENV_VARS}
    env["PYTHONPATH"] = str(REPO)
    env.update(overrides)
    return env


def make_settings(database_url: str, **overrides: object) -> Settings:
    """Test settings: a fixed strong key, no `.env` file, `overrides` on top."""
    values: dict[str, object] = {
        "database_url": database_url,
        "environment": "test",
        "secret_key": SECRET,
        "_env_file": None,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@dataclass
class Account:
    id: int
    username: str
    headers: dict[str, str]


AccountFactory = Callable[[str], Account]


def add_account(client: TestClient, password_hash: str, username: str) -> Account:
    """Insert a user directly and mint a valid token for it with the app's own key."""
    state = client.app.state  # type: ignore[attr-defined]
    with Session(state.engine) as session:
        email = f"{username}@example.com"
        user = User(username=username, email=email, hashed_password=password_hash)
        session.add(user)
        session.commit()
        user_id = user.id
    token = create_access_token(str(user_id), state.settings.jwt_key, timedelta(minutes=5))
    return Account(user_id, username, {"Authorization": f"Bearer {token}"})


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_serving(base: str, process: subprocess.Popen[str], seconds: float = 90) -> None:
    """Wait until GET {base}/health answers 200 (workers may boot slowly on a busy machine)."""
    import httpx

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited early with code {process.returncode}")
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{base}/health did not answer 200 within {seconds} s")


def run_python(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )


# ---------------------------------------------------------------- PostgreSQL


@dataclass
class PostgresServer:
    port: int
    pid: int
    superuser_url: str  # libpq URL for the `postgres` superuser
    app_password: str  # password of the unprivileged `app` role that owns test databases

    def database_url(self, database: str) -> str:
        return f"postgresql+psycopg://app:{self.app_password}@127.0.0.1:{self.port}/{database}"


def require_postgres_binaries() -> None:
    """Skip without the binaries, but fail under CI=true: CI must run these tests."""
    missing = [name for name in ("initdb", "pg_ctl") if not (PG_BIN / name).exists()]
    if missing:
        message = f"PostgreSQL 15 binaries missing in {PG_BIN}: {missing} (apt install postgresql)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


def as_postgres_user(base: Path) -> list[str]:
    """Command prefix that runs as `postgres` when we are root; chown `base` to that user."""
    if os.geteuid() != 0:
        return []
    try:
        account = pwd.getpwnam("postgres")
    except KeyError:
        pytest.fail("we are root but the `postgres` user is missing (initdb refuses root)")
    for path in (base, *base.rglob("*")):
        os.chown(path, account.pw_uid, account.pw_gid)
    return ["runuser", "-u", "postgres", "--"]


def stop_by_pid(pid: int, seconds: float = 30) -> None:
    """Fast shutdown (SIGINT) of the postmaster, escalating to SIGKILL if it hangs."""
    for sig in (signal.SIGINT, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)


def start_cluster(base: Path, run_as: list[str]) -> int:
    """pg_ctl start on a free loopback port (retrying once on a port race); return the port."""
    for _attempt in range(2):
        port = free_port()
        options = (
            f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={base} "
            "-c fsync=off -c full_page_writes=off"
        )
        started = subprocess.run(
            [*run_as, str(PG_BIN / "pg_ctl"), "-D", str(base / "data"), "-l", str(base / "log"),
             "-o", options, "-w", "-t", "60", "start"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if started.returncode == 0:
            return port
    log = (base / "log").read_text(errors="replace") if (base / "log").exists() else ""
    pytest.fail(f"pg_ctl start failed: {started.stdout}{started.stderr}\n{log}")


@contextmanager
def postgres_cluster() -> Iterator[PostgresServer]:
    """initdb a throwaway cluster in a temp dir, start it, create the `app` role; clean up."""
    import psycopg
    from psycopg import sql

    require_postgres_binaries()
    base = Path(tempfile.mkdtemp(prefix="app-pg-"))
    pid = 0
    try:
        superuser_password = secrets.token_urlsafe(24)
        pwfile = base / "pwfile"
        pwfile.write_text(superuser_password + "\n")
        pwfile.chmod(0o600)
        run_as = as_postgres_user(base)
        subprocess.run(
            [*run_as, str(PG_BIN / "initdb"), "-D", str(base / "data"), "-U", "postgres",
             f"--pwfile={pwfile}", "--auth=scram-sha-256", "-E", "UTF8", "--locale=C",
             "--no-sync", "--no-instructions"],
            capture_output=True, check=True,
        )  # fmt: skip
        port = start_cluster(base, run_as)
        pid = int((base / "data" / "postmaster.pid").read_text().split()[0])
        superuser_url = f"postgresql://postgres:{superuser_password}@127.0.0.1:{port}/postgres"
        app_password = secrets.token_urlsafe(24)
        with psycopg.connect(superuser_url, autocommit=True) as connection:
            connection.execute(
                sql.SQL("CREATE ROLE app LOGIN PASSWORD {}").format(sql.Literal(app_password))
            )
        yield PostgresServer(port, pid, superuser_url, app_password)
    finally:
        if pid:
            stop_by_pid(pid)
        shutil.rmtree(base, ignore_errors=True)


@contextmanager
def fresh_database(server: PostgresServer) -> Iterator[str]:
    """A new empty database owned by `app`, dropped afterwards; yields its SQLAlchemy URL."""
    import psycopg
    from psycopg import sql

    name = f"test_{secrets.token_hex(6)}"
    with psycopg.connect(server.superuser_url, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {} OWNER app").format(sql.Identifier(name)))
    try:
        yield server.database_url(name)
    finally:
        with psycopg.connect(server.superuser_url, autocommit=True) as connection:
            drop = sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name))
            connection.execute(drop)
