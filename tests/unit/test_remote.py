"""The SSH layer without a server: command quoting, atomic writes, host-key policies."""

from __future__ import annotations

import shlex
from pathlib import Path

import paramiko
import pytest

from deployer.remote import (
    HostKeyError,
    Remote,
    _Refuse,
    _TrustAndRecord,
    host_key_name,
    tail,
)
from deployer.shell import sh_c, write_file_script
from deployer.target import build_target


def remote(user: str = "deploy", **over) -> Remote:
    t = build_target({"host": "203.0.113.10", "domain": "api.example.com", **over})
    r = Remote(t)
    r.user = user
    return r


def test_command_line_quotes_every_word_and_adds_sudo() -> None:
    r = remote()
    line = r.command_line(["echo", "a b", "$(id)", "x;y"], sudo=True)
    assert line == "sudo -n -H -- echo 'a b' '$(id)' 'x;y'"
    assert shlex.split(line)[5:] == ["a b", "$(id)", "x;y"]
    assert remote("root").command_line(["id"], sudo=True) == "id"


def test_compound_scripts_run_whole_under_sudo() -> None:
    line = remote().command_line(sh_c("a && b"), sudo=True)
    assert line == "sudo -n -H -- sh -c 'a && b'"


def test_write_file_script_is_atomic_and_quoted() -> None:
    script = write_file_script("/etc/x y.conf", "0600", "app", "app")
    assert "mktemp" in script and "mv -f \"$tmp\" '/etc/x y.conf'" in script
    assert "chmod 0600" in script and "chown app:app" in script


def test_helpers() -> None:
    assert host_key_name("10.0.0.1", 22) == "10.0.0.1"
    assert host_key_name("10.0.0.1", 2222) == "[10.0.0.1]:2222"
    assert tail("\n".join(str(i) for i in range(50)), 3) == "47\n48\n49"


def test_unknown_key_refused_naming_trust_new_host() -> None:
    key = paramiko.Ed25519Key.generate() if hasattr(paramiko.Ed25519Key, "generate") else None
    key = key or paramiko.RSAKey.generate(1024)
    client = paramiko.SSHClient()
    with pytest.raises(HostKeyError, match="--trust-new-host"):
        _Refuse("known_hosts").missing_host_key(client, "[10.0.0.1]:2222", key)


def test_trust_new_host_records_the_key(tmp_path: Path) -> None:
    key = paramiko.RSAKey.generate(1024)
    client = paramiko.SSHClient()
    known = tmp_path / "sub" / "known_hosts"
    _TrustAndRecord(known).missing_host_key(client, "[10.0.0.1]:2222", key)
    assert known.read_text() == f"[10.0.0.1]:2222 ssh-rsa {key.get_base64()}\n"
    assert client.get_host_keys().lookup("[10.0.0.1]:2222") is not None


def test_pinned_key_is_the_only_key_accepted(tmp_path: Path) -> None:
    key = paramiko.RSAKey.generate(1024)
    line = f"ssh-rsa {key.get_base64()}"
    r = remote(ssh_host_key=line, ssh_port=2222)
    r.known_hosts_override = tmp_path / "known_hosts"

    class Conn:
        host, port = "203.0.113.10", 2222
        client = paramiko.SSHClient()
        ssh_config: dict = {}

    conn = Conn()
    r._set_host_key_policy(conn)  # type: ignore[arg-type]
    keys = conn.client.get_host_keys()
    assert list(keys.keys()) == ["[203.0.113.10]:2222"]
    assert isinstance(conn.client._policy, _Refuse)
    assert not (tmp_path / "known_hosts").exists()


def test_connections_have_nagle_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small SSH packets go out at once (else each waits ~40 ms for a delayed ACK)."""
    import socket

    from deployer import remote as module

    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        with module.nodelay_socket("127.0.0.1", port, 5) as sock:
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        opened: list[socket.socket] = []
        real = module.nodelay_socket
        monkeypatch.setattr(
            module, "nodelay_socket", lambda *a: opened.append(real(*a)) or opened[-1]
        )
        t = build_target({"host": "127.0.0.1", "ssh_port": port, "domain": "api.example.com"})
        monkeypatch.setattr(module.time, "sleep", lambda _s: None)
        with pytest.raises(module.RemoteError):  # no sshd there: the banner never comes
            Remote(t, connect_timeout=1).connect()
        assert len(opened) == Remote.CONNECT_ATTEMPTS  # every attempt used nodelay_socket


def _closed_port() -> int:
    import socket

    with socket.create_server(("127.0.0.1", 0)) as server:
        return server.getsockname()[1]  # closed again on return: connecting is refused


@pytest.mark.parametrize("alias", [False, True])
def test_a_failed_connect_names_the_port_ssh_used(
    alias: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No port in the target: the one from ~/.ssh/config is used, and named (not 'None')."""
    from deployer.remote import RemoteError

    port = _closed_port()
    name = "db-box" if alias else "127.0.0.1"
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh" / "config").write_text(
        f"Host {name}\n  HostName 127.0.0.1\n  Port {port}\n", encoding="utf-8"
    )
    monkeypatch.setenv("HOME", str(tmp_path))
    t = build_target({"host": name, "domain": "api.example.com"})
    assert t.ssh_port is None
    with pytest.raises(RemoteError) as failed:
        Remote(t, known_hosts=tmp_path / "known_hosts", connect_timeout=2).connect()
    want = f"127.0.0.1:{port}" if not alias else f"db-box (127.0.0.1:{port})"
    assert f"cannot connect to {want}: " in str(failed.value)


def test_without_any_ssh_config_the_port_is_22(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fabric import Connection

    from deployer.remote import endpoint

    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.ssh/config
    assert endpoint(Connection("203.0.113.10")) == "203.0.113.10:22"


def _dropping_server(accepted: list[int]):
    """A loopback TCP server that closes every connection at once, counting them."""
    import socket
    import threading

    srv = socket.create_server(("127.0.0.1", 0))
    srv.settimeout(10)

    def serve() -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = srv.accept()
                accepted.append(1)
                conn.close()

    import contextlib

    threading.Thread(target=serve, daemon=True).start()
    return srv


def test_a_connection_dropped_in_the_handshake_is_tried_again_then_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from deployer.remote import RemoteError

    monkeypatch.setattr("deployer.remote.time.sleep", lambda _s: None)
    accepted: list[int] = []
    srv = _dropping_server(accepted)
    try:
        port = srv.getsockname()[1]
        t = build_target({"host": "127.0.0.1", "ssh_port": port, "domain": "api.example.com"})
        with pytest.raises(RemoteError, match=f"cannot connect to 127.0.0.1:{port}: "):
            Remote(t, known_hosts=tmp_path / "known_hosts", connect_timeout=2).connect()
    finally:
        srv.close()
    assert len(accepted) == Remote.CONNECT_ATTEMPTS > 1


def test_a_refused_connection_is_not_tried_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from deployer.remote import RemoteError

    slept: list[float] = []
    monkeypatch.setattr("deployer.remote.time.sleep", slept.append)
    port = _closed_port()
    t = build_target({"host": "127.0.0.1", "ssh_port": port, "domain": "api.example.com"})
    with pytest.raises(RemoteError, match="cannot connect"):
        Remote(t, known_hosts=tmp_path / "known_hosts", connect_timeout=2).connect()
    assert slept == []
