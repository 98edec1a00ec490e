"""Items CRUD, ownership (403), validation (422) and pagination bounds."""

import pytest
import sqlalchemy as sa
from app_testkit import Account, AccountFactory
from fastapi.testclient import TestClient


def create(client: TestClient, account: Account, title: str = "thing", **fields: object) -> dict:
    response = client.post("/items", json={"title": title, **fields}, headers=account.headers)
    assert response.status_code == 201, response.text
    return response.json()


def test_crud_round_trip(client: TestClient, alice: Account) -> None:
    item = create(client, alice, "  first  ", description="hello")
    assert item["title"] == "first"
    assert item["owner_id"] == alice.id
    url = f"/items/{item['id']}"

    assert client.get(url, headers=alice.headers).json() == item
    patched = client.patch(url, json={"description": "changed"}, headers=alice.headers)
    assert patched.status_code == 200
    assert patched.json()["description"] == "changed"
    assert patched.json()["title"] == "first"
    cleared = client.patch(url, json={"description": None}, headers=alice.headers)
    assert cleared.json()["description"] is None

    assert client.delete(url, headers=alice.headers).status_code == 204
    assert client.get(url, headers=alice.headers).status_code == 404
    assert client.delete(url, headers=alice.headers).status_code == 404


def test_items_need_a_token(client: TestClient, alice: Account) -> None:
    item = create(client, alice)
    assert client.get("/items").status_code == 401
    assert client.post("/items", json={"title": "x"}).status_code == 401
    assert client.get(f"/items/{item['id']}").status_code == 401
    assert client.delete(f"/items/{item['id']}").status_code == 401


def test_other_users_get_403_and_change_nothing(
    client: TestClient, alice: Account, bob: Account
) -> None:
    item = create(client, alice, "alice's")
    url = f"/items/{item['id']}"
    assert client.get(url, headers=bob.headers).status_code == 403
    assert client.patch(url, json={"title": "bob's"}, headers=bob.headers).status_code == 403
    assert client.delete(url, headers=bob.headers).status_code == 403
    assert client.get(url, headers=alice.headers).json() == item


def test_list_shows_only_my_items(client: TestClient, alice: Account, bob: Account) -> None:
    create(client, alice, "a1")
    create(client, bob, "b1")
    create(client, alice, "a2")
    page = client.get("/items", headers=alice.headers).json()
    assert [item["title"] for item in page["items"]] == ["a1", "a2"]
    assert page["total"] == 2


def test_pagination_slices_in_id_order(client: TestClient, alice: Account) -> None:
    for n in range(5):
        create(client, alice, f"item {n}")
    page = client.get("/items", params={"skip": 1, "limit": 3}, headers=alice.headers).json()
    assert [item["title"] for item in page["items"]] == ["item 1", "item 2", "item 3"]
    assert (page["total"], page["skip"], page["limit"]) == (5, 1, 3)
    tail = client.get("/items", params={"skip": 4, "limit": 3}, headers=alice.headers).json()
    assert [item["title"] for item in tail["items"]] == ["item 4"]
    beyond = client.get("/items", params={"skip": 10}, headers=alice.headers).json()
    assert beyond["items"] == []
    assert beyond["total"] == 5


def test_pagination_defaults_and_maximum(client: TestClient, alice: Account) -> None:
    page = client.get("/items", headers=alice.headers).json()
    assert (page["skip"], page["limit"]) == (0, 20)
    assert client.get("/items", params={"limit": 100}, headers=alice.headers).status_code == 200


@pytest.mark.parametrize(
    "params", [{"limit": 0}, {"limit": 101}, {"skip": -1}, {"limit": "ten"}, {"skip": 10**7}]
)
def test_pagination_out_of_bounds_gets_422(
    client: TestClient, alice: Account, params: dict[str, object]
) -> None:
    assert client.get("/items", params=params, headers=alice.headers).status_code == 422


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"title": ""},
        {"title": "   "},
        {"title": "x" * 201},
        {"title": 5},
        {"title": "ok", "description": "x" * 5001},
        {"title": "ok", "owner_id": 99},
    ],
)
def test_invalid_item_gets_422(client: TestClient, alice: Account, body: dict) -> None:
    assert client.post("/items", json=body, headers=alice.headers).status_code == 422


def test_invalid_update_gets_422(client: TestClient, alice: Account) -> None:
    url = f"/items/{create(client, alice)['id']}"
    for body in ({"title": None}, {"title": ""}, {"owner_id": 2}):
        assert client.patch(url, json=body, headers=alice.headers).status_code == 422, body


@pytest.mark.parametrize("item_id", ["0", "-1", "abc", str(2**31)])
def test_invalid_item_id_gets_422(client: TestClient, alice: Account, item_id: str) -> None:
    assert client.get(f"/items/{item_id}", headers=alice.headers).status_code == 422


def test_missing_item_gets_404(client: TestClient, make_account: AccountFactory) -> None:
    carol = make_account("carol")
    assert client.get("/items/12345", headers=carol.headers).status_code == 404
    assert client.patch("/items/12345", json={}, headers=carol.headers).status_code == 404


def test_deleting_a_user_deletes_their_items(client: TestClient, alice: Account) -> None:
    """SQLite enforces the foreign key's ON DELETE CASCADE too (PRAGMA foreign_keys)."""
    create(client, alice, "doomed")
    with client.app.state.engine.begin() as connection:  # type: ignore[attr-defined]
        connection.execute(sa.text("DELETE FROM users WHERE id = :id"), {"id": alice.id})
        assert connection.execute(sa.text("SELECT count(*) FROM items")).scalar_one() == 0
