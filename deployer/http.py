"""The HTTPS client for checks made from where the deployer runs (health, promotion, status).

Requests go to the target's domain, through ``target.address`` when it gives one (the sandbox),
with SNI and certificate verification for the real name (against ``target.acme_root`` for test
ACME servers). One GET, no retry: callers that wait poll with `wait_for_health`.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from deployer.target import Target


@dataclass(frozen=True)
class Answer:
    status: int
    body: str
    location: str = ""


class _Pinned(http.client.HTTPSConnection):
    """HTTPS to *address* while verifying and sending SNI for the real host name."""

    def __init__(self, host: str, address: str, context: ssl.SSLContext, timeout: float) -> None:
        super().__init__(host, 443, context=context, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def tls_context(target: Target) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(target.acme_root) if target.acme_root else None)


def get(target: Target, path: str, *, scheme: str = "https", timeout: float = 5) -> Answer:
    """GET *path* on the target's domain (through ``address`` when the target gives one)."""
    address = target.address or target.domain
    if scheme == "https":
        conn: http.client.HTTPConnection = _Pinned(
            target.domain, address, tls_context(target), timeout
        )
    else:
        conn = http.client.HTTPConnection(address, 80, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Host": target.domain, "User-Agent": "deployer"})
        resp = conn.getresponse()
        body = resp.read(4096).decode(errors="replace")
        return Answer(resp.status, body, resp.getheader("Location") or "")
    finally:
        conn.close()


def wait_for_health(target: Target, timeout: float = 30) -> Answer:
    """Poll the health URL until it answers 200; raise RuntimeError with the last error."""
    end = time.monotonic() + timeout
    last = ""
    while True:
        try:
            answer = get(target, target.app.health_path)
            if answer.status == 200:
                return answer
            last = f"HTTP {answer.status}: {answer.body[:200]}"
        except (OSError, ssl.SSLError, http.client.HTTPException) as exc:
            last = str(exc)
        if time.monotonic() > end:
            raise RuntimeError(f"{target.health_url} did not answer 200: {last}")
        time.sleep(0.3)
