"""`deployer bootstrap` input handling, before any connection: sources merged, errors clear."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from deployer.cli import app
from deployer.cli.common import Code
from deployer.target import TargetError
from deployer.targets import assemble, parse_host, stack_outputs

runner = CliRunner()
REPO = Path(__file__).resolve().parents[2]


def test_parse_host() -> None:
    assert parse_host("deploy@203.0.113.10:2222") == {
        "host": "203.0.113.10", "ssh_user": "deploy", "ssh_port": 2222,
    }  # fmt: skip
    assert parse_host("myalias") == {"host": "myalias"}
    with pytest.raises(TargetError):
        parse_host("a@b@c")


def test_outputs_then_cli_flags_win(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    out.write_text(json.dumps({"cloud": "aws", "host": "198.51.100.7", "ssh_user": "ubuntu",
                               "domain": "api.example.com", "database_url": "postgresql://x"}))
    t = assemble(None, outputs=out, cli={"domain": "www.example.com"}, app={"workers": 4})
    assert (t.host, t.ssh_user, t.domain, t.app.workers) == (
        "198.51.100.7", "ubuntu", "www.example.com", 4,
    )  # fmt: skip
    assert "DATABASE_URL" in t.app.secrets


def test_missing_pulumi_cli_points_to_outputs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(TargetError, match="--outputs"):
        stack_outputs("aws-prod")
    with pytest.raises(TargetError, match="invalid stack"):
        stack_outputs("prod; rm -rf /")


@pytest.mark.parametrize(
    "args",
    [
        ["deploy@203.0.113.10"],  # no domain
        ["deploy@203.0.113.10", "--domain", "x.example.com;id"],
        ["deploy@203.0.113.10", "--domain", "x.example.com", "--health-path", "/../x"],
        ["deploy@203.0.113.10", "--domain", "x.example.com", "--source", "/nonexistent/app"],
        ["deploy@203.0.113.10", "--domain", "x.example.com", "--secret", "NOT_SET_ANYWHERE"],
    ],
)
def test_bad_input_exits_2_before_connecting(args: list[str]) -> None:
    result = runner.invoke(app, ["bootstrap", *args])
    assert result.exit_code == Code.INPUT, result.output
    assert "invalid input" in result.output
