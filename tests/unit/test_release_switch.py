"""The traffic switch and the drain, run for real on unix sockets in a temporary directory."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from deployer.release.switch import drain_script, link_script


def serve(path: Path, name: bytes) -> socket.socket:
    """A unix socket server answering every connection with *name* (until closed)."""
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(str(path))
    srv.listen(64)

    def loop() -> None:
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            with conn:
                conn.sendall(name)

    threading.Thread(target=loop, daemon=True).start()
    return srv


def ask(path: Path) -> bytes:
    with socket.socket(socket.AF_UNIX) as c:
        c.settimeout(2)
        c.connect(str(path))
        return c.recv(16)


def sh(script: str) -> subprocess.CompletedProcess:
    return subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True)


def test_switching_the_link_loses_no_connection(tmp_path: Path) -> None:
    a, b = serve(tmp_path / "a.sock", b"a"), serve(tmp_path / "b.sock", b"b")
    link = tmp_path / "lib" / "serving.sock"
    assert sh(link_script(str(link), str(tmp_path / "a.sock"))).stdout == ""  # none before
    seen: list[bytes | str] = []
    stop = threading.Event()

    def client() -> None:
        while not stop.is_set():
            try:
                seen.append(ask(link))
            except OSError as exc:  # a connect that found no link or no socket
                seen.append(repr(exc))

    worker = threading.Thread(target=client)
    worker.start()
    for i in range(40):  # back and forth, under a client connecting all the time
        to = tmp_path / ("b.sock" if i % 2 == 0 else "a.sock")
        before = sh(link_script(str(link), str(to))).stdout.strip()
        assert before == str(tmp_path / ("a.sock" if i % 2 == 0 else "b.sock"))
        time.sleep(0.005)
    stop.set()
    worker.join()
    a.close(), b.close()
    assert set(seen) == {b"a", b"b"}, [x for x in seen if isinstance(x, str)][:3]
    assert sorted(p.name for p in link.parent.iterdir()) == ["serving.sock"]  # no temp left


@pytest.mark.skipif(subprocess.run(["sh", "-c", "command -v ss"]).returncode, reason="no ss")
def test_drain_waits_for_the_accept_queue_to_empty(tmp_path: Path) -> None:
    path = tmp_path / "old.sock"
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(str(path))
    srv.listen(8)
    waiting = socket.socket(socket.AF_UNIX)
    waiting.connect(str(path))  # queued: nobody accepted it yet
    drain = subprocess.Popen(["sh", "-c", drain_script([str(path)], timeout=10)])
    time.sleep(0.5)
    assert drain.poll() is None  # still waiting for the queued connection
    conn, _ = srv.accept()
    assert drain.wait(timeout=5) == 0
    for s in (conn, waiting, srv):
        s.close()


def test_drain_of_nothing_returns_at_once() -> None:
    assert drain_script([]) == "true"
    sh(drain_script([str(Path("/nonexistent/web.sock"))], timeout=1))  # gone: empty queue


def unix_http(sock: Path, answers: dict[str, list[int]]):
    """A threaded HTTP server on *sock*: each path answers its codes in turn (the last stays)."""
    import http.server
    import socketserver

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            queue = answers[self.path]
            code = queue.pop(0) if len(queue) > 1 else queue[0]
            self.send_response(code)
            self.end_headers()
            self.wfile.write(f"{self.path} {code}".encode())

        def address_string(self) -> str:
            return "unix"

        def log_message(self, *args: object) -> None:
            pass

    class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
        daemon_threads = True

    srv = Server(str(sock), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def with_systemctl(tmp_path: Path, state: str) -> dict[str, str]:
    """An environment whose systemctl says the unit is *state* (for the crash check)."""
    import os

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "systemctl").write_text(f"#!/bin/sh\necho ActiveState={state}\n")
    (bin_dir / "systemctl").chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}


def test_health_script_waits_for_each_path_on_the_release_socket(tmp_path: Path) -> None:
    from deployer.release.switch import local_health_script

    answers = {"/health": [200], "/ready": [503, 503, 200]}  # readiness comes late
    sock = tmp_path / "web.sock"
    srv = unix_http(sock, answers)
    script = local_health_script(str(sock), ("/health", "/ready"), "app@x.service", timeout=10)
    try:
        done = subprocess.run(["sh", "-c", script], env=with_systemctl(tmp_path, "active"),
                              capture_output=True, text=True)
    finally:
        srv.shutdown()
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "/health 200"  # the first path's answer
    assert answers["/ready"] == [200]  # asked until it said 200


@pytest.mark.parametrize(("code", "state", "runs"), [(200, "active", True),
                                                      (500, "failed", False)])
def test_a_gated_script_runs_only_once_the_release_answers(tmp_path: Path, code, state,
                                                           runs) -> None:
    from deployer.release.switch import gated_script

    sock, done = tmp_path / "web.sock", tmp_path / "switched"
    srv = unix_http(sock, {"/health": [code]})
    script = gated_script(str(sock), ("/health",), "app@x.service", f"touch {done}; echo moved")
    try:
        proc = subprocess.run(["sh", "-c", script], env=with_systemctl(tmp_path, state),
                              capture_output=True, text=True, timeout=20)
    finally:
        srv.shutdown()
    assert done.exists() is runs and (proc.returncode == 0) is runs, proc.stderr
    assert proc.stdout.split() == (["moved"] if runs else [])  # the health answer is not output
