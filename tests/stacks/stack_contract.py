"""Assertions shared by the per-cloud tests: the output contract and the pinned host key."""

from __future__ import annotations

import json

from cryptography.hazmat.primitives import serialization

BASE_KEYS = {"cloud", "stage", "domain", "url", "database_url"}
VM_KEYS = BASE_KEYS | {"host", "ssh_port", "ssh_user", "ssh_host_key", "hosts", "load_balancer"}
HOST_KEYS = {"name", "host", "ssh_port", "ssh_user", "ssh_host_key", "private_address"}
PLATFORM_KEYS = BASE_KEYS | {"artifact"}


def assert_contract(run, cloud: str, stage: str, domain: str, vm: bool) -> None:
    """Exact key set, types and values; the DB URL is a secret SQLAlchemy psycopg URL."""
    out = run.outputs
    assert set(out) == (VM_KEYS if vm else PLATFORM_KEYS)
    assert (out["cloud"], out["stage"], out["domain"]) == (cloud, stage, domain)
    assert out["url"] == f"https://{domain}"
    assert out["database_url"].startswith("postgresql+psycopg://app:")
    assert out["database_url"].endswith("?sslmode=require")
    assert run.secret_outputs == {"database_url"}
    if vm:
        assert out["ssh_port"] == 22
        assert out["ssh_user"] == "deploy"
        assert out["ssh_host_key"].startswith("ssh-ed25519 AAAA")
        assert "\n" not in out["ssh_host_key"]
        # the list of servers; the single-host keys are its first entry (older callers)
        assert out["hosts"] and all(set(h) == HOST_KEYS for h in out["hosts"])
        first = out["hosts"][0]
        assert [first[k] for k in ("host", "ssh_port", "ssh_user", "ssh_host_key")] == [
            out[k] for k in ("host", "ssh_port", "ssh_user", "ssh_host_key")
        ]
        keys = [h["ssh_host_key"] for h in out["hosts"]]
        assert len(set(keys)) == len(keys)  # a key of its own each
        if len(out["hosts"]) == 1:
            assert out["load_balancer"] is None  # TLS on the host (certbot)
        else:
            lb = out["load_balancer"]
            assert set(lb) == {"name", "dns_name", "address", "tls", "source_range"}
            assert lb["tls"] == "lb"
    json.dumps(out)  # the contract is plain JSON


def cloud_config(user_data: str) -> dict:
    """Parse our #cloud-config (JSON body)."""
    header, _, body = user_data.partition("\n")
    assert header == "#cloud-config"
    return json.loads(body)


def assert_host_key_installed(user_data: str, exported: str, login_key: str) -> None:
    """cloud-init installs exactly the key pair whose public half is exported; key-only login."""
    from stacks.hostkey import metadata_guard_command

    doc = cloud_config(user_data)
    assert doc["bootcmd"][0] == metadata_guard_command()  # first: metadata for root only
    keys = doc["ssh_keys"]
    private = serialization.load_ssh_private_key(keys["ed25519_private"].encode(), None)
    public = private.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    assert public.decode() == exported == keys["ed25519_public"]
    assert doc["ssh_deletekeys"] is True and doc["ssh_genkeytypes"] == []
    assert doc["ssh_pwauth"] is False and doc["disable_root"] is True
    (user,) = doc["users"]
    assert user["name"] == "deploy" and user["ssh_authorized_keys"] == [login_key]
