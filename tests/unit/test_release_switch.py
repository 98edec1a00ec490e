"""The nginx upstream switch script, run for real with stand-in nginx/systemctl (no host)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from deployer.release.switch import switch_script

# Stand-in nginx: `nginx -t` fails when the upstream names port 9999 (a "broken" config).
FAKE_NGINX = '#!/bin/sh\ngrep -q 9999 "$UPSTREAM" && { echo "emerg: bad" >&2; exit 1; }; exit 0\n'
FAKE_SYSTEMCTL = '#!/bin/sh\necho "$*" >> "$CALLS"\n'


def run_switch(tmp: Path, port: int) -> subprocess.CompletedProcess:
    bin_dir = tmp / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name, text in (("nginx", FAKE_NGINX), ("systemctl", FAKE_SYSTEMCTL)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    upstream = tmp / "deployer" / "app-upstream.conf"
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "UPSTREAM": str(upstream),
        "CALLS": str(tmp / "calls"),
    }
    script = switch_script(str(upstream), port)
    return subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True)


def test_switch_writes_the_new_upstream_and_reloads(tmp_path: Path) -> None:
    upstream = tmp_path / "deployer" / "app-upstream.conf"
    upstream.parent.mkdir()
    upstream.write_text("server 127.0.0.1:8001;\n")
    done = run_switch(tmp_path, 8002)
    assert done.returncode == 0, done.stderr
    assert upstream.read_text() == "server 127.0.0.1:8002;\n"
    assert "reload nginx" in (tmp_path / "calls").read_text()
    assert sorted(p.name for p in upstream.parent.iterdir()) == ["app-upstream.conf"]


def test_failed_config_test_restores_the_old_upstream(tmp_path: Path) -> None:
    upstream = tmp_path / "deployer" / "app-upstream.conf"
    upstream.parent.mkdir()
    upstream.write_text("server 127.0.0.1:8001;\n")
    upstream.chmod(0o644)
    done = run_switch(tmp_path, 9999)
    assert done.returncode != 0
    assert "emerg: bad" in done.stderr
    assert upstream.read_text() == "server 127.0.0.1:8001;\n"
    assert upstream.stat().st_mode & 0o777 == 0o644
    calls = tmp_path / "calls"
    assert not calls.exists() or "reload" not in calls.read_text()
    assert sorted(p.name for p in upstream.parent.iterdir()) == ["app-upstream.conf"]


def test_first_switch_that_fails_leaves_no_upstream(tmp_path: Path) -> None:
    done = run_switch(tmp_path, 9999)
    assert done.returncode != 0
    assert list((tmp_path / "deployer").iterdir()) == []
