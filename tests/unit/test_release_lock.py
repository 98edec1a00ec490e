"""The deploy lock's scripts, run by a real local shell on a temp dir (no host needed)."""

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath

from deployer.release import lock
from deployer.release.audit import AuditEntry, append_script, parse


def sh(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=False)


def info(who: str, message: str = "") -> lock.LockInfo:
    return lock.LockInfo(who=who, what="deploy app 2.0", message=message)


def test_first_acquire_wins_and_second_sees_the_holder(tmp_path: Path) -> None:
    d = PurePosixPath(tmp_path / "state" / "deploy.lock")
    first = sh(lock.acquire_script(d, info("alice@laptop", "hotfix")))
    assert first.returncode == 0 and "acquired" in first.stdout
    second = sh(lock.acquire_script(d, info("bob@ci")))
    assert second.returncode == lock.HELD_EXIT
    holder = lock.parse_holder(second.stdout)
    assert holder.who == "alice@laptop" and holder.message == "hotfix"
    assert "alice@laptop" in holder.describe()


def test_concurrent_acquires_exactly_one_wins(tmp_path: Path) -> None:
    d = PurePosixPath(tmp_path / "deploy.lock")
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda i: sh(lock.acquire_script(d, info(f"u{i}"))), range(8)))
    codes = sorted(r.returncode for r in results)
    assert codes == [0] + [lock.HELD_EXIT] * 7
    winner = json.loads(Path(d, "info.json").read_text())["who"]
    refused = {lock.parse_holder(r.stdout).who for r in results if r.returncode}
    assert refused == {winner}


def test_release_needs_the_token(tmp_path: Path) -> None:
    d = PurePosixPath(tmp_path / "deploy.lock")
    mine = info("alice")
    sh(lock.acquire_script(d, mine))
    sh(lock.release_script(d, "not-my-token"))
    assert Path(d).is_dir()
    sh(lock.release_script(d, mine.token))
    assert not Path(d).exists()


def test_message_with_shell_metacharacters_is_stored_verbatim(tmp_path: Path) -> None:
    d = PurePosixPath(tmp_path / "deploy.lock")
    evil = "it's $(touch pwned) `id`; rm -rf / \n next"
    assert sh(lock.acquire_script(d, info("eve", evil))).returncode == 0
    assert lock.parse_holder(sh(lock.read_script(d)).stdout).message == evil
    assert not (tmp_path / "pwned").exists()


def test_force_unlock_prints_holder_then_removes(tmp_path: Path) -> None:
    d = PurePosixPath(tmp_path / "deploy.lock")
    sh(lock.acquire_script(d, info("alice")))
    out = sh(lock.force_unlock_script(d))
    assert lock.parse_holder(out.stdout).who == "alice"
    assert not Path(d).exists()
    assert lock.parse_holder(sh(lock.read_script(d)).stdout) is None


def test_damaged_holder_record_is_reported_as_unknown() -> None:
    assert lock.LockInfo.from_json("{not json").who == "unknown"


def test_audit_log_appends_one_json_line_per_entry(tmp_path: Path) -> None:
    log = PurePosixPath(tmp_path / "audit.log")
    sh(append_script(log, AuditEntry("deploy", "ok", detail="line1\n$(id)", who="a")))
    sh(append_script(log, AuditEntry("rollback", "failed", who="b")))
    text = Path(log).read_text()
    assert len(text.splitlines()) == 2
    entries = parse(text + "garbage\n")
    assert [(e.action, e.who) for e in entries] == [("deploy", "a"), ("rollback", "b")]
    assert entries[0].detail == "line1\n$(id)"


def test_a_lock_whose_ssh_session_is_gone_is_taken_over(tmp_path: Path) -> None:
    d = PurePosixPath(tmp_path / "deploy.lock")
    assert sh(lock.acquire_script(d, info("alice"))).returncode == 0
    dead = subprocess.run(["sh", "-c", "echo $$"], capture_output=True, text=True).stdout.strip()
    Path(d, "session").write_text(f"{dead} 12345\n")  # that process has exited
    took = sh(lock.acquire_script(d, info("bob")))
    assert took.returncode == 0 and "acquired" in took.stdout, took.stderr
    assert json.loads(Path(d, "info.json").read_text())["who"] == "bob"
    assert [p.name for p in Path(tmp_path).iterdir()] == ["deploy.lock"]


def test_a_lock_whose_ssh_session_lives_is_held(tmp_path: Path) -> None:
    d = PurePosixPath(tmp_path / "deploy.lock")
    assert sh(lock.acquire_script(d, info("alice"))).returncode == 0
    stat = Path("/proc/1/stat").read_text().rsplit(") ", 1)[1].split()
    Path(d, "session").write_text(f"1 {stat[19]}\n")  # alive: pid 1 with its start time
    assert sh(lock.acquire_script(d, info("bob"))).returncode == lock.HELD_EXIT
    without = PurePosixPath(tmp_path / "other.lock")  # no session recorded: never stale
    assert sh(lock.acquire_script(without, info("alice"))).returncode == 0
    Path(without, "session").write_text("")
    assert sh(lock.acquire_script(without, info("bob"))).returncode == lock.HELD_EXIT
