"""Pure-ASGI middleware: request ID, timing, access log and metrics for every HTTP request."""

import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import metrics
from app.logs import request_id_var

REQUEST_ID_HEADER = "x-request-id"
# An incoming ID is echoed only when it is short and harmless in logs and headers.
SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

log = logging.getLogger("app.access")


def pick_request_id(scope: Scope) -> str:
    """The client's X-Request-ID when it is safe, else a fresh random one."""
    for name, value in scope.get("headers", []):
        if name == REQUEST_ID_HEADER.encode():
            candidate = value.decode("latin-1")
            if SAFE_REQUEST_ID.fullmatch(candidate):
                return candidate
            break
    return uuid.uuid4().hex


def route_template(scope: Scope) -> str:
    """The matched route's path template (bounded label values), not the raw path."""
    route = scope.get("route")
    return getattr(route, "path", None) or metrics.UNMATCHED_ROUTE


class RequestContextMiddleware:
    """Tag each request with an ID, time it, log one access line and count it in metrics."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = pick_request_id(scope)
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                elapsed_ms = (time.perf_counter() - started) * 1000
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                headers.append((b"x-process-time-ms", f"{elapsed_ms:.2f}".encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            self._finish(scope, status, time.perf_counter() - started)
            request_id_var.reset(token)

    @staticmethod
    def _finish(scope: Scope, status: int, seconds: float) -> None:
        route = route_template(scope)
        metrics.observe(scope["method"], route, status, seconds)
        client = scope.get("client")
        log.info(
            "%s %s %s",
            scope["method"],
            route,
            status,
            extra={
                "method": scope["method"],
                "path": scope["path"],
                "route": route,
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
                "client": client[0] if client else None,
            },
        )
