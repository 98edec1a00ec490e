"""A fleet's --json: one document (every host, then the fleet's total), progress on stderr; and
a fleet bootstrap's migrations run once, on the first host, the others' switches waiting."""

from __future__ import annotations

import json
import threading

import pytest

from deployer.cli import fleet as cli_fleet
from deployer.engine import Result, UnitError
from deployer.fleet import converge, roll
from deployer.fleet.converge import HostSummary, MigrationsOnce
from deployer.fleet.roll import FleetResult, HostReport, Member
from deployer.target import build_target

NAMES = ["w1", "w2", "w3"]


def members(migrations: str | None = None) -> list[Member]:
    app = {"migrations": migrations} if migrations else {}
    return [Member(n, build_target({"host": f"10.0.0.{i}", "domain": "api.example.com",
                                    "app": app}))
            for i, n in enumerate(NAMES, 1)]


def phases(*failed: str) -> list[Result]:
    return [Result(n, "failed" if n in failed else "changed", 0.5, detail=f"{n} detail")
            for n in ("lock", "upload", "install", "start", "health", "switch")]


def reports(outcomes: dict[str, str]) -> dict[str, HostReport]:
    out = {}
    for name, outcome in outcomes.items():
        failed = ("health",) if outcome == "failed" else ()
        rep = HostReport(name, outcome, release=f"rel-{name}", detail="d", seconds=1.25,
                         results=phases(*failed) if outcome != "untouched" else [])
        if outcome == roll.ROLLED_BACK:
            rep.revert = phases()
        out[name] = rep
    return out


@pytest.mark.parametrize(
    ("outcomes", "ok", "refused", "code"),
    [
        ({"w1": "switched", "w2": "switched", "w3": "noop"}, True, False, 0),
        ({"w1": "rolled back", "w2": "failed", "w3": "untouched"}, False, False, 4),
        ({"w1": "untouched", "w2": "untouched", "w3": "untouched"}, False, True, 5),
    ],
)
def test_a_roll_with_json_prints_one_document_per_host_and_the_fleet_total(
    monkeypatch, capsys, outcomes, ok, refused, code
) -> None:
    result = FleetResult(ok, "the verdict", reports(outcomes), refused=refused)

    def execute(self):
        self.say("batch 1/2: w1")  # progress
        return result

    monkeypatch.setattr(roll.Roll, "execute", execute)
    art = type("A", (), {"sha256": "b" * 64, "version": "2"})()
    got = cli_fleet.roll(members(), action="deploy", batch="1", skip_down=False, artifact=art,
                         audit_as="promote", as_json=True)
    out, err = capsys.readouterr()
    data = json.loads(out)  # stdout is exactly one document
    assert int(got) == code and data["exit_code"] == code and data["ok"] is ok
    assert data["action"] == "promote" and data["artifact"] == "b" * 64
    assert data["message"] == "the verdict"
    assert [h["name"] for h in data["hosts"]] == NAMES
    assert [h["outcome"] for h in data["hosts"]] == list(outcomes.values())
    for host in data["hosts"]:
        touched = host["outcome"] != "untouched"
        assert [s["name"] for s in host["steps"]] == (
            ["lock", "upload", "install", "start", "health", "switch"] if touched else [])
        assert host["failed"] == (host["outcome"] == "failed")
        assert ("revert" in host) is (host["outcome"] == "rolled back")
    total = data["fleet"]
    assert total["hosts"] == 3
    for outcome in ("switched", "noop", "failed", "rolled back", "untouched"):
        assert total[outcome.replace(" ", "_")] == list(outcomes.values()).count(outcome)
    assert "batch 1/2: w1" in err and "batch" not in out


