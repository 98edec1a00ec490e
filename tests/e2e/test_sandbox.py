"""Sandbox acceptance: real booted hosts behave like fresh cloud VMs, run side by side, get
certificates from the local ACME server, and leave nothing behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from deployer.sandbox import Host

pytestmark = pytest.mark.e2e

#: A private lab number for the tests that stop "everything": they must not touch the shared lab.
PRIVATE_LAB = "7"


def test_fresh_host_looks_like_a_cloud_vm(fresh_host: Host) -> None:
    state = fresh_host.ssh("systemctl is-system-running --wait", check=False).stdout.strip()
    failed = fresh_host.ssh("systemctl --failed --no-legend --plain", check=False).stdout
    assert state == "running", f"system {state}; failed units:\n{failed}"
    assert fresh_host.ssh("ps -o comm= -p 1").stdout.strip() == "systemd"
    fresh_host.ssh("sudo -n true")
    fresh_host.ssh("sudo apt-get update -q", timeout=300)
    assert fresh_host.ssh("dpkg -s nginx", check=False).returncode != 0  # nothing preinstalled
    sshd = fresh_host.ssh("sudo sshd -T").stdout
    assert "passwordauthentication no" in sshd
    assert "permitrootlogin no" in sshd


@pytest.fixture(scope="module")
def pair(lab) -> Iterator[tuple[Host, Host]]:
    """Two provisioned hosts up at the same time (shared by the tests of this module)."""
    first, second = lab.host(snapshot="provisioned"), lab.host(snapshot="provisioned")
    yield first, second
    lab.release(first)
    lab.release(second)


def _curl(host: Host, scheme: str, *extra: str) -> subprocess.CompletedProcess:
    out = host.outputs()
    port = 443 if scheme == "https" else 80
    return subprocess.run(
        [
            "curl",
            "-sS",
            "--max-time",
            "20",
            "--resolve",
            f"{out['domain']}:{port}:{out['address']}",
            *extra,
            f"{scheme}://{out['domain']}/",
        ],
        capture_output=True,
        text=True,
        check=False,
    )


def test_two_hosts_serve_their_own_nginx(pair: tuple[Host, Host]) -> None:
    for host in pair:
        host.ssh(f"echo 'I am {host.name}' | sudo tee /var/www/html/index.html")
        host.ssh("systemctl is-active nginx")
    for host in pair:
        assert _curl(host, "http").stdout.strip() == f"I am {host.name}"


def test_hosts_have_their_own_host_keys(pair: tuple[Host, Host]) -> None:
    keys = [host.outputs()["ssh_host_key"] for host in pair]
    assert keys[0] != keys[1]
    for host, key in zip(pair, keys, strict=True):
        served = host.ssh("cat /etc/ssh/ssh_host_ed25519_key.pub").stdout.split()[:2]
        assert " ".join(served) == key


def test_certbot_gets_a_certificate_from_the_sandbox_acme(pair: tuple[Host, Host]) -> None:
    host = pair[0]
    out = host.outputs()
    assert out["acme_server"].startswith("https://10.")  # never a public ACME server
    ca = Path(out["acme_ca"]).read_text()
    host.ssh(f"cat > /tmp/acme-ca.pem <<'EOF'\n{ca}EOF")
    host.ssh(
        "sudo REQUESTS_CA_BUNDLE=/tmp/acme-ca.pem certbot --nginx --non-interactive --agree-tos "
        f"-m ops@{out['domain']} -d {out['domain']} --server {out['acme_server']} "
        "--no-random-sleep-on-renew",
        timeout=300,
    )
    served = _curl(host, "https", "--cacert", out["acme_root"])
    assert served.returncode == 0, served.stderr
    assert served.stdout.strip() == f"I am {host.name}"
    untrusted = _curl(host, "https")  # the system store does not know pebble's root
    assert untrusted.returncode != 0


def _cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "DEPLOYER_SANDBOX_LAB": PRIVATE_LAB}
    proc = subprocess.run(
        [sys.executable, "-m", "deployer", "sandbox", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def _private_state() -> Path:
    return Path(f"/run/deployer-sandbox-{PRIVATE_LAB}")


def _recorded_pids() -> set[int]:
    files = [*(_private_state() / "hosts").glob("*.json"), _private_state() / "lab.json"]
    return {p["pid"] for f in files if f.is_file() for p in json.loads(f.read_text())["procs"]}


def _assert_nothing_left(pids: set[int]) -> None:
    prefix = f"deployer-sb{PRIVATE_LAB}-"
    alive = [pid for pid in pids if _running(pid)]
    assert not alive, f"processes still running: {alive}"
    mounts = [
        line
        for line in Path("/proc/mounts").read_text().splitlines()
        if f" {_private_state()}" in line
    ]
    assert not mounts, mounts
    netns = [p.name for p in Path("/run/netns").glob(f"{prefix}*")]
    assert not netns, netns
    groups = [str(p) for p in Path("/sys/fs/cgroup").glob(f"*/{prefix}*")]
    assert not groups, groups
    stray = [
        p
        for p in Path("/proc").glob("[0-9]*/cmdline")
        if f"{_private_state()}/".encode() in _read(p) or prefix.encode() in _read(p)
    ]
    assert not stray, [_read(p) for p in stray]


def _running(pid: int) -> bool:
    """True unless `pid` is gone or a zombie (exited, waiting for its parent to reap it)."""
    stat = _read(Path(f"/proc/{pid}/stat"))
    return bool(stat) and stat.rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


def test_down_all_leaves_nothing_behind(lab) -> None:
    _cli("up", "one", "two")
    listed = _cli("list").stdout
    assert "one:" in listed and "two:" in listed
    pids = _recorded_pids()
    assert len(pids) >= 10  # lab services, two containers, their forwarders
    _cli("down", "--all")
    _assert_nothing_left(pids)
    assert _cli("list").stdout.strip() == ""


def test_a_crashed_run_is_cleaned_up(lab) -> None:
    _cli("up", "crashed")
    pids = _recorded_pids()
    for pid in pids:  # simulate a crash: every process we started dies at once
        os.kill(pid, signal.SIGKILL)
    _cli("up", "after")  # a new run notices and removes the leftovers first
    assert [line.split(":")[0] for line in _cli("list").stdout.splitlines()] == ["after"]
    pids |= _recorded_pids()
    _cli("down", "--all")
    _assert_nothing_left(pids)


def test_a_dead_lab_service_is_restarted_without_losing_hosts(lab) -> None:
    _cli("up", "keep")
    record = json.loads((_private_state() / "lab.json").read_text())
    pebble = next(p["pid"] for p in record["procs"] if p["name"] == "pebble")
    os.kill(pebble, signal.SIGKILL)
    _cli("up", "other")
    assert [line.split(":")[0] for line in _cli("list").stdout.splitlines()] == ["keep", "other"]
    record = json.loads((_private_state() / "lab.json").read_text())
    assert next(p["pid"] for p in record["procs"] if p["name"] == "pebble") != pebble
    pids = _recorded_pids() | {pebble}
    _cli("down", "--all")
    _assert_nothing_left(pids)
