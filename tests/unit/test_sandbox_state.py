"""State on disk, cache keys, the output contract of a host, and the prerequisite messages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from deployer.sandbox import config, doctor, hosts, image, layers, state
from deployer.sandbox.errors import SandboxError

CONTRACT_KEYS = {"cloud", "stage", "host", "ssh_port", "ssh_user", "ssh_host_key", "domain",
                 "url", "ssh_key", "address", "acme_server", "acme_ca", "acme_root"}


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(config, "STATE_DIR", tmp_path)
    return tmp_path


def test_host_records_round_trip(state_dir: Path) -> None:
    host = hosts.Host(name="web", index=4, host_key="ssh-ed25519 AAAA")
    host.save()
    (record,) = state.host_records()
    assert hosts.Host(**record) == host
    known = (state_dir / "hosts" / "web.known_hosts").read_text()
    assert known == f"[127.0.0.1]:{config.ssh_port(4)} ssh-ed25519 AAAA\n"


def test_stale_leases_are_dropped(state_dir: Path) -> None:
    mine = state.take_lease()
    stale = state_dir / "leases" / "999999999-1"
    stale.touch()
    assert state.live_leases() == [mine]
    assert not stale.exists()
    assert state.live_leases(exclude=mine) == []


def test_outputs_follow_the_contract() -> None:
    out = hosts.Host(name="web", index=4, host_key="ssh-ed25519 AAAA").outputs()
    assert set(out) == CONTRACT_KEYS
    assert (out["cloud"], out["ssh_user"], out["host"]) == ("sandbox", "deploy", "127.0.0.1")
    assert out["domain"] == "web.deployer.test" and out["url"] == "https://web.deployer.test"
    assert out["address"] == "127.0.1.4" and isinstance(out["ssh_port"], int)


def test_image_key_follows_its_inputs(tmp_path: Path) -> None:
    sources, ca = tmp_path / "s.sources", tmp_path / "corp.crt"
    sources.write_text("URIs: http://a.example/debian\n")
    ca.write_text("CERT")
    first = image.cache_key(sources, [])
    assert image.cache_key(sources, []) == first
    assert image.cache_key(sources, [ca]) != first
    sources.write_text("URIs: http://b.example/debian\n")
    assert image.cache_key(sources, []) != first


def test_snapshot_key_follows_the_package_list() -> None:
    assert layers.snapshot_key("k", ["nginx"]) != layers.snapshot_key("k", ["nginx", "curl"])
    assert layers.snapshot_key("k", ["a", "b"]) == layers.snapshot_key("k", ["b", "a"])
    assert layers.snapshot_key("k1", ["a"]) != layers.snapshot_key("k2", ["a"])


def test_cache_lives_outside_the_repo() -> None:
    repo = Path(__file__).resolve().parents[2]
    assert repo not in config.CACHE_DIR.resolve().parents


def test_error_names_the_fix() -> None:
    text = str(SandboxError("missing packages: pebble", fix=doctor.install_fix(["pebble"])))
    assert text.endswith("fix: sudo apt-get install -y --no-install-recommends pebble")


def test_not_root_gives_one_clear_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doctor.os, "geteuid", lambda: 1000)
    with pytest.raises(SandboxError, match="root") as err:
        doctor.require()
    assert "sudo" in (err.value.fix or "")


def test_doctor_reports_a_missing_command(monkeypatch: pytest.MonkeyPatch) -> None:
    real = doctor.shutil.which
    monkeypatch.setattr(doctor.shutil, "which", lambda c: None if c == "pebble" else real(c))
    check = next(c for c in doctor.checks() if c.name == "commands")
    assert not check.ok and check.fix and check.fix.endswith("pebble")


def test_cli_down_needs_names_or_all() -> None:
    from deployer.cli import app

    result = CliRunner().invoke(app, ["sandbox", "down"])
    assert result.exit_code == 2


def test_cli_help_does_not_import_the_sandbox() -> None:
    code = "import sys, deployer.cli; print('deployer.sandbox' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
