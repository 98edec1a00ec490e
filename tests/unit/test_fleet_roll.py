"""The fleet roll's schedule, with stand-in phases (no host): the first batch alone is started
and checked (while the others still install; no switch before every host installed), every
later host is warmed ahead and only switched in its batch (its health asked
again there), batches switch in order, and a failure anywhere stops the switches and sends
every switched host back."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest

from deployer.engine import UnitError
from deployer.fleet import plan, roll
from deployer.release.ledger import Ledger
from deployer.release.lifecycle import Run
from deployer.release.phases import DEPLOY_PHASES, ROLLBACK_PHASES
from deployer.target import build_target

HOSTS = ["w1", "w2", "w3", "w4"]


class Log:
    def __init__(self, fail: dict[str, str]) -> None:
        self.fail, self.lines, self.lock = fail, [], threading.Lock()
        self.canary_healthy = threading.Event()

    def add(self, host: str, what: str) -> None:
        with self.lock:
            self.lines.append((host, what))

    def index(self, host: str, what: str) -> int:
        return self.lines.index((host, what))

    def of(self, host: str) -> list[str]:
        return [what for h, what in self.lines if h == host]


LOG = Log({})


class Recorded(Run):
    """A Run whose phases only record that they ran (``remote`` is the host's name)."""

    def __getattribute__(self, name: str):
        phase = name.removeprefix("phase_")
        if name.startswith("phase_") and phase in (*DEPLOY_PHASES, *ROLLBACK_PHASES):
            def fn() -> str:
                host = self.remote
                what = f"{self.action} {phase}" + (" (recheck)" * (phase == "switch"
                                                                   and self.recheck))
                if (host, phase) == ("w4", "install"):  # the last host installs slowly
                    LOG.canary_healthy.wait(5) or LOG.add(host, "install waited in vain")
                LOG.add(host, what)
                if (host, phase) == ("w1", "health"):
                    LOG.canary_healthy.set()
                if self.action == "deploy" and LOG.fail.get(host) == phase:
                    raise UnitError(f"{phase} broke")
                self.started = self.started or phase == "start"
                self.switched = self.switched or phase == "switch"
                return ""

            return fn
        return super().__getattribute__(name)

    def _audit(self, result: str, detail: str = "") -> None:
        pass


@pytest.fixture
def rolled(monkeypatch):
    def run(batches: list[list[str]], fail: dict[str, str] | None = None) -> roll.FleetResult:
        global LOG
        LOG = Log(fail or {})
        monkeypatch.setattr(roll, "Run", Recorded)
        monkeypatch.setattr(roll, "read_state", lambda *_: SimpleNamespace(ledger=Ledger()))
        monkeypatch.setattr(roll.plan, "roll_plan",
                            lambda hosts, *_a, **_k: plan.RollPlan(batches, None))
        target = build_target({"host": "203.0.113.10", "domain": "api.example.com"})
        r = roll.Roll([roll.Member(h, target) for h in HOSTS], say=lambda _t: None)
        return r._roll({h: h for h in HOSTS}, HOSTS)

    return run


def test_the_first_batch_is_checked_alone_then_the_others_warm_and_only_switch(rolled) -> None:
    result = rolled([["w1"], ["w2", "w3"], ["w4"]])
    assert result.ok, result.message
    healthy = LOG.index("w1", "deploy health")
    for host in ("w2", "w3", "w4"):
        assert LOG.index(host, "deploy start") > healthy  # nothing boots before the canary
        assert LOG.index(host, "deploy health") < LOG.index(host, "deploy switch (recheck)")
    assert "deploy switch" in LOG.of("w1")  # just checked: no second question
    for earlier, later in (("w1", "w2"), ("w1", "w3"), ("w3", "w4"), ("w2", "w4")):
        assert LOG.index(earlier, "deploy switch" + " (recheck)" * (earlier != "w1")) < \
            LOG.index(later, "deploy switch (recheck)")
    assert "install waited in vain" not in LOG.of("w4")  # the canary booted meanwhile
    installed = max(LOG.index(h, "deploy install") for h in HOSTS)
    assert installed < min(i for i, (_h, w) in enumerate(LOG.lines) if "switch" in w)
    for host in HOSTS:  # every phase once, in order
        assert [w.removeprefix("deploy ").removesuffix(" (recheck)") for w in LOG.of(host)] \
            == list(DEPLOY_PHASES)
        assert result.hosts[host].outcome == plan.SWITCHED


def test_a_canary_that_fails_its_health_check_starts_nothing_else(rolled) -> None:
    result = rolled([["w1"], ["w2", "w3"], ["w4"]], fail={"w1": "health"})
    assert not result.ok and "failed on w1" in result.message
    for host in ("w2", "w3", "w4"):
        assert "deploy start" not in LOG.of(host)
        assert LOG.of(host)[-1] == "deploy unlock"  # prepared, undone, unlocked
        assert result.hosts[host].outcome == plan.UNTOUCHED
    assert not any(w.startswith("rollback") for _h, w in LOG.lines)  # nothing had switched


@pytest.mark.parametrize(
    ("fail", "never"),
    [({"w4": "health"}, {"w4"}),  # warmed ahead: known before its batch
     ({"w2": "switch"}, {"w4"}),  # undone by its own switch; the next batch never goes
     ({"w3": "drain"}, set())],  # after its switch (w4's may already have gone: sent back)
)
def test_a_later_failure_stops_the_roll_and_reverts_every_switched_host(rolled, fail,
                                                                        never) -> None:
    (bad, _phase), = fail.items()
    result = rolled([["w1"], ["w2", "w3"], ["w4"]], fail=fail)
    assert not result.ok and f"failed on {bad}" in result.message
    assert result.hosts[bad].outcome == plan.FAILED
    switched = {h for h in HOSTS if any(w.startswith("deploy switch") for w in LOG.of(h))}
    assert not switched & never
    reverted = {h for h in HOSTS if "rollback switch" in LOG.of(h)}
    assert reverted == switched - {bad}
    for host in HOSTS:
        assert LOG.of(host).count("deploy unlock") == 1
