"""Settings: SECRET_KEY is mandatory outside development; values come from env and `.env`."""

from pathlib import Path

import pytest

from app.config import MIN_SECRET_KEY_LENGTH, ConfigError, Settings, load_settings

STRONG = "k" * MIN_SECRET_KEY_LENGTH


@pytest.mark.parametrize("environment", ["production", "staging", "test"])
def test_secret_key_required_outside_development(
    monkeypatch: pytest.MonkeyPatch, environment: str
) -> None:
    monkeypatch.setenv("ENVIRONMENT", environment)
    with pytest.raises(ConfigError, match="SECRET_KEY must be set"):
        load_settings()


def test_production_is_the_default_environment() -> None:
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_settings()


def test_short_secret_key_rejected_without_echoing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_KEY", "tooShortKey123")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "tooShortKey123" not in str(caught.value)
    assert "at least 32 characters" in str(caught.value)


def test_development_runs_without_secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "development")
    settings = load_settings()
    assert settings.is_development
    assert len(settings.jwt_key) >= MIN_SECRET_KEY_LENGTH
    assert settings.jwt_key == settings.jwt_key  # stable within one process


def test_secret_key_is_used_for_tokens_and_hidden_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_KEY", STRONG)
    settings = load_settings()
    assert settings.jwt_key == STRONG
    assert STRONG not in repr(settings)


def test_settings_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_KEY", STRONG)
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://u:p@db.internal/app")
    monkeypatch.setenv("CORS_ORIGINS", "https://a.example, https://b.example")
    monkeypatch.setenv("LOG_LEVEL", "debug")
    monkeypatch.setenv("ACCESS_TOKEN_EXPIRE_MINUTES", "5")
    settings = load_settings()
    assert settings.database_url == "postgresql+psycopg://u:p@db.internal/app"
    assert settings.cors_origins == ["https://a.example", "https://b.example"]
    assert settings.log_level == "DEBUG"
    assert settings.access_token_expire_minutes == 5


def test_cors_origins_accept_json_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "development")
    monkeypatch.setenv("CORS_ORIGINS", '["https://a.example", "http://localhost:3000"]')
    assert load_settings().cors_origins == ["https://a.example", "http://localhost:3000"]


def test_settings_from_dotenv_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text(
        f"SECRET_KEY={STRONG}\nDATABASE_URL=sqlite:///./from-dotenv.db\nUNRELATED=1\n"
    )
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.database_url == "sqlite:///./from-dotenv.db"
    assert settings.environment == "production"


def test_default_database_is_a_sqlite_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "development")
    assert load_settings().database_url == "sqlite:///./app.db"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LOG_LEVEL", "LOUD"),
        ("ACCESS_TOKEN_EXPIRE_MINUTES", "0"),
        ("ENVIRONMENT", "Prod uction"),
        ("READY_TIMEOUT_SECONDS", "-1"),
    ],
)
def test_invalid_values_are_named(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv("SECRET_KEY", STRONG)
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        load_settings()


def test_the_asgi_app_without_secret_key_fails_clearly() -> None:
    """What `uvicorn app.main:app` reports when SECRET_KEY is missing in production."""
    import app.main

    with pytest.raises(ConfigError, match=r"^invalid configuration: SECRET_KEY must be set"):
        _ = app.main.app


def test_settings_class_defaults_do_not_need_a_file() -> None:
    settings = Settings(_env_file=None, environment="development")  # type: ignore[call-arg]
    assert settings.cors_origins == []
    assert settings.ready_timeout_seconds > 0
