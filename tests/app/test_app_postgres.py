"""The migrations and the app against a REAL PostgreSQL 15 server (see conftest `postgres`)."""

import shutil
from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from app_testkit import REPO, ClientFactory, add_account, clean_env, run_python

from app import migrate
from app.db import make_engine
from app.models import Base

ALEMBIC = ("-m", "alembic", "-c", "app/alembic.ini")


def table_names(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def release_copy(tmp_path: Path) -> Path:
    """The app directory as deployer uploads it: releases/<id>/app/."""
    release = tmp_path / "release"
    shutil.copytree(
        REPO / "app", release / "app", ignore=shutil.ignore_patterns("__pycache__", "*.db")
    )
    return release


def test_alembic_cli_upgrade_head_from_the_release_dir(pg_url: str, tmp_path: Path) -> None:
    """`alembic -c app/alembic.ini upgrade head`, DATABASE_URL from the environment only."""
    release = release_copy(tmp_path)
    env = clean_env(DATABASE_URL=pg_url)
    del env["PYTHONPATH"]
    done = run_python(*ALEMBIC, "upgrade", "head", env=env, cwd=release)
    assert done.returncode == 0, done.stderr
    assert "Running upgrade  -> 0001" in done.stderr
    assert pg_url.split("@")[0].split(":")[-1] not in done.stdout + done.stderr  # no password
    assert table_names(pg_url) == {"alembic_version", "users", "items"}
    engine = make_engine(pg_url)
    with engine.connect() as connection:
        assert connection.scalar(sa.text("SELECT version_num FROM alembic_version")) == "0001"
    engine.dispose()


def test_migrated_schema_matches_the_models(pg_url: str) -> None:
    migrate.upgrade(pg_url)
    engine = make_engine(pg_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_downgrade_to_base_then_upgrade_again(pg_url: str) -> None:
    migrate.upgrade(pg_url)
    migrate.downgrade(pg_url, "base")
    assert table_names(pg_url) == {"alembic_version"}
    migrate.upgrade(pg_url)
    assert table_names(pg_url) == {"alembic_version", "users", "items"}


def test_app_crud_on_postgres(pg_url: str, make_client: ClientFactory, password_hash: str) -> None:
    migrate.upgrade(pg_url)
    client = make_client(pg_url)
    assert client.get("/ready").json()["database"] == "ok"
    alice = add_account(client, password_hash, "alice")
    bob = add_account(client, password_hash, "bob")

    ids = []
    for n in range(3):
        response = client.post("/items", json={"title": f"pg {n}"}, headers=alice.headers)
        assert response.status_code == 201
        ids.append(response.json()["id"])
    page = client.get("/items", params={"skip": 1, "limit": 1}, headers=alice.headers).json()
    assert [i["title"] for i in page["items"]] == ["pg 1"]
    assert page["total"] == 3

    url = f"/items/{ids[0]}"
    assert client.patch(url, json={"title": "renamed"}, headers=alice.headers).json()["title"] == (
        "renamed"
    )
    assert client.get(url, headers=bob.headers).status_code == 403
    assert client.delete(url, headers=alice.headers).status_code == 204
    assert client.get(url, headers=alice.headers).status_code == 404

    again = {"username": "alice", "email": "new@example.com", "password": "long enough"}
    assert client.post("/users", json=again).status_code == 409


def test_deleting_a_user_deletes_their_items_on_postgres(
    pg_url: str, make_client: ClientFactory, password_hash: str
) -> None:
    migrate.upgrade(pg_url)
    client = make_client(pg_url)
    alice = add_account(client, password_hash, "alice")
    client.post("/items", json={"title": "doomed"}, headers=alice.headers)
    engine = client.app.state.engine  # type: ignore[attr-defined]
    with engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM users WHERE id = :id"), {"id": alice.id})
        assert connection.execute(sa.text("SELECT count(*) FROM items")).scalar_one() == 0


def test_ready_503_with_wrong_postgres_password(pg_url: str, make_client: ClientFactory) -> None:
    user_and_password, host = pg_url.split("@")
    wrong = f"{user_and_password.rsplit(':', 1)[0]}:wrong@{host}"
    assert make_client(wrong).get("/ready").status_code == 503
