"""The command line's shape: version, help, and every command group registered."""

import subprocess
import sys

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


HEAVY = ("pulumi", "fabric", "paramiko", "pydantic", "jinja2", "httpx", "fastapi", "sqlalchemy")


def test_help_imports_no_heavy_library() -> None:
    """`deployer --help` must stay fast: no cloud SDK, SSH or web library is imported for it."""
    probe = (
        "import runpy, sys\n"
        "sys.argv = ['deployer', '--help']\n"
        "try:\n    runpy.run_module('deployer', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "sys.stderr.write(' '.join(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    loaded = set(done.stderr.split())
    assert "deployer" in loaded
    assert loaded.isdisjoint(HEAVY), sorted(loaded.intersection(HEAVY))
