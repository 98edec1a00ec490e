"""Bootstrap on hosts that misbehave: a held dpkg lock, an SSH connection cut mid-run."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from bootstrap_helpers import REPO, SECRET, bootstrap_json, sample_app_args, write_outputs

pytestmark = pytest.mark.e2e

HOLD_LOCK = (
    "sudo systemd-run --quiet --unit=hold-dpkg-lock --collect python3 -c "
    "\"import fcntl,time; f=open('/var/lib/dpkg/lock-frontend','a'); "
    'fcntl.lockf(f, fcntl.LOCK_EX); time.sleep(6)"'
)
LOCK_HELD = 'i=$(stat -c %i /var/lib/dpkg/lock-frontend) && grep -q ":$i " /proc/locks'
# Kill every sshd session process of the login user except the one running this command.
CUT_SSH = (
    "mine=\"$PPID $(ps -o ppid= -p $PPID | tr -d ' ')\"; "
    "for p in $(pgrep -f '^sshd: deploy'); do "
    'case " $mine " in *" $p "*) continue;; esac; sudo kill -9 "$p"; done'
)


def test_waits_for_a_held_dpkg_lock(provisioned_host, tmp_path: Path) -> None:
    host = provisioned_host
    host.ssh(HOLD_LOCK)
    deadline = time.monotonic() + 10
    while host.ssh(LOCK_HELD, check=False).returncode != 0:
        assert time.monotonic() < deadline, "the lock holder did not start"
        time.sleep(0.2)
    proc, report = bootstrap_json(*sample_app_args(write_outputs(host, tmp_path)))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    wait = next(s for s in report["steps"] if s["name"] == "wait")
    assert "dpkg" in wait["detail"]
    assert host.ssh("systemctl is-active hold-dpkg-lock", check=False).stdout.strip() != "active"


def test_ssh_cut_mid_run_then_rerun_converges(provisioned_host, tmp_path: Path) -> None:
    host = provisioned_host
    args = sample_app_args(write_outputs(host, tmp_path))
    run = subprocess.Popen(
        [sys.executable, "-m", "deployer", "bootstrap", *args, "--json"],
        cwd=REPO, env={**__import__("os").environ, "SECRET_KEY": SECRET},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        # cut while the release is being installed (uv building its venv)
        while host.ssh("pgrep -f '/uv pip install'", check=False).returncode != 0:
            assert run.poll() is None, run.communicate()
            assert time.monotonic() < deadline, "uv never started"
            time.sleep(0.1)
        host.ssh(CUT_SSH)
        out, err = run.communicate(timeout=120)
    finally:
        run.kill()
    assert run.returncode == 3, out + err  # connection failure, named as such
    assert "connection" in (out + err).lower()

    proc, report = bootstrap_json(*args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc, report = bootstrap_json(*args)
    assert report["changed"] == 0, report
