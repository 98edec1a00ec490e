"""Settings from the environment and an optional `.env` file (pydantic-settings).

`DatabaseSettings` holds only what migrations need, so `alembic upgrade head` runs without
SECRET_KEY; `Settings` is the whole app configuration and refuses to start in a
non-development environment without a strong SECRET_KEY.
"""

import json
import logging
import re
import secrets
from functools import cached_property
from typing import Annotated

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from app.version import read_version_file

DEVELOPMENT = "development"
MIN_SECRET_KEY_LENGTH = 32
DEFAULT_DATABASE_URL = "sqlite:///./app.db"


class ConfigError(RuntimeError):
    """The configuration is invalid; the message says which setting to fix."""


class DatabaseSettings(BaseSettings):
    """The database connection, shared by the app and the Alembic migration environment."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL


class Settings(DatabaseSettings):
    """Everything the app reads from its environment."""

    environment: str = "production"
    secret_key: SecretStr | None = None
    access_token_expire_minutes: int = Field(default=30, ge=1, le=7 * 24 * 60)
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    log_level: str = "INFO"
    ready_timeout_seconds: float = Field(default=2.0, gt=0, le=30)
    app_version: str = Field(default_factory=read_version_file, min_length=1, max_length=64)

    @field_validator("environment")
    @classmethod
    def _environment_is_a_name(cls, value: str) -> str:
        value = value.strip().lower()
        if not re.fullmatch(r"[a-z][a-z0-9_-]{0,31}", value):
            raise ValueError("ENVIRONMENT must be a short lowercase name, e.g. production")
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        """Accept "https://a.example, https://b.example", a JSON list, or a list."""
        if isinstance(value, str):
            if value.lstrip().startswith("["):
                return json.loads(value)
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, value: str) -> str:
        value = value.strip().upper()
        if value not in logging.getLevelNamesMapping():
            raise ValueError(f"LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR; got {value!r}")
        return value

    @model_validator(mode="after")
    def _secret_key_outside_development(self) -> "Settings":
        if self.is_development:
            return self
        key = self.secret_key.get_secret_value() if self.secret_key else ""
        if len(key) < MIN_SECRET_KEY_LENGTH:
            raise ValueError(
                f"SECRET_KEY must be set to at least {MIN_SECRET_KEY_LENGTH} characters "
                f"unless ENVIRONMENT=development (ENVIRONMENT is {self.environment!r}); "
                'generate one with: python -c "import secrets; print(secrets.token_urlsafe(48))"'
            )
        return self

    @property
    def is_development(self) -> bool:
        return self.environment == DEVELOPMENT

    @cached_property
    def jwt_key(self) -> str:
        """The signing key; in development without SECRET_KEY, a random per-process key."""
        if self.secret_key is not None and self.secret_key.get_secret_value():
            return self.secret_key.get_secret_value()
        return secrets.token_urlsafe(48)


def load_settings() -> Settings:
    """Read the settings, turning validation errors into one clear ConfigError."""
    try:
        return Settings()
    except ValidationError as error:
        problems = "; ".join(_describe(e) for e in error.errors(include_input=False))
        raise ConfigError(f"invalid configuration: {problems}") from None


def _describe(error: ErrorDetails) -> str:
    """`LOG_LEVEL: ...` for a field; the bare message for a whole-model check."""
    message = error["msg"].removeprefix("Value error, ")
    field = ".".join(str(part) for part in error["loc"]).upper()
    return f"{field}: {message}" if field else message
