"""The release ledger: current/good/bad bookkeeping, rollback target and retention."""

import pytest

from deployer.layout import Layout
from deployer.names import new_release_id
from deployer.release.ledger import Ledger, Release, retention

SHA = "ab" * 32


def rid(n: int) -> str:
    return f"20261127T1400{n:02d}-{SHA[:16]}"


def ledger_of(*statuses: str) -> Ledger:
    return Ledger(tuple(Release(id=rid(i), sha256=SHA, status=s) for i, s in enumerate(statuses)))


def test_release_id_sorts_by_time_and_names_the_artifact() -> None:
    from datetime import UTC, datetime

    first = new_release_id(SHA, datetime(2026, 11, 27, 9, 5, 1, tzinfo=UTC))
    later = new_release_id("cd" * 32, datetime(2026, 11, 27, 10, 0, 0, tzinfo=UTC))
    assert first == "20261127T090501-abababababababab"
    assert first < later


@pytest.mark.parametrize("bad", ["../etc", "x; rm -rf /", "20261127T090501-ABABABABABABABAB", ""])
def test_layout_rejects_hostile_release_ids(bad: str) -> None:
    with pytest.raises(ValueError):
        Layout("app").release(bad)


def test_layout_paths_follow_the_contract() -> None:
    lay = Layout("shop")
    assert str(lay.release(rid(1))) == f"/srv/shop/releases/{rid(1)}"
    assert str(lay.ledger) == "/srv/shop/state/releases.json"
    assert str(lay.lock_dir) == "/srv/shop/state/deploy.lock"
    assert lay.unit(rid(1)) == f"shop@{rid(1)}.service"
    with pytest.raises(ValueError):
        Layout("Shop;id")


def test_json_round_trip_and_empty_file() -> None:
    led = ledger_of("good", "current", "bad")
    assert Ledger.from_json(led.to_json()) == led
    assert Ledger.from_json("") == Ledger()


def test_make_current_demotes_the_old_current() -> None:
    led = ledger_of("good", "current").add(Release(id=rid(2), sha256=SHA))
    led = led.make_current(rid(2))
    assert [r.status for r in led.releases] == ["good", "good", "current"]
    assert led.current().id == rid(2)


def test_rollback_target_is_previous_good_never_bad() -> None:
    led = ledger_of("good", "bad", "current", "bad")
    assert led.rollback_target().id == rid(0)
    assert ledger_of("bad", "current").rollback_target() is None


def test_rollback_target_is_older_than_current_after_a_rollback() -> None:
    led = ledger_of("good", "good", "current").make_current(rid(1))
    assert led.rollback_target().id == rid(0)


def test_a_redeploy_after_a_rollback_goes_back_to_what_served_meanwhile() -> None:
    # v1 (0) -> deploy v2 (1) -> rollback to v1 -> deploy v2 again (2): rollback -> v1, not (1)
    led = ledger_of("current").add(Release(id=rid(1), sha256=SHA))
    led = led.make_current(rid(1), deployed=True).make_current(rid(0))
    assert led.current().previous == ""  # a rollback names no new "previous"
    led = led.add(Release(id=rid(2), sha256=SHA)).make_current(rid(2), deployed=True)
    assert led.current().previous == rid(0)
    assert led.rollback_target().id == rid(0)
    assert Ledger.from_json(led.to_json()) == led
    # what served before is bad by now: the older-good rule again
    assert led.mark_bad(rid(0)).rollback_target().id == rid(1)


def test_mark_bad_refuses_the_serving_release() -> None:
    led = ledger_of("good", "current")
    with pytest.raises(ValueError):
        led.mark_bad(rid(1))
    assert led.mark_bad(rid(0), "health 500").get(rid(0)).status == "bad"


def test_retention_keeps_n_newest_including_current() -> None:
    led = ledger_of("good", "good", "good", "good", "good", "good", "current")
    assert retention([r.id for r in led.releases], led, keep=5) == [rid(0), rid(1)]


def test_retention_never_deletes_current_or_rollback_target() -> None:
    # current and its rollback target are the two oldest; 5 newer bad releases follow
    led = ledger_of("good", "current", "bad", "bad", "bad", "bad", "bad")
    doomed = retention([r.id for r in led.releases], led, keep=3)
    assert rid(0) not in doomed and rid(1) not in doomed
    assert len(led.releases) - len(doomed) == 3


def test_retention_ignores_foreign_names_and_small_keep() -> None:
    led = ledger_of("current")
    assert retention(["lost+found", rid(0)], led, keep=5) == []
    with pytest.raises(ValueError):
        retention([], led, keep=1)
