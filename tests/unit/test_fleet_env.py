"""An environment change rolled across a fleet (no host): each host's lifecycle gets the change,
the .env it read is kept, and a host that had switched is reverted by putting that file back
(a health-gated release of it), not by a rollback, which would restart the old release with
the new values (the file is shared by every release)."""

from __future__ import annotations

import pytest

from deployer.engine import Outcome
from deployer.fleet import plan, roll
from deployer.target import build_target


class Made:
    """Stands in for the lifecycle ``Run``: records how the roll made it; its lock phase
    computes the environment change as the real one does."""

    runs: list[Made] = []

    def __init__(self, remote, target, **kwargs) -> None:
        self.remote, self.target, self.kw = remote, target, kwargs
        self.release, self.release_id, self.noop = None, "rel-env", False
        Made.runs.append(self)

    def prepare(self) -> Outcome:
        change = self.kw["env_for"]("A=1\n") if self.kw.get("env_for") else None
        self.noop = change is None
        return Outcome(stopped="environment unchanged: no-op" if self.noop else "")

    def pending(self, _outcome: Outcome) -> bool:
        return False

    def execute(self) -> Outcome:
        return Outcome()


@pytest.fixture
def made(monkeypatch) -> type[Made]:
    Made.runs = []
    monkeypatch.setattr(roll, "Run", Made)
    return Made


def fleet(**kwargs) -> roll.Roll:
    t = build_target({"host": "203.0.113.10", "domain": "api.example.com"})
    return roll.Roll([roll.Member(n, t) for n in ("w1", "w2")], say=lambda _t: None, **kwargs)


def add_b(current: str) -> tuple[str, str] | None:
    return None if "B=" in current else (current + "B=2\n", "env: set B")


@pytest.mark.parametrize(
    ("env_for", "outcome", "kept", "revert"),
    [
        # an environment change: each host's .env kept; the revert puts it back
        (add_b, plan.SWITCHED, {"w1": "A=1\n"},
         {"action": "deploy", "back": ("A=1\n", "env: fleet revert")}),
        (lambda _c: None, plan.NOOP, {"w1": "A=1\n"}, {"action": "deploy"}),  # nothing changes
        # a deploy (artifact) or a rollback: the revert is a rollback to what served before
        (None, plan.NOOP, {}, {"action": "rollback", "rollback_to": "rel-before"}),
    ],
)
def test_each_host_computes_the_change_and_a_revert_puts_its_file_back(
    made, env_for, outcome, kept, revert
) -> None:
    r = fleet(env_for=env_for, audit_as="env" if env_for else "")
    name, got, _reached = r._prepare("remote-w1", "w1", None)
    (run,) = made.runs
    assert run.kw["action"] == "deploy" and run.kw["artifact"] is None
    assert (run.kw["env_for"] is None) == (env_for is None)
    if env_for is add_b:  # the roll never sees the values: the lifecycle computes them
        assert run.kw["env_for"]("A=1\n") == ("A=1\nB=2\n", "env: set B")
    assert r.env_before == kept
    assert (name, got) == ("w1", outcome)
    r._revert("remote-w1", "w1", "rel-before")
    back = made.runs[-1]
    assert back.kw["action"] == revert["action"]
    if "back" in revert:
        assert back.kw["env_for"]("A=1\nB=2\n") == revert["back"]
        assert back.kw["env_for"]("A=1\n") is None  # already back: a no-op
        assert back.kw["audit_as"] == "env"
    else:
        assert back.kw.get("rollback_to", "") == revert.get("rollback_to", "")
    assert r.reports["w1"].outcome == roll.ROLLED_BACK
