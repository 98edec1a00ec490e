"""A small, bounded load generator: N requests at concurrency C against one URL, counting
failures and the versions the app reports. Strict: HTTP/1.1 keep-alive connections and no
retry of any kind, so a connection the server closes under a request is a failed request.

Used by the release tests and the benchmark to prove a deploy drops nothing. The domain can be
resolved to a given address (like ``curl --resolve``): the request goes to that address while
TLS SNI, certificate verification and the Host header use the domain. Only loopback addresses are
accepted, so this never loads anything but our own sandbox hosts.
"""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    import httpx

MAX_REQUESTS = 200_000
MAX_CONCURRENCY = 64


@dataclass
class LoadResult:
    """What a load run saw."""

    sent: int = 0
    ok: int = 0
    failed: int = 0  # transport errors + non-2xx (nothing is retried: a retry is a failure)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    versions: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    timed_out: bool = False

    def summary(self) -> str:
        rps = self.sent / self.seconds if self.seconds else 0.0
        return (
            f"{self.sent} requests in {self.seconds:.1f} s ({rps:.0f}/s): {self.ok} ok, "
            f"{self.failed} failed; versions {dict(self.versions)}; "
            f"statuses {dict(self.statuses)}; errors {dict(self.errors)}"
            + ("; TIMED OUT" if self.timed_out else "")
        )


def _check_loopback(address: str) -> None:
    if not ipaddress.ip_address(address).is_loopback:
        raise ValueError(f"load is only sent to loopback addresses, not {address}")


def _routed(url: str, resolve_to: str | None) -> tuple[str, dict[str, str], dict[str, str]]:
    """URL to request, extra headers and httpx extensions for an optional address override."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if resolve_to is None:
        _check_loopback(host)
        return url, {}, {}
    _check_loopback(resolve_to)
    netloc = resolve_to + (f":{parts.port}" if parts.port else "")
    routed = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
    host_header = host + (f":{parts.port}" if parts.port else "")
    return routed, {"Host": host_header}, {"sni_hostname": host}


def run_load(
    url: str,
    *,
    requests: int = 2000,
    concurrency: int = 10,
    resolve_to: str | None = None,
    cafile: str | None = None,
    max_seconds: float = 120.0,
    until: threading.Event | None = None,
    keepalive: bool = True,
) -> LoadResult:
    """Send at least ``requests`` GETs (and keep going until ``until`` is set, if given),
    ``concurrency`` at a time, stopping in any case after ``max_seconds``."""
    if not 1 <= requests <= MAX_REQUESTS or not 1 <= concurrency <= MAX_CONCURRENCY:
        raise ValueError("requests or concurrency out of bounds")
    routed, headers, extensions = _routed(url, resolve_to)
    plan = _Plan(routed, headers, extensions, requests, concurrency, cafile, max_seconds, until)
    return asyncio.run(_load(plan, keepalive))


@dataclass
class _Plan:
    url: str
    headers: dict[str, str]
    extensions: dict[str, str]
    requests: int
    concurrency: int
    cafile: str | None
    max_seconds: float
    until: threading.Event | None


async def _load(plan: _Plan, keepalive: bool) -> LoadResult:
    import httpx

    requests, concurrency, until = plan.requests, plan.concurrency, plan.until
    result = LoadResult()
    start = time.monotonic()
    limits = httpx.Limits(
        max_connections=concurrency, max_keepalive_connections=concurrency if keepalive else 0
    )
    verify: ssl.SSLContext | bool = (
        ssl.create_default_context(cafile=plan.cafile) if plan.cafile else True
    )

    def more() -> bool:
        if time.monotonic() - start > plan.max_seconds:
            result.timed_out = result.sent < requests or bool(until and not until.is_set())
            return False
        if result.sent >= MAX_REQUESTS:
            return False
        return result.sent < requests or bool(until and not until.is_set())

    async with httpx.AsyncClient(verify=verify, limits=limits, timeout=10.0) as client:

        async def worker() -> None:
            while more():
                result.sent += 1
                await _one(client, plan.url, plan.headers, plan.extensions, result)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.seconds = time.monotonic() - start
    return result


async def _one(
    client: httpx.AsyncClient,
    url: str,
    headers: dict[str, str],
    extensions: dict[str, str],
    result: LoadResult,
) -> None:
    import httpx

    try:  # one attempt: a strict client, like most SDKs, scripts and health checkers
        async with client.stream("GET", url, headers=headers, extensions=extensions) as resp:
            await resp.aread()
    except httpx.HTTPError as exc:  # e.g. a keep-alive connection closed under a request
        _failed(result, exc)
        return
    result.statuses[resp.status_code] += 1
    if not 200 <= resp.status_code < 300:
        result.failed += 1
        return
    result.ok += 1
    try:
        version = str(resp.json().get("version", ""))
    except ValueError:
        version = ""
    result.versions[version] += 1


class Background:
    """Run a load in a thread while something else happens (``with Background(...) as bg``);
    leaving the block stops it and ``bg.result`` holds what it saw."""

    def __init__(self, url: str, **kwargs: object) -> None:
        self._stop = threading.Event()
        self._kwargs = kwargs
        self._url = url
        self.result: LoadResult | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.result = run_load(self._url, until=self._stop, **self._kwargs)  # type: ignore[arg-type]
        except BaseException as exc:
            self._error = exc

    def __enter__(self) -> Background:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        if self._error is not None:
            raise self._error


def _failed(result: LoadResult, exc: Exception) -> None:
    result.failed += 1
    result.errors[f"{type(exc).__name__}: {exc}"[:120]] += 1
