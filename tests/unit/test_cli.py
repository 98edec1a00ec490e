"""The command line's shape: version, help, and every command group registered."""

from typer.testing import CliRunner

from deployer import __version__
from deployer.cli import app

runner = CliRunner()


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"deployer {__version__}"


def test_help_lists_groups() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output
