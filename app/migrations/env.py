"""Alembic environment: the database URL comes from the app settings (DATABASE_URL, env/.env).

Callers may pass `config.attributes["database_url"]` (tests, `python -m app`) or an open
`config.attributes["connection"]`. Only DatabaseSettings is read, so SECRET_KEY is not needed.
"""

from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection

from app.config import DatabaseSettings
from app.db import make_engine
from app.models import Base

config = context.config
target_metadata = Base.metadata

if config.config_file_name and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def database_url() -> str:
    return config.attributes.get("database_url") or DatabaseSettings().database_url


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_offline() -> None:
    """Emit SQL instead of executing it (`alembic upgrade head --sql`)."""
    context.configure(
        url=database_url(), target_metadata=target_metadata, literal_binds=True, compare_type=True
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run(connection)
        return
    engine = make_engine(database_url())
    try:
        with engine.connect() as connection:
            run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
