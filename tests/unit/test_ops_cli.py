"""The day-two commands validate input before touching any host (no host needed here)."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from deployer.cli import app

runner = CliRunner()


@pytest.mark.parametrize(
    "command",
    [["exec"], ["env", "list"], ["env", "set"], ["env", "unset"], ["maintenance", "on"],
     ["maintenance", "off"], ["backup"], ["restore"]],
)  # fmt: skip
def test_every_day_two_command_is_registered(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0 and "Usage" in result.output


@pytest.mark.parametrize(
    ("args", "why"),
    [
        (["env", "set", "prod", "SECRET_KEY=hunter2"], "never on the command line"),
        (["env", "set", "prod", "NOT_IN_THE_ENVIRONMENT_X"], "not set in the local environment"),
        (["env", "set", "prod", "PORT"], "set by deployer itself"),
        (["backup", "prod", "--keep", "0"], "keep must be at least 1"),
        (["backup", "prod", "--schedule", "minutely"], "schedule must be one of"),
        (["restore", "prod", "missing.sqlite3"], "not found"),
        (["exec", "prod", "--", "id"], "deployer.toml not found"),
        (["maintenance", "on", "prod"], "deployer.toml not found"),
    ],
)
def test_bad_input_exits_2_before_connecting(
    args: list[str], why: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "invalid input" in result.output and why in result.output
    assert "hunter2" not in result.output


def test_restore_refuses_a_file_not_named_like_a_backup(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dump.sql").write_text("x")
    result = runner.invoke(app, ["restore", "prod", "dump.sql", "--yes"])
    assert result.exit_code == 2 and "unexpected backup file name" in result.output


def fleet_config(tmp_path: Path) -> Path:
    repo = Path(__file__).resolve().parents[2]
    path = tmp_path / "deployer.toml"
    path.write_text(
        '[stages.f]\ndomain = "api.example.com"\n'
        'hosts = [{ name = "web-1", host = "203.0.113.10" },\n'
        '         { name = "web-2", host = "203.0.113.11" }]\n'
        f'\n[stages.f.app]\nsource = "{repo / "app"}"\n'
    )
    return path


@pytest.mark.parametrize(
    ("host", "why"),
    [
        ([], "the stage has 2 hosts (web-1, web-2): pick one with --host"),
        (["--host", "web-3"], "'web-3' is not one of the stage's hosts (web-1, web-2)"),
    ],
)
def test_exec_on_a_stage_of_several_hosts_needs_one_of_them(
    host: list[str], why: str, tmp_path: Path
) -> None:
    # the hosts are TEST-NET addresses: a connection attempt would fail with exit 3, not 2
    config = fleet_config(tmp_path)
    result = runner.invoke(app, ["exec", "f", *host, "--config", str(config), "--", "id"])
    assert result.exit_code == 2, result.output
    assert "invalid input" in result.output and why in " ".join(result.output.split())


@pytest.mark.parametrize(("host", "address"), [("web-2", "203.0.113.11"),
                                               ("203.0.113.10", "203.0.113.10")])
def test_exec_host_picks_that_hosts_target(host: str, address: str, tmp_path: Path) -> None:
    from deployer.cli.ops import _exec_target

    t = _exec_target("f", fleet_config(tmp_path), host)
    assert t.host == address and t.domain == "api.example.com"


@pytest.mark.parametrize(
    ("current", "change", "expected"),
    [
        # a key set beside what is there (read under the lock: a concurrent change is kept)
        ({"A": "1"}, ("set", {"B": "2"}), ({"A": "1", "B": "2"}, "env: set B")),
        ({"A": "1"}, ("set", {"A": "3"}), ({"A": "3"}, "env: set A")),
        ({"A": "1"}, ("set", {"A": "1"}), None),  # unchanged: a no-op
        ({"A": "1", "B": "2"}, ("unset", ["A"]), ({"B": "2"}, "env: unset A")),
        ({"A": "1"}, ("unset", ["Z"]), "not set on the host: Z"),
    ],
)
def test_env_change_for(current, change, expected) -> None:
    from deployer import envfile
    from deployer.cli.ops import env_change_for
    from deployer.ops.env import EnvError, set_values, unset_keys

    kind, arg = change
    fn = set_values if kind == "set" else unset_keys
    compute = env_change_for("shop", lambda before: fn(before, arg))
    text = envfile.render("shop", current)
    if isinstance(expected, str):
        with pytest.raises(EnvError, match=expected):
            compute(text)
    elif expected is None:
        assert compute(text) is None
    else:
        values, note = expected
        assert compute(text) == (envfile.render("shop", values), note)
