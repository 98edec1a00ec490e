"""Fleet decisions as tables: batches, lock order, run-once work, revert plan, preflight, drift."""

from __future__ import annotations

import pytest

from deployer.fleet import plan
from deployer.fleet.plan import FAILED, NOOP, SWITCHED, UNTOUCHED, BatchSize, HostRelease

H4 = ["w1", "w2", "w3", "w4"]


@pytest.mark.parametrize(
    ("spec", "size"),
    [("1", BatchSize(1)), ("3", BatchSize(3)), ("50%", BatchSize(50, True)),
     ("100%", BatchSize(100, True)), (" 2 ", BatchSize(2))],
)
def test_batch_specs(spec: str, size: BatchSize) -> None:
    assert plan.parse_batch(spec) == size


@pytest.mark.parametrize("spec", ["0", "0%", "101%", "-1", "x", "2.5", "", "%", "10%%"])
def test_bad_batch_specs(spec: str) -> None:
    with pytest.raises(ValueError, match="--batch"):
        plan.parse_batch(spec)


@pytest.mark.parametrize(
    ("hosts", "spec", "canary", "expected"),
    [
        (H4, "1", True, [["w1"], ["w2"], ["w3"], ["w4"]]),
        (H4, "2", True, [["w1"], ["w2", "w3"], ["w4"]]),
        (H4, "50%", True, [["w1"], ["w2", "w3"], ["w4"]]),  # 50% of 4 = 2
        (H4, "100%", True, [["w1"], ["w2", "w3", "w4"]]),
        (H4, "2", False, [["w1", "w2"], ["w3", "w4"]]),
        (H4, "30%", False, [["w1", "w2"], ["w3", "w4"]]),  # rounded up: 1.2 -> 2
        (["w1", "w2", "w3"], "1%", True, [["w1"], ["w2"], ["w3"]]),  # never 0 hosts
        (["solo"], "50%", True, [["solo"]]),  # one host: no separate canary
        ([], "1", True, []),
        (["b", "a"], "1", True, [["b"], ["a"]]),  # configured order, not sorted
    ],
)
def test_batches(hosts, spec, canary, expected) -> None:
    assert plan.batches(hosts, plan.parse_batch(spec), canary=canary) == expected


@pytest.mark.parametrize(
    ("hosts", "expected"),
    [(["w3", "w1", "w2"], ["w1", "w2", "w3"]), (["b", "a", "b"], ["a", "b"]), ([], [])],
)
def test_lock_order_is_fixed_whatever_the_configured_order(hosts, expected) -> None:
    assert plan.lock_order(hosts) == expected


@pytest.mark.parametrize(
    ("spec", "run_once", "canary", "batches", "on"),
    [
        ("2", True, True, [["w1"], ["w2", "w3"], ["w4"]], "w1"),
        # no canary asked, but migrations: they run alone on the first host, before any switch
        ("2", True, False, [["w1"], ["w2", "w3"], ["w4"]], "w1"),
        ("2", False, False, [["w1", "w2"], ["w3", "w4"]], None),
        ("2", False, True, [["w1"], ["w2", "w3"], ["w4"]], None),
    ],
)
def test_run_once_work_goes_to_one_host_of_a_single_host_first_batch(
    spec, run_once, canary, batches, on
) -> None:
    rolled = plan.roll_plan(H4, plan.parse_batch(spec), run_once=run_once, canary=canary)
    assert rolled.batches == batches and rolled.run_once_on == on
    if on:
        assert rolled.batches[0] == [on]


