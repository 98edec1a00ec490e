"""The release commands validate input before touching any host (no host needed here)."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from deployer.cli import app

runner = CliRunner()


@pytest.mark.parametrize(
    "command", ["deploy", "rollback", "releases", "unlock", "promote", "status", "logs"]
)
def test_every_release_command_is_registered(command: str) -> None:
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0 and "Usage" in result.output


@pytest.mark.parametrize(
    ("args", "why"),
    [
        (["deploy", "prod", "--keep", "1"], "--keep"),
        (["rollback", "prod", "../../etc/passwd"], "invalid release id"),
        (["rollback", "prod", "20261127T090501-abc; rm -rf /"], "invalid release id"),
        (["logs", "prod", "-n", "0"], "lines must be"),
        (["status", "prod"], "deployer.toml not found"),
        (["promote", "staging", "prod"], "deployer.toml not found"),
    ],
)
def test_bad_input_exits_2_before_connecting(
    args: list[str], why: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "invalid input" in result.output and why in result.output


def test_unknown_stage_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "deployer.toml").write_text('[stages.staging]\nhost = "127.0.0.1"\n')
    result = runner.invoke(app, ["releases", "prod"])
    assert result.exit_code == 2 and "prod" in result.output and "staging" in result.output


def platform_stages(tmp_path: Path) -> str:
    """staging (gcp-staging) and prod (gcp-prod) stages; return prod's file text."""
    placeholder = "europe-docker.pkg.dev/p/app/app@sha256:" + "0" * 64
    (tmp_path / "Pulumi.gcp-staging.yaml").write_text(f"config:\n  deployer:image: {placeholder}\n")
    prod = f"# prod\nconfig:\n  deployer:image: {placeholder}\n  deployer:minInstances: 1\n"
    (tmp_path / "Pulumi.gcp-prod.yaml").write_text(prod)
    (tmp_path / "deployer.toml").write_text(
        '[stages.staging]\nstack = "gcp-staging"\n\n[stages.prod]\nstack = "gcp-prod"\n'
    )
    return prod


def test_promote_between_platform_stages_gives_dst_what_src_deployed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    platform_stages(tmp_path)
    digest = "europe-docker.pkg.dev/p/app/app@sha256:" + "ab" * 32
    cli = tmp_path / "bin" / "pulumi"  # answers `pulumi stack output --json --stack gcp-staging`
    cli.parent.mkdir()
    cli.write_text(f"#!/bin/sh\necho '{{\"artifact\": {{\"deployer:image\": \"{digest}\"}}}}'\n")
    cli.chmod(0o755)
    monkeypatch.setenv("PATH", f"{cli.parent}:/usr/bin:/bin")
    monkeypatch.setenv("DEPLOYER_PULUMI_CLI", "0")  # then edit prod's file (no backend here)
    result = runner.invoke(app, ["promote", "staging", "prod"])
    assert result.exit_code == 0, result.output
    prod = (tmp_path / "Pulumi.gcp-prod.yaml").read_text()
    assert digest in prod and "# prod" in prod and "minInstances: 1" in prod
    assert "pulumi up --stack gcp-prod" in result.output


def test_promote_without_the_pulumi_cli_never_copies_the_committed_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    before = platform_stages(tmp_path)
    monkeypatch.setenv("PATH", "/nonexistent")
    result = runner.invoke(app, ["promote", "staging", "prod"])
    assert result.exit_code == 5, result.output
    assert "stack outputs" in result.output
    assert (tmp_path / "Pulumi.gcp-prod.yaml").read_text() == before


@pytest.mark.parametrize(
    ("fail_at", "code", "line"),
    [("", 0, "is live"), ("health", 4, "failed in phase health"), ("drain", 4, "traffic is on")],
)
def test_deploy_json_report_is_the_engine_s_results(monkeypatch, fail_at, code, line) -> None:
    """The runner's results as JSON (no host: the lifecycle's phases are stand-ins)."""
    import contextlib
    import io
    import json
    import sys

    from deployer.cli import release
    from deployer.engine import Unit, UnitError, run
    from deployer.release import lifecycle
    from deployer.release.phases import DEPLOY_PHASES, GATED
    from deployer.target import build_target

    def phase(name: str):
        def fn() -> str:
            if name == fail_at:
                raise UnitError(f"{name} broke", tail="the log tail")
            return f"{name} done"

        return fn

    def execute(self):
        self.release_id = "20261127T090501-" + "a" * 16
        units = [Unit(n, phase(n), gated=n in GATED, always=n == "unlock") for n in DEPLOY_PHASES]
        return run(units)

    monkeypatch.setattr(lifecycle.Run, "execute", execute)
    monkeypatch.setattr(release, "_connect", lambda _t: contextlib.nullcontext())
    t = build_target({"host": "203.0.113.10", "domain": "api.example.com"})
    art = type("A", (), {"sha256": "b" * 64, "version": "1"})()
    buf = io.StringIO()
    monkeypatch.setattr(sys, "stdout", buf)
    got = release.run_release(t, action="deploy", artifact=art, as_json=True)
    data = json.loads(buf.getvalue())
    assert int(got) == code and data["exit_code"] == code and data["ok"] is (code == 0)
    assert [s["name"] for s in data["steps"]] == list(DEPLOY_PHASES)
    assert any(line in m for m in data["message"])
    if fail_at:
        assert data["error"] == f"{fail_at} broke" and data["tail"] == "the log tail"
