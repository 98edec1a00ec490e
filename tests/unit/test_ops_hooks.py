"""Deploy hooks from deployer.toml: where they sit among the phases, and their validation."""

import pytest

from deployer.release.phases import DEPLOY_PHASES, GATED, ROLLBACK_PHASES, with_hooks
from deployer.target import TargetError, build_target


@pytest.mark.parametrize(
    ("base", "action", "hooks", "inserted"),
    [
        (DEPLOY_PHASES, "deploy", {}, []),
        (DEPLOY_PHASES, "deploy", {"pre_switch"}, [("pre_switch", "switch")]),
        (DEPLOY_PHASES, "deploy", {"post_switch"}, [("post_switch", "unlock")]),
        (DEPLOY_PHASES, "deploy", {"post_rollback"}, []),
        (ROLLBACK_PHASES, "rollback", {"pre_switch", "post_switch"}, []),
        (ROLLBACK_PHASES, "rollback", {"post_rollback"}, [("post_rollback", "unlock")]),
    ],
)
def test_hooks_take_their_place(base, action, hooks, inserted) -> None:
    phases = with_hooks(base, action, hooks)
    assert len(phases) == len(base) + len(inserted)
    for hook, before in inserted:
        assert phases.index(hook) + 1 == phases.index(before)
    assert [p for p in phases if p not in dict(inserted)] == list(base)


def test_a_failing_pre_switch_is_gated_and_post_hooks_are_not() -> None:
    assert "pre_switch" in GATED
    assert not {"post_switch", "post_rollback"} & GATED


def target(hooks):
    return build_target({"host": "h.example", "domain": "h.example", "app": {"hooks": hooks}})


def test_hooks_are_validated() -> None:
    assert target({"pre_switch": "alembic current"}).app.hooks == {"pre_switch": "alembic current"}
    for bad in ({"pre_deploy": "x"}, {"pre_switch": ""}, {"post_switch": "a\nb"}):
        with pytest.raises(TargetError):
            target(bad)