@pytest.mark.parametrize(
    ("outcomes", "reached", "rollback", "mark_bad"),
    [
        # all went well: nothing to undo
        ({"w1": SWITCHED, "w2": SWITCHED}, {"w1", "w2"}, [], []),
        ({"w1": NOOP, "w2": SWITCHED}, {"w2"}, [], []),
        # the canary fails: its own lifecycle kept the old release; nothing switched
        ({"w1": FAILED, "w2": UNTOUCHED, "w3": UNTOUCHED}, {"w1"}, [], ["w1"]),
        # a later batch fails: the switched hosts go back, last switched first
        ({"w1": SWITCHED, "w2": SWITCHED, "w3": FAILED, "w4": UNTOUCHED},
         {"w1", "w2", "w3"}, ["w2", "w1"], ["w1", "w2", "w3"]),
        # a host already on the release (noop) is not rolled back
        ({"w1": NOOP, "w2": SWITCHED, "w3": FAILED}, {"w2", "w3"}, ["w2"], ["w2", "w3"]),
        # one host of a batch failed, its sibling switched: the sibling goes back too
        ({"w1": SWITCHED, "w2": FAILED, "w3": SWITCHED}, {"w1", "w2", "w3"},
         ["w3", "w1"], ["w1", "w2", "w3"]),
    ],
)
def test_revert_plan(outcomes, reached, rollback, mark_bad) -> None:
    assert plan.revert_plan(outcomes, reached) == plan.Revert(rollback, mark_bad)


@pytest.mark.parametrize(
    ("reachable", "skip", "hosts", "skipped", "error"),
    [
        ({"w1": "", "w2": ""}, False, ["w1", "w2"], [], ""),
        ({"w1": "", "w2": "refused"}, False, [], [], "w2: refused"),
        ({"w1": "", "w2": "refused"}, True, ["w1"], ["w2"], ""),
        ({"w1": "timeout", "w2": "refused"}, True, [], [], "w1: timeout; w2: refused"),
    ],
)
def test_a_down_host_stops_the_roll_before_anything_is_touched(
    reachable, skip, hosts, skipped, error
) -> None:
    got = plan.preflight(reachable, skip_down=skip)
    assert (got.hosts, got.skipped) == (hosts, skipped)
    assert (error in got.error) if error else got.error == ""
    if error and not skip:
        assert "--skip-down" in got.error


def _on(sha: str) -> HostRelease:
    return HostRelease(release=f"r-{sha}", sha256=sha, version=sha)


@pytest.mark.parametrize(
    ("current", "consistent", "majority", "drifted"),
    [
        ({"w1": _on("a"), "w2": _on("a")}, True, "a", []),
        ({"w1": _on("a"), "w2": _on("b"), "w3": _on("a")}, False, "a", ["w2"]),
        ({"w1": _on("a"), "w2": _on("b")}, False, "a", ["w2"]),  # tie: the first host's
        ({"w1": _on("a"), "w2": HostRelease()}, False, "a", ["w2"]),  # nothing on w2
        ({}, True, "", []),
    ],
)
def test_drift(current, consistent, majority, drifted) -> None:
    got = plan.drift(current)
    assert (got.consistent, got.majority, got.drifted) == (consistent, majority, drifted)
    assert ("drift:" in got.describe()) != consistent


def _prints(**keys: str) -> dict[str, str]:
    return {k: f"sha-of-{v}" for k, v in keys.items()}


@pytest.mark.parametrize(
    ("fingerprints", "expected"),
    [
        ({}, []),
        ({"w1": _prints(A="1")}, []),
        ({"w1": _prints(A="1", B="2"), "w2": _prints(A="1", B="2")}, []),
        # every host compared with the first, key names only
        ({"w1": _prints(A="1", B="2"), "w2": _prints(A="1"), "w3": _prints(A="9", B="2", C="3")},
         ["w2: missing B", "w3: extra C; other value of A"]),
        ({"w1": _prints(), "w2": _prints(A="1")}, ["w2: extra A"]),
        ({"w1": _prints(A="1"), "w2": _prints(A="2"), "w3": _prints(A="2")},
         ["w2: other value of A", "w3: other value of A"]),  # the first host is the reference
    ],
)
def test_env_drift(fingerprints, expected) -> None:
    found = plan.env_drift(fingerprints)
    assert [d.describe() for d in found] == expected
    assert not any("sha-of" in d.describe() for d in found)


@pytest.mark.parametrize(
    ("errors", "line"),
    [
        ({"w1": "", "w2": ""}, "fleet: 2 hosts, 2 ok, 0 failed"),
        ({"w1": "", "w2": "boom", "w3": "down"}, "fleet: 3 hosts, 1 ok, 2 failed (w2, w3)"),
        ({}, "fleet: 0 hosts, 0 ok, 0 failed"),
    ],
)
def test_tally_names_the_hosts_that_failed(errors, line) -> None:
    assert plan.tally(errors) == line
