"""Commands run as the app user (exec, hooks, backups): argv built without a host."""

import pytest

from deployer.layout import Layout
from deployer.ops import exec as ops_exec

LAY = Layout("shop")
RID = "20261127T140000-" + "a" * 16


@pytest.mark.parametrize(
    ("release", "tty", "mode", "cwd"),
    [
        (LAY.release(RID), False, "--pipe", f"/srv/shop/releases/{RID}"),
        (LAY.release(RID), True, "--pty", f"/srv/shop/releases/{RID}"),
        (LAY.current, False, "--pipe", "/srv/shop/current"),
    ],
)
def test_as_app_argv(release, tty, mode, cwd) -> None:
    argv = ops_exec.as_app_argv(LAY, release, ["python", "-c", "print(1)"], tty=tty)
    assert argv[:5] == ["systemd-run", "--quiet", "--wait", "--collect", mode]
    assert argv[argv.index("--uid") + 1] == "shop" and argv[argv.index("--gid") + 1] == "shop"
    props = [argv[i + 1] for i, a in enumerate(argv) if a == "-p"]
    assert props == [
        "EnvironmentFile=/srv/shop/shared/.env",
        f"EnvironmentFile={cwd}/release.env",
        f"WorkingDirectory={cwd}",
    ]
    assert f"PATH={cwd}/venv/bin:/usr/local/bin:/usr/bin:/bin" in argv
    assert argv[argv.index("/usr/bin/env") :] == ["/usr/bin/env", "--", "python", "-c", "print(1)"]


def test_as_app_argv_refuses_other_directories_and_empty_commands() -> None:
    from pathlib import PurePosixPath

    with pytest.raises(ValueError, match="not a release directory"):
        ops_exec.as_app_argv(LAY, PurePosixPath("/etc"), ["id"])
    with pytest.raises(ValueError, match="no command"):
        ops_exec.as_app_argv(LAY, LAY.current, [])


def test_dollars_reach_the_command_unexpanded_by_systemd() -> None:
    argv = ops_exec.as_app_argv(LAY, LAY.current, ["sh", "-c", "echo ${#SECRET_KEY} $$ $HOME"])
    assert argv[-1] == "echo $${#SECRET_KEY} $$$$ $$HOME"


def test_hook_runs_through_sh() -> None:
    argv = ops_exec.as_app_shell_argv(LAY, LAY.release(RID), "alembic current && echo ok")
    assert argv[-3:] == ["/bin/sh", "-c", "alembic current && echo ok"]


ONE = {"10.0.0.1": "10.0.0.1"}
TWO = {"web-1": "10.0.0.1", "web-2": "10.0.0.2"}
SAME = {"a": "10.0.0.1", "b": "10.0.0.1"}


@pytest.mark.parametrize(
    ("hosts", "wanted", "expected"),
    [
        (ONE, None, "10.0.0.1"),
        (ONE, "10.0.0.1", "10.0.0.1"),
        (TWO, "web-2", "web-2"),
        (TWO, "10.0.0.2", "web-2"),  # the address of exactly one host
        (TWO, None, r"the stage has 2 hosts \(web-1, web-2\): pick one with --host"),
        (ONE, "10.0.0.9", "not one of the stage's hosts"),
        (TWO, "web-3", r"not one of the stage's hosts \(web-1, web-2\)"),
        (SAME, "10.0.0.1", "10.0.0.1 is the address of a, b: name one"),
        (SAME, "b", "b"),
    ],
)
def test_pick_host(hosts, wanted, expected) -> None:
    if expected in hosts:
        assert ops_exec.pick_host(hosts, wanted) == expected
    else:
        with pytest.raises(ValueError, match=expected):
            ops_exec.pick_host(hosts, wanted)


def test_describe_quotes_and_cuts() -> None:
    assert ops_exec.describe(["echo", "a b"]) == "echo 'a b'"
    assert len(ops_exec.describe(["x" * 500])) == 200
