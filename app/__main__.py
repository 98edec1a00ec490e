"""Development server: `python -m app` applies the migrations, then serves with uvicorn.

Production runs gunicorn with app/gunicorn.conf.py instead, after `alembic upgrade head`.
HOST (default 127.0.0.1) and PORT (default 8000) choose where to listen.
"""

import os

import uvicorn

from app import migrate
from app.config import load_settings
from app.logs import configure_logging


def main() -> None:
    settings = load_settings()
    configure_logging(settings.log_level)
    migrate.upgrade(settings.database_url)
    uvicorn.run(
        "app.main:app",
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "8000")),
        log_config=None,
        proxy_headers=True,
    )


if __name__ == "__main__":
    main()
