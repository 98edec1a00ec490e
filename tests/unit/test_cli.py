"""The command line's shape: version, help, and every command group registered."""

import subprocess
import sys

from typer.testing import CliRunner

from deployer import __version__
from deployer.cli import app
from deployer.cli.common import Code, classify, guard

runner = CliRunner()


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"deployer {__version__}"


def test_help_lists_groups() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output


HEAVY = ("pulumi", "fabric", "paramiko", "pydantic", "jinja2", "httpx", "fastapi", "sqlalchemy",
         "boto3", "botocore")


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


def _errors():
    from deployer.artifact import ArtifactError
    from deployer.release.lock import LockHeld, LockInfo
    from deployer.release.promote import PromotionRefused
    from deployer.remote import HostKeyError, RemoteError
    from deployer.sandbox.errors import SandboxError
    from deployer.target import TargetError

    held = LockHeld(LockInfo(who="ci", when="now", what="deploy"))
    return [
        (TargetError("x"), Code.INPUT),
        (ArtifactError("x"), Code.INPUT),
        (RemoteError("x"), Code.CONNECT),
        (HostKeyError("x"), Code.CONNECT),
        (SandboxError("x", fix="y"), Code.CONNECT),
        (held, Code.REFUSED),
        (PromotionRefused("x"), Code.REFUSED),
    ]


def test_the_guard_maps_each_expected_error_to_its_exit_code() -> None:
    for exc, code in _errors():
        assert classify(exc)[0] == code, exc
    assert classify(ValueError("a bug")) is None  # unexpected errors keep their traceback


def _commands(typer_app) -> list:
    found = [c.callback for c in typer_app.registered_commands]
    for group in typer_app.registered_groups:
        found += _commands(group.typer_instance)
    return found


def test_every_command_runs_under_the_one_guard() -> None:
    wrapped = guard(lambda: None).__code__
    commands = _commands(app)
    assert len(commands) >= 15
    unguarded = [c.__name__ for c in commands if c.__code__ is not wrapped]
    assert not unguarded


def test_an_unknown_sandbox_host_is_bad_input() -> None:
    result = runner.invoke(app, ["sandbox", "outputs", "no-such-host"])
    assert result.exit_code == Code.INPUT, result.output
    assert "no sandbox host named 'no-such-host'" in result.output