def test_a_fleet_bootstrap_with_json_prints_one_document(monkeypatch, capsys) -> None:
    def fake_converge(fleet, artifact, *, parallel, dry_run, trust_new_host, say):
        say("w1 ok ...")
        return [HostSummary("w1", {"changed": 2, "ok": 3}, 2.0, results=phases()),
                HostSummary("w2", {"ok": 5}, 1.0, results=phases()),
                HostSummary("w3", {"ok": 4, "failed": 1}, 1.5, "health: broke",
                            results=phases("health"))]

    monkeypatch.setattr(converge, "converge", fake_converge)
    art = type("A", (), {"sha256": "c" * 64, "version": "1"})()
    monkeypatch.setattr(cli_fleet, "build_artifact", lambda _t: art)
    got = cli_fleet.bootstrap(members(), parallel=2, dry_run=False, trust_new_host=False,
                              as_json=True)
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert int(got) == 4 and data["exit_code"] == 4 and data["ok"] is False
    assert [(h["name"], h["ok"], h["error"]) for h in data["hosts"]] == [
        ("w1", True, ""), ("w2", True, ""), ("w3", False, "health: broke")]
    assert data["hosts"][2]["failed"] == 1 and data["hosts"][0]["changed"] == 6
    assert data["fleet"] == {"hosts": 3, "ok": 2, "failed": 1, "changed": 1}
    assert "w1 ok" in err and "fleet: 3 hosts" in err


@pytest.mark.parametrize(
    ("events", "error"),
    [
        ([("seen", Result("migrate", "changed"))], ""),
        ([("seen", Result("lock", "ok")), ("seen", Result("migrate", "changed"))], ""),
        ([("seen", Result("migrate", "failed", detail="alembic broke"))], "alembic broke"),
        ([("ended", "")], ""),  # nothing to migrate, the bootstrap went well
        ([("ended", "install: no space")], "install: no space"),
        ([("seen", Result("migrate", "changed")), ("ended", "drain: x")], ""),  # ran: done
    ],
)
def test_migrations_once_lets_the_others_switch_only_after_they_ran(events, error) -> None:
    once = MigrationsOnce("w1")
    for kind, value in events:
        once.seen(value) if kind == "seen" else once.ended(value)
    if error:
        with pytest.raises(UnitError, match=f"migrations on w1 failed: {error}"):
            once.wait()
    else:
        assert once.wait() == "migrations ran on w1"


@pytest.mark.parametrize("parallel", [1, 3])
@pytest.mark.parametrize("first_fails", [False, True])
def test_a_fleet_bootstrap_migrates_on_the_first_host_only(
    monkeypatch, parallel, first_fails
) -> None:
    seen: dict[str, tuple] = {}
    lock = threading.Lock()

    def fake_one(member, artifact, *, dry_run, trust_new_host, on_part=None,
                 before_switch=None):
        gate = ""
        if before_switch is not None:  # the others wait for the first host's migrations
            try:
                gate = before_switch()
            except UnitError as exc:
                gate = f"refused: {exc.message}"
        if on_part is not None:
            on_part(Result("migrate", "failed" if first_fails else "changed", detail="boom"))
        with lock:
            seen[member.name] = (member.target.app.migrations, gate)
        return HostSummary(member.name, {"changed": 1})

    monkeypatch.setattr(converge, "converge_one", fake_one)
    got = converge.converge(members("app/alembic.ini"), object(), parallel=parallel,
                            say=lambda _t: None)
    assert [s.name for s in got] == NAMES
    after = "refused: migrations on w1 failed: boom" if first_fails else "migrations ran on w1"
    assert seen == {"w1": ("app/alembic.ini", ""), "w2": (None, after), "w3": (None, after)}


def test_a_fleet_bootstrap_without_migrations_waits_for_nothing(monkeypatch) -> None:
    calls = []

    def fake_one(member, artifact, *, dry_run, trust_new_host, on_part=None,
                 before_switch=None):
        calls.append((member.name, on_part is None and before_switch is None))
        return HostSummary(member.name)

    monkeypatch.setattr(converge, "converge_one", fake_one)
    converge.converge(members(), object(), parallel=3, say=lambda _t: None)
    assert sorted(calls) == [(n, True) for n in NAMES]
