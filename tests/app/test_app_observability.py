"""Request IDs, timing, JSON logs without secrets, Prometheus metrics and CORS."""

import json
import re

import pytest
from app_testkit import PASSWORD, Account, ClientFactory, add_account
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families


def test_request_id_is_echoed_when_safe(client: TestClient) -> None:
    response = client.get("/health", headers={"X-Request-ID": "abc-123.x"})
    assert response.headers["x-request-id"] == "abc-123.x"


UNSAFE_IDS = [None, "", "has space", "x" * 129, "caf\u00e9".encode("latin-1"), "a\tb"]


@pytest.mark.parametrize("incoming", UNSAFE_IDS)
def test_request_id_is_generated_otherwise(
    client: TestClient, incoming: str | bytes | None
) -> None:
    headers = {} if incoming is None else {"X-Request-ID": incoming}
    request_id = client.get("/health", headers=headers).headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)


def test_every_response_has_timing_and_id_even_errors(client: TestClient) -> None:
    for path in ("/health", "/does-not-exist", "/users/me"):
        response = client.get(path)
        assert float(response.headers["x-process-time-ms"]) >= 0
        assert response.headers["x-request-id"]


def log_lines(stderr: str) -> list[dict]:
    """Every line must be one JSON object."""
    return [json.loads(line) for line in stderr.splitlines() if line.strip()]


def test_logs_are_json_lines_with_the_request_id(
    capsys: pytest.CaptureFixture[str], make_client: ClientFactory
) -> None:
    client = make_client()
    client.get("/items/7", headers={"X-Request-ID": "trace-me"})
    entries = log_lines(capsys.readouterr().err)
    access = [e for e in entries if e["logger"] == "app.access" and e["request_id"] == "trace-me"]
    assert len(access) == 1
    assert access[0]["route"] == "/items/{item_id}"
    assert access[0]["path"] == "/items/7"
    assert access[0]["status"] == 401
    assert access[0]["level"] == "INFO"
    assert access[0]["duration_ms"] >= 0


def test_secrets_never_reach_the_logs(
    capsys: pytest.CaptureFixture[str], make_client: ClientFactory, password_hash: str
) -> None:
    client = make_client(log_level="DEBUG")
    alice = add_account(client, password_hash, "alice")
    token = client.post("/token", data={"username": "alice", "password": PASSWORD}).json()
    client.post("/token", data={"username": "alice", "password": "wrong-guess-42"})
    client.get("/users/me", headers={"Authorization": "Bearer forged.token.value"})
    client.get("/users/me?access_token=in-query-string", headers=alice.headers)
    zed = {"username": "zed", "email": "z@example.com", "password": "pw-zed-1"}
    assert client.post("/users", json=zed).status_code == 201
    # The test's HTTP client logs its own requests in this process: only the app's lines count.
    entries = [e for e in log_lines(capsys.readouterr().err) if e["logger"] != "httpx"]
    output = "\n".join(json.dumps(e) for e in entries)
    secrets = (
        PASSWORD,
        "wrong-guess-42",
        "pw-zed-1",
        token["access_token"],
        "forged.token.value",
        alice.headers["Authorization"].split()[1],
        "in-query-string",
        client.app.state.settings.jwt_key,  # type: ignore[attr-defined]
    )
    assert "login succeeded" in output
    for secret in secrets:
        assert secret not in output


def test_sensitive_extra_fields_are_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    import logging

    from app.logs import configure_logging

    configure_logging("INFO")
    logging.getLogger("app.test").info("x", extra={"password": "p4ss", "auth_token": "t0k", "n": 1})
    (entry,) = [e for e in log_lines(capsys.readouterr().err) if e["logger"] == "app.test"]
    assert entry["password"] == entry["auth_token"] == "[redacted]"
    assert entry["n"] == 1


def metric_value(client: TestClient, name: str, **labels: str) -> float:
    text = client.get("/metrics").text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0.0


def test_metrics_count_by_route_template(client: TestClient, alice: Account) -> None:
    labels = {"method": "GET", "route": "/items/{item_id}", "status": "404"}
    before = metric_value(client, "http_requests_total", **labels)
    for item_id in (11, 12, 13):
        client.get(f"/items/{item_id}", headers=alice.headers)
    assert metric_value(client, "http_requests_total", **labels) == before + 3
    assert "/items/11" not in client.get("/metrics").text


def test_unknown_paths_share_one_metrics_label(client: TestClient) -> None:
    labels = {"method": "GET", "route": "<unmatched>", "status": "404"}
    before = metric_value(client, "http_requests_total", **labels)
    client.get("/random-1")
    client.get("/random-2")
    assert metric_value(client, "http_requests_total", **labels) == before + 2
    assert "/random-1" not in client.get("/metrics").text


def test_latency_histogram_counts_requests(client: TestClient) -> None:
    labels = {"method": "GET", "route": "/health"}
    before = metric_value(client, "http_request_duration_seconds_count", **labels)
    client.get("/health")
    assert metric_value(client, "http_request_duration_seconds_count", **labels) == before + 1


def test_cors_allows_configured_origins_only(make_client: ClientFactory) -> None:
    client = make_client(cors_origins=["https://app.example"])
    preflight = {"Access-Control-Request-Method": "POST"}
    allowed = client.options("/items", headers={"Origin": "https://app.example", **preflight})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://app.example"
    denied = client.options("/items", headers={"Origin": "https://evil.example", **preflight})
    assert "access-control-allow-origin" not in denied.headers
    simple = client.get("/health", headers={"Origin": "https://app.example"})
    assert simple.headers["access-control-allow-origin"] == "https://app.example"


def test_no_cors_headers_without_configured_origins(client: TestClient) -> None:
    response = client.get("/health", headers={"Origin": "https://app.example"})
    assert "access-control-allow-origin" not in response.headers
