"""Liveness (/health, no database), readiness (/ready, database reachable) and /metrics."""

import asyncio
import logging

from fastapi import APIRouter, Request, Response, status
from fastapi.concurrency import run_in_threadpool

from app import metrics
from app.db import ping
from app.deps import SettingsDep
from app.schemas import Health, Readiness

router = APIRouter(tags=["operations"])
log = logging.getLogger(__name__)


@router.api_route("/health", methods=["GET", "HEAD"], response_model=Health)
def health(settings: SettingsDep) -> Health:
    """The process is up. Never touches the database, so a DB outage does not restart us."""
    return Health(status="ok", version=settings.app_version)


@router.api_route(
    "/ready",
    methods=["GET", "HEAD"],
    response_model=Readiness,
    responses={status.HTTP_503_SERVICE_UNAVAILABLE: {"model": Readiness}},
)
async def ready(request: Request, response: Response, settings: SettingsDep) -> Readiness:
    """Ready to serve: the database answers `SELECT 1` within READY_TIMEOUT_SECONDS."""
    try:
        await asyncio.wait_for(
            run_in_threadpool(ping, request.app.state.engine), settings.ready_timeout_seconds
        )
    except Exception as error:  # any failure, including the timeout, means "not ready"
        log.warning("readiness check failed: %s", type(error).__name__)
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        return Readiness(status="unavailable", version=settings.app_version, database="down")
    return Readiness(status="ok", version=settings.app_version, database="ok")


@router.get("/metrics", include_in_schema=False)
def prometheus_metrics() -> Response:
    body, content_type = metrics.render()
    return Response(content=body, media_type=content_type)
