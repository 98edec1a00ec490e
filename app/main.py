"""The ASGI application: `app.main:app` (gunicorn/uvicorn), or `create_app(settings)` in tests."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from app.config import Settings, load_settings
from app.db import make_engine, make_sessionmaker
from app.logs import configure_logging
from app.middleware import RequestContextMiddleware
from app.routes import auth, health, items, users

log = logging.getLogger("app")


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app from `settings` (default: read from the environment and `.env`)."""
    settings = settings or load_settings()
    configure_logging(settings.log_level)
    engine = make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        log.info(
            "starting",
            extra={"version": settings.app_version, "environment": settings.environment},
        )
        if settings.secret_key is None:
            log.warning("SECRET_KEY is not set: tokens are signed with a random per-process key")
        yield
        engine.dispose()
        log.info("stopped")

    app = FastAPI(title="deployer sample app", version=settings.app_version, lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    for module in (health, auth, users, items):
        app.include_router(module.router)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            expose_headers=["X-Request-ID"],
        )
    app.add_middleware(RequestContextMiddleware)  # added last = outermost: sees every request
    return app


def __getattr__(name: str) -> FastAPI:
    """Build `app` on first access, so importing this module never needs a configuration."""
    if name == "app":
        application = create_app()
        globals()["app"] = application
        return application
    raise AttributeError(name)
