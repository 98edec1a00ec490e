"""Liveness reports the version without the database; readiness follows the database."""

import time
from pathlib import Path

import pytest
from app_testkit import REPO, ClientFactory, free_port
from fastapi.testclient import TestClient

from app.version import read_version_file


def test_health_reports_the_version_file(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    expected = (REPO / "app" / "VERSION").read_text().strip()
    assert response.json() == {"status": "ok", "version": expected}


def test_version_comes_from_the_version_file(
    make_client: ClientFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    version_file = tmp_path / "VERSION"
    version_file.write_text("7.8.9\n")
    monkeypatch.setattr("app.version.VERSION_FILE", version_file)
    assert make_client().get("/health").json()["version"] == "7.8.9"


def test_app_version_env_overrides_the_file(
    make_client: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_VERSION", "2.3.4-rc1")
    assert make_client().get("/health").json()["version"] == "2.3.4-rc1"


def test_health_does_not_touch_the_database(make_client: ClientFactory, tmp_path: Path) -> None:
    client = make_client(f"sqlite:///{tmp_path}/missing-dir/app.db")
    assert client.get("/health").status_code == 200
    assert client.get("/ready").status_code == 503


def test_ready_when_the_database_answers(client: TestClient) -> None:
    response = client.get("/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "version": read_version_file(), "database": "ok"}


def test_ready_503_when_postgres_is_unreachable(make_client: ClientFactory) -> None:
    nobody = f"postgresql+psycopg://app:pw@127.0.0.1:{free_port()}/app"
    response = make_client(nobody).get("/ready")
    assert response.status_code == 503
    assert response.json()["database"] == "down"
    assert response.json()["status"] == "unavailable"


def test_ready_503_when_the_database_hangs(
    make_client: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database that does not answer within READY_TIMEOUT_SECONDS counts as down."""
    monkeypatch.setattr("app.routes.health.ping", lambda _engine: time.sleep(1))
    client = make_client(ready_timeout_seconds=0.05)
    assert client.get("/ready").status_code == 503


def test_health_and_ready_answer_head_probes(client: TestClient) -> None:
    """Load balancers often probe with HEAD."""
    assert client.head("/health").status_code == 200
    assert client.head("/ready").status_code == 200
