"""Fixtures for the sample app: a migrated SQLite per test, users with tokens, real PostgreSQL.

Helpers live in app_testkit.py (import it by name; conftest modules are not importable).
"""

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from app_testkit import (
    APP_ENV_VARS,
    PASSWORD,
    Account,
    AccountFactory,
    ClientFactory,
    PostgresServer,
    add_account,
    fresh_database,
    make_settings,
    postgres_cluster,
)
from fastapi.testclient import TestClient

from app import migrate
from app.main import create_app
from app.security import hash_password


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests start from defaults, whatever the outer environment or a `.env` file holds."""
    for name in APP_ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with all migrations applied, made once and copied by each test."""
    path = tmp_path_factory.mktemp("template") / "app.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def sqlite_url(migrated_sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "app.db"
    shutil.copyfile(migrated_sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def make_client(sqlite_url: str) -> Iterator[ClientFactory]:
    """Build a started TestClient for an app with test settings (default: the test's SQLite)."""
    clients: list[TestClient] = []

    def factory(database_url: str = sqlite_url, **overrides: object) -> TestClient:
        client = TestClient(create_app(make_settings(database_url, **overrides)))
        client.__enter__()
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: ClientFactory) -> TestClient:
    return make_client()


@pytest.fixture(scope="session")
def password_hash() -> str:
    """One real argon2 hash of PASSWORD, shared so tests do not pay ~0.4 s per user."""
    return hash_password(PASSWORD)


@pytest.fixture
def make_account(client: TestClient, password_hash: str) -> AccountFactory:
    return lambda username: add_account(client, password_hash, username)


@pytest.fixture
def alice(make_account: AccountFactory) -> Account:
    return make_account("alice")


@pytest.fixture
def bob(make_account: AccountFactory) -> Account:
    return make_account("bob")


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL 15 server on 127.0.0.1 for the whole session."""
    with postgres_cluster() as server:
        yield server


@pytest.fixture
def pg_url(postgres: PostgresServer) -> Iterator[str]:
    """A fresh, empty database owned by the unprivileged `app` role."""
    with fresh_database(postgres) as url:
        yield url
