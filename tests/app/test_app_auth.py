"""OAuth2 password flow, JWT validation and registration."""

from datetime import UTC, datetime, timedelta

import jwt
import pytest
from app_testkit import PASSWORD, SECRET, Account
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import User
from app.security import create_access_token


def login(client: TestClient, username: str, password: str) -> tuple[int, dict]:
    response = client.post("/token", data={"username": username, "password": password})
    return response.status_code, response.json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_login_returns_a_token_that_identifies_the_user(client: TestClient, alice: Account) -> None:
    status, body = login(client, "alice", PASSWORD)
    assert status == 200
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 30 * 60
    me = client.get("/users/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json()["username"] == "alice"
    assert me.json()["id"] == alice.id


BAD_LOGINS = [("alice", "wrong password"), ("nobody", PASSWORD)]


@pytest.mark.parametrize(("username", "password"), BAD_LOGINS)
def test_bad_credentials_get_401(
    client: TestClient, alice: Account, username: str, password: str
) -> None:
    """Wrong password and unknown user get the same answer."""
    response = client.post("/token", data={"username": username, "password": password})
    assert response.status_code == 401
    assert response.json()["detail"] == "Incorrect username or password"
    assert response.headers["www-authenticate"] == "Bearer"


def test_inactive_user_cannot_log_in_or_use_a_token(client: TestClient, alice: Account) -> None:
    with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
        session.get_one(User, alice.id).is_active = False
        session.commit()
    assert login(client, "alice", PASSWORD)[0] == 401
    assert client.get("/users/me", headers=alice.headers).status_code == 401


def test_missing_token_gets_401(client: TestClient) -> None:
    response = client.get("/users/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_expired_token_gets_401(client: TestClient, alice: Account) -> None:
    expired = create_access_token(str(alice.id), SECRET, timedelta(seconds=-1))
    assert client.get("/users/me", headers=bearer(expired)).status_code == 401


def test_token_signed_with_another_key_gets_401(client: TestClient, alice: Account) -> None:
    forged = create_access_token(str(alice.id), "another-key-" + "x" * 40, timedelta(minutes=5))
    assert client.get("/users/me", headers=bearer(forged)).status_code == 401


def test_unsigned_and_garbage_tokens_get_401(client: TestClient, alice: Account) -> None:
    now = datetime.now(UTC)
    claims = {"sub": str(alice.id), "iat": now, "exp": now + timedelta(minutes=5)}
    unsigned = jwt.encode(claims, None, algorithm="none")
    for token in (unsigned, "not-a-jwt", alice.headers["Authorization"].split()[1] + "x"):
        assert client.get("/users/me", headers=bearer(token)).status_code == 401, token


def test_token_for_a_deleted_user_gets_401(client: TestClient, alice: Account) -> None:
    with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
        session.delete(session.get_one(User, alice.id))
        session.commit()
    assert client.get("/users/me", headers=alice.headers).status_code == 401


def test_token_without_expiry_gets_401(client: TestClient, alice: Account) -> None:
    claims = {"sub": str(alice.id), "iat": datetime.now(UTC)}
    token = jwt.encode(claims, SECRET, algorithm="HS256")
    assert client.get("/users/me", headers=bearer(token)).status_code == 401


def test_registration_stores_an_argon2_hash_and_allows_login(client: TestClient) -> None:
    body = {"username": "carol", "email": "Carol@Example.com", "password": "s3cret-enough"}
    response = client.post("/users", json=body)
    assert response.status_code == 201
    assert response.json()["email"] == "carol@example.com"
    assert "password" not in response.text
    with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
        stored = session.scalar(select(User.hashed_password).where(User.username == "carol"))
    assert stored is not None
    assert stored.startswith("$argon2id$")
    assert "s3cret-enough" not in stored
    assert login(client, "carol", "s3cret-enough")[0] == 200


@pytest.mark.parametrize(
    "clash",
    [
        {"username": "alice", "email": "other@example.com"},
        {"username": "other", "email": "ALICE@example.com"},
    ],
)
def test_registration_conflicts_get_409(
    client: TestClient, alice: Account, clash: dict[str, str]
) -> None:
    response = client.post("/users", json={**clash, "password": "long enough"})
    assert response.status_code == 409


@pytest.mark.parametrize(
    "body",
    [
        {"username": "dave", "email": "not-an-email", "password": "long enough"},
        {"username": "dave", "email": "dave@example.com", "password": "short"},
        {"username": "dave", "email": "dave@example.com", "password": "x" * 129},
        {"username": "d", "email": "dave@example.com", "password": "long enough"},
        {"username": "dave smith", "email": "dave@example.com", "password": "long enough"},
        {"username": "dave", "email": "dave@example.com"},
        {"username": "dave", "email": "dave@example.com", "password": "long enough", "admin": 1},
    ],
)
def test_registration_validation_gets_422(client: TestClient, body: dict[str, object]) -> None:
    assert client.post("/users", json=body).status_code == 422
