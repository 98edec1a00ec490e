"""Target validation: good inputs normalised, hostile inputs refused with a clear message."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from deployer.target import (
    LETS_ENCRYPT,
    HostKey,
    TargetError,
    build_target,
    from_outputs,
    merge,
)

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAmV44J+hUyh9igA3lyHsjvUf/q9Jh69/0j6/W/g64x0"


def base(**over) -> dict:
    return merge({"host": "203.0.113.10", "domain": "api.example.com"}, over)


def test_defaults_and_normalisation() -> None:
    t = build_target(base(domain="API.Example.COM.", ssh_user="deploy"))
    assert t.domain == "api.example.com"
    assert t.acme_server == LETS_ENCRYPT
    assert t.app.name == "app" and t.app.asgi == "app.main:app"
    assert t.health_url == "https://api.example.com/health"
    assert t.ssh_port is None


def test_target_is_immutable() -> None:
    t = build_target(base())
    with pytest.raises(ValidationError):
        t.domain = "other.example.com"  # type: ignore[misc]


@pytest.mark.parametrize(
    "domain",
    [
        "evil.test;touch /tmp/x",
        "evil test.example",
        "evil.test\nlisten 8080",
        "evil.test\n",
        "$(touch /tmp/x).example",
        "`id`.example.com",
        "localhost",
        "-bad.example.com",
        "a..example.com",
        "x" * 64 + ".example.com",
        "évil.example.com",
    ],
)
def test_hostile_domains_refused(domain: str) -> None:
    with pytest.raises(TargetError, match="domain"):
        build_target(base(domain=domain))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("health_path", "/../../etc/passwd"),
        ("health_path", "/health;id"),
        ("health_path", "health"),
        ("requirements", "../requirements.txt"),
        ("requirements", "/etc/shadow"),
        ("requirements", "app/../../x.txt"),
        ("migrations", "app/../alembic.ini"),
        ("source", "../elsewhere/app"),
        ("name", "App"),
        ("name", "app;reboot"),
        ("asgi", "app.main:app;id"),
        ("asgi", "app.main"),
        ("asgi", "app/main:app"),
        ("workers", 0),
        ("max_body_size", "10m;"),
        ("env", {"lower": "x"}),
        ("env", {"OK": "line\nINJECTED=1"}),
        ("env", {"PORT": "9999"}),
        ("secrets", {"TOKEN": "a\rb"}),
    ],
)
def test_hostile_app_fields_refused(field: str, value: object) -> None:
    with pytest.raises(TargetError, match=f"app.{field}|set by deployer itself"):
        build_target(base(app={field: value}))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("host", "host;id"),
        ("host", "bad host"),
        ("ssh_user", "root;id"),
        ("ssh_user", "Deploy"),
        ("ssh_port", 70000),
        ("acme_server", "http://acme.example/dir"),
        ("acme_server", "https://acme.example/dir$(id)"),
        ("acme_server", "https://acme.example/dir 'x'"),
        ("acme_email", "ops@example.com;id"),
        ("ssh_host_key", "ssh-ed25519 not-base64!"),
        ("ssh_host_key", "ssh-dss AAAA"),
        ("ssh_host_key", KEY.replace("ssh-ed25519", "ssh-rsa")),
        ("acme_ca", "/nonexistent/ca.pem"),
        ("stage", "prod;id"),
    ],
)
def test_hostile_target_fields_refused(field: str, value: object) -> None:
    with pytest.raises(TargetError, match=field):
        build_target(base(**{field: value}))


def test_secret_values_never_in_error_messages() -> None:
    with pytest.raises(TargetError) as err:
        build_target(base(app={"secrets": {"TOKEN": "hunter2-very-secret\nX=1"}}))
    assert "hunter2" not in str(err.value)


def test_host_key_comment_dropped() -> None:
    assert HostKey.parse(KEY + " root@box").line == KEY


def test_from_outputs_contract(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    outputs = {
        "cloud": "aws", "stage": "prod", "host": "198.51.100.7", "ssh_port": 22,
        "ssh_user": "ubuntu", "ssh_host_key": KEY, "domain": "api.example.com",
        "url": "https://api.example.com", "database_url": "postgresql+psycopg://u:p@db/app",
        "acme_ca": str(ca), "unrelated": 1,
    }  # fmt: skip
    t = build_target(from_outputs(outputs))
    assert (t.cloud, t.host, t.ssh_user, t.ssh_port) == ("aws", "198.51.100.7", "ubuntu", 22)
    assert t.app.secrets["DATABASE_URL"].get_secret_value().startswith("postgresql+psycopg")
    assert "p@db" not in repr(t)  # secrets are masked in reprs
    assert not t.app.local_network_only  # a managed database: outbound allowed


def test_merge_later_layers_win_and_none_is_ignored() -> None:
    merged = merge(
        {"host": "a.example.com", "app": {"env": {"A": "1"}, "workers": 2}},
        {"host": "b.example.com", "app": {"env": {"B": "2"}, "workers": None}},
    )
    assert merged == {"host": "b.example.com", "app": {"env": {"A": "1", "B": "2"}, "workers": 2}}
