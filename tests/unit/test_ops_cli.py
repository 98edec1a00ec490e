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
