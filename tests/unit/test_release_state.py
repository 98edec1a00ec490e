"""Release state and status: scripts are valid shell, their output parses back."""

import subprocess

from deployer.layout import Layout
from deployer.release import state, status
from deployer.release.ledger import Ledger, Release
from deployer.release.lock import LockInfo

SHA = "cd" * 32
RID = f"20261127T150000-{SHA[:16]}"
OLD = f"20261126T150000-{SHA[:16]}"
LAY = Layout("app")


def syntax_ok(script: str) -> bool:
    return subprocess.run(["sh", "-n", "-c", script], check=False).returncode == 0


def sample_state_output() -> str:
    ledger = Ledger((Release(id=RID, sha256=SHA, version="2", status="current"),)).to_json()
    holder = LockInfo(who="ci@runner", what="deploy").to_json() + "\n"
    sections = [ledger, holder, f"{RID}\nlost+found\n", f"releases/{RID}\n"]
    sections += [f"/run/deployer/app/{RID}/web.sock\n", f"{LAY.unit(RID)}\n"]
    sections += [f"deployer-app-warm-{OLD}.timer\n"]
    return "".join(s + state.SEP + "\n" for s in sections[:-1]) + sections[-1]


def test_scripts_are_valid_shell() -> None:
    assert syntax_ok(state.read_script(LAY))
    assert syntax_ok(status.status_script(LAY, "api.example.com"))


def test_parse_state_reads_every_section() -> None:
    st = state.parse_state(sample_state_output(), LAY)
    assert st.ledger.current().id == RID
    assert st.holder.who == "ci@runner"
    assert st.release_dirs == (RID, "lost+found")
    assert st.current_link == RID and st.serving == RID
    assert st.active_units == (LAY.unit(RID),)
    assert st.warm == (OLD,)


def test_parse_state_of_a_bare_host() -> None:
    st = state.parse_state(f"{state.SEP}\n" * 6, LAY)
    assert st.ledger == Ledger() and st.holder is None and st.serving == "" and st.warm == ()
    assert st.current_link == "" and st.release_dirs == ()


def test_parse_status() -> None:
    unit = f"{LAY.unit(RID)} loaded active running app release"
    extra = [
        unit,
        "Feb 25 12:00:00 2027 GMT",
        "tmpfs 20G 9G 11G 45% /srv",
        '{"action": "deploy", "result": "ok", "who": "a", "time": "t"}',
        "off",
        f"deployer-app-warm-{OLD}.timer 52428800 2026-11-27T15:10:00Z\n",
    ]
    out = sample_state_output() + "".join(f"\n{state.SEP}\n{x}" for x in extra) + "\n"
    facts = status.parse_status(out, LAY)
    assert facts.unit_state == "active (running)"
    assert facts.cert_expiry == "Feb 25 12:00:00 2027 GMT"
    assert facts.disk_free == "11G free of 20G on /srv"
    assert [e.action for e in facts.recent] == ["deploy"]
    (warm,) = facts.warm
    assert warm.describe().startswith(f"{OLD} until 2026-11-27T15:10:00Z (50 MiB)")


def test_logs_argv_follows_every_release_instance() -> None:
    argv = status.logs_argv(LAY, lines=50, follow=True)
    assert argv[-1] == "-f" and "app@*.service" in argv and "50" in argv
