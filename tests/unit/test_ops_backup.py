"""Backups: the host scripts (syntax, naming, retention) and the agent itself, run locally
against a real SQLite database (online backup API) both ways."""

import os
import sqlite3
import subprocess
import sys

import pytest

from deployer.layout import Layout
from deployer.ops import backup

PLAN = backup.BackupPlan(Layout("shop"), keep=3)


def test_agent_runs_as_the_app_in_the_current_release() -> None:
    argv = PLAN.agent_argv("backup")
    assert argv[0] == "systemd-run" and "WorkingDirectory=/srv/shop/current" in argv
    assert argv[-4:] == ["python3", "-c", backup.AGENT, "backup"]
    with pytest.raises(ValueError):
        PLAN.agent_argv("drop")


def test_backup_script_names_keeps_and_never_reads_the_url() -> None:
    script = backup.backup_script(PLAN, "20261202T120000Z")
    assert subprocess.run(["sh", "-n", "-c", script], check=False).returncode == 0
    assert "umask 077" in script and "mkdir -p -m 0700" in script and "chmod 0600" in script
    assert 'f="$d/shop-20261202T120000Z.$ext"' in script
    assert "tail -n +4" in script  # keep=3
    # only the scheme of DATABASE_URL is read on the host, never echoed
    assert "s/^DATABASE_URL=" in script
    timer_script = backup.backup_script(PLAN, "now")
    assert "$(date -u +%Y%m%dT%H%M%SZ)" in timer_script
    with pytest.raises(ValueError):
        backup.backup_script(PLAN, "2026; rm -rf /")


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ('DATABASE_URL="sqlite:////srv/shop/shared/data/shop.db"', "sqlite3"),
        ('DATABASE_URL="postgresql+psycopg://u:p@127.0.0.1/shop"', "pgdump"),
        ('DATABASE_URL="postgres://u:p@db/shop"', "pgdump"),
        ('DATABASE_URL="mysql://u:p@db/shop"', None),
    ],
)
def test_kind_from_the_env_file(tmp_path, line, kind) -> None:
    env = tmp_path / ".env"
    env.write_text(f"# header\n{line}\n")
    script = backup.kind_script(PLAN.layout).replace("/srv/shop/shared/.env", str(env))
    proc = subprocess.run(["sh", "-c", f'{script}; echo "$ext"'], capture_output=True,
                          text=True, check=False)  # fmt: skip
    if kind is None:
        assert proc.returncode == 3 and "no backup for database kind 'mysql'" in proc.stderr
    else:
        assert proc.returncode == 0 and proc.stdout.strip() == kind
    assert "u:p" not in proc.stdout + proc.stderr


def test_restore_script_loads_the_upload_and_always_removes_it() -> None:
    script = backup.restore_script(PLAN, "20261202T120000Z")
    assert subprocess.run(["sh", "-n", "-c", script], check=False).returncode == 0
    upload = "/srv/shop/backups/.restore-20261202T120000Z"
    assert f"< {upload} ); rc=$?; rm -f -- {upload}; exit $rc" in script
    with pytest.raises(ValueError):
        backup.restore_script(PLAN, "../../etc/shadow")


def test_timer_units() -> None:
    units = backup.timer_units(PLAN, "daily", backup.script_path(PLAN.layout))
    service = units["shop-backup.service"]
    assert "ExecStart=/bin/sh /usr/local/lib/deployer/shop-backup.sh" in service
    assert "OnCalendar=daily" in units["shop-backup.timer"]
    with pytest.raises(ValueError):
        backup.timer_units(PLAN, "*-*-* 00:00; id", "/x")


def test_local_name_checks_the_host_answer() -> None:
    assert backup.local_name("/srv/shop/backups/shop-20261202T120000Z.pgdump").endswith(".pgdump")
    with pytest.raises(ValueError):
        backup.local_name("/srv/shop/backups/../../etc/passwd")


def agent(mode: str, url: str, data: bytes = b"") -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run([sys.executable, "-c", backup.AGENT, mode], input=data, env=env,
                          capture_output=True, check=False)  # fmt: skip


def test_sqlite_backup_then_restore_brings_the_rows_back(tmp_path) -> None:
    db = tmp_path / "app.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE users (name TEXT)")
        conn.execute("INSERT INTO users VALUES ('alice')")
    url = f"sqlite:///{db}"
    dump = agent("backup", url)
    assert dump.returncode == 0, dump.stderr
    assert dump.stdout.startswith(b"SQLite format 3\0")
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM users")
    done = agent("restore", url, dump.stdout)
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT name FROM users").fetchall() == [("alice",)]
    bad = agent("restore", url, b"not a database")
    assert bad.returncode != 0
