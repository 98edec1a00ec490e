"""deployer.toml stages: paths resolved, ACME shortcuts, secrets from the environment only."""

from __future__ import annotations

from pathlib import Path

import pytest

from deployer import config
from deployer.target import LETS_ENCRYPT_STAGING, TargetError, build_target

TOML = """
[stages.staging]
host = "203.0.113.5"
ssh_user = "deploy"
domain = "staging.example.com"
acme = "staging"

[stages.staging.app]
name = "hello"
source = "apps/hello"
asgi = "hello.api:application"
requirements = "hello/requirements.txt"
health_path = "/healthz"
env = { ENVIRONMENT = "staging" }
secrets_from_env = ["API_TOKEN"]
"""


def test_stage_builds_a_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "deployer.toml"
    path.write_text(TOML)
    monkeypatch.setenv("API_TOKEN", "tok")
    data = config.stage(config.load(path), "staging", tmp_path)
    t = build_target(data)
    assert t.acme_server == LETS_ENCRYPT_STAGING
    assert t.app.source == tmp_path / "apps/hello"
    assert t.app.secrets["API_TOKEN"].get_secret_value() == "tok"
    assert t.stage == "staging"


def test_missing_secret_and_unknown_stage(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "deployer.toml"
    path.write_text(TOML)
    monkeypatch.delenv("API_TOKEN", raising=False)
    with pytest.raises(TargetError, match="API_TOKEN"):
        config.stage(config.load(path), "staging", tmp_path)
    with pytest.raises(TargetError, match="stages: staging"):
        config.stage(config.load(path), "prod", tmp_path)


def test_release_commands_do_not_need_the_secrets(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "deployer.toml"
    path.write_text(TOML)
    monkeypatch.delenv("API_TOKEN", raising=False)
    data = config.stage(config.load(path), "staging", tmp_path, secrets=False)
    assert "secrets" not in data["app"]
    assert build_target(data).app.secrets == {}


def test_the_committed_deployer_toml_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    root = Path(__file__).resolve().parents[2]
    raw = config.load(root / "deployer.toml")
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    for name in raw["stages"]:
        data = config.stage(raw, name, root)
        assert data.pop("stack") == name  # stage names are the Pulumi stack names
        assert (root / f"Pulumi.{name}.yaml").is_file()


def test_unknown_keys_refused(tmp_path: Path) -> None:
    path = tmp_path / "deployer.toml"
    path.write_text('[stages.x]\nhost = "h.example.com"\npassword = "no"\n')
    with pytest.raises(TargetError, match="password"):
        config.stage(config.load(path), "x", tmp_path)


def test_env_file_parsing(tmp_path: Path) -> None:
    f = tmp_path / "s.env"
    f.write_text("# c\nexport A=\"x y\"\nB='$(id)'\n\nC=plain\n")
    assert config.read_env_file(f) == {"A": "x y", "B": "$(id)", "C": "plain"}
