"""The load generator against a tiny local HTTP server (loopback only)."""

import json
import socketserver
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from deployer.release.loadcheck import Background, run_load


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    count = 0
    lock = threading.Lock()

    def do_GET(self) -> None:
        with Handler.lock:
            Handler.count += 1
            n = Handler.count
        status = 500 if n % 10 == 0 else 200
        body = json.dumps({"status": "ok", "version": "1" if n <= 50 else "2"}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server():
    Handler.count = 0
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/health"
    srv.shutdown()
    srv.server_close()


def test_counts_failures_statuses_and_versions(server: str) -> None:
    result = run_load(server, requests=100, concurrency=4)
    assert result.sent == 100 and Handler.count == 100
    assert result.failed == 10 and result.statuses[500] == 10 and result.ok == 90
    assert sum(result.versions.values()) == 90 and set(result.versions) == {"1", "2"}


def test_transport_errors_are_failures() -> None:
    result = run_load("http://127.0.0.1:9/health", requests=5, concurrency=2)
    assert result.failed == 5 and result.ok == 0 and result.errors


def test_background_runs_until_stopped(server: str) -> None:
    with Background(server, requests=10, concurrency=2, max_seconds=30) as bg:
        while Handler.count < 120:
            threading.Event().wait(0.01)
    assert bg.result.sent >= 120 and not bg.result.timed_out


def test_refuses_non_loopback_targets() -> None:
    with pytest.raises(ValueError):
        run_load("https://example.com/health", requests=1)
    with pytest.raises(ValueError):
        run_load("https://app.deployer.test/health", resolve_to="10.0.0.1", requests=1)


def test_bounded_in_count() -> None:
    with pytest.raises(ValueError):
        run_load("http://127.0.0.1:9/", requests=10**9)


class ClosingServer(socketserver.ThreadingTCPServer):
    """Answers keep-alive requests, but closes a connection unanswered at chosen requests."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, drop: set[int], cut: set[int]) -> None:
        self.drop, self.cut = drop, cut
        self.count, self.connections, self.lock = 0, 0, threading.Lock()
        super().__init__(("127.0.0.1", 0), ClosingHandler)


class ClosingHandler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        body = b'{"version": "1"}'
        with self.server.lock:
            self.server.connections += 1
        while True:
            lines = []
            while (line := self.rfile.readline()) not in (b"\r\n", b""):
                lines.append(line)
            if not lines:
                return
            with self.server.lock:
                self.server.count += 1
                n = self.server.count
            if n in self.server.drop:
                return  # close without a response
            head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            if n in self.server.cut:
                self.wfile.write(head + body[:3])  # headers, then the connection dies
                return
            self.wfile.write(head + body)


def serve(drop: set[int], cut: set[int] = frozenset()) -> ClosingServer:
    srv = ClosingServer(drop, cut)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def load(drop: set[int], cut: set[int] = frozenset(), requests: int = 4):
    srv = serve(drop, cut)
    try:
        return run_load(f"http://127.0.0.1:{srv.server_address[1]}/", requests=requests,
                        concurrency=1)  # fmt: skip
    finally:
        srv.shutdown()


def test_a_keepalive_connection_closed_unanswered_is_a_failure_never_retried() -> None:
    result = load({2})  # what nginx's graceful reload does to an idle keep-alive connection
    assert result.sent == 4 and result.failed == 1 and result.ok == 3, result.summary()
    assert sum(result.errors.values()) == 1


def test_a_response_cut_after_its_headers_is_a_failure() -> None:
    result = load(set(), cut={2}, requests=3)
    assert result.failed == 1 and result.ok == 2, result.summary()


def test_the_client_keeps_connections_alive() -> None:
    srv = serve(set())
    try:
        run_load(f"http://127.0.0.1:{srv.server_address[1]}/", requests=5, concurrency=1)
    finally:
        srv.shutdown()
    assert srv.count == 5 and srv.connections == 1  # five requests on one connection
