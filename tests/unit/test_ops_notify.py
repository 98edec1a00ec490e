"""Webhooks: the event, its HMAC signature, and a real POST to a receiver on 127.0.0.1."""

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from deployer.ops import notify
from deployer.target import Notify, TargetError


class Receiver(ThreadingHTTPServer):
    def __init__(self, status: int = 204) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.status = status
        self.got: list[tuple[dict, bytes]] = []
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        data = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.got.append((dict(self.headers), data))
        self.send_response(self.server.status)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.shutdown()
    server.server_close()


def doc() -> dict:
    return notify.event("deploy", "ok", stage="prod", app="app", release="r1", sha256="s" * 64)


def test_signed_post_reaches_the_receiver(receiver) -> None:
    named = Notify(url=receiver.url, secret_from_env="HOOK_KEY")
    hook = notify.webhook(named, {"HOOK_KEY": "s3cr3t-key"})
    assert notify.send(hook, doc()) == ""
    (headers, data), = receiver.got
    assert json.loads(data) == doc()
    expected = "sha256=" + hmac.new(b"s3cr3t-key", data, hashlib.sha256).hexdigest()
    assert headers[notify.SIGNATURE_HEADER] == expected
    assert headers[notify.EVENT_HEADER] == "deploy"
    assert "s3cr3t" not in repr(hook)


def test_unsigned_without_a_secret(receiver) -> None:
    assert notify.send(notify.webhook(Notify(url=receiver.url)), doc()) == ""
    assert notify.SIGNATURE_HEADER not in receiver.got[0][0]


def test_a_named_secret_that_is_not_set_is_refused() -> None:
    with pytest.raises(TargetError, match="HOOK_KEY is not set"):
        notify.webhook(Notify(url="https://h.example/x", secret_from_env="HOOK_KEY"), {})


def test_failures_are_reported_not_raised() -> None:
    server = Receiver(status=500)
    try:
        assert notify.send(notify.webhook(Notify(url=server.url)), doc()) == "answered 500"
    finally:
        server.shutdown()
        server.server_close()
    closed = notify.Webhook(server.url)
    assert notify.send(closed, doc())  # connection refused: a message, no exception


@pytest.mark.parametrize("url", ["ftp://h/x", "https://h/x'; id", "not a url"])
def test_notify_urls_are_checked(url) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        Notify(url=url)


@pytest.mark.parametrize(
    ("noop", "error", "outcome", "detail"),
    [
        (False, None, "ok", ""),
        (True, None, "noop", ""),
        (False, ("health", "not healthy", None), "failed", "health: not healthy"),
        (False, ("lock", "held", "lock"), "refused", "lock: held"),
    ],
)
def test_run_event(noop, error, outcome, detail) -> None:
    from types import SimpleNamespace

    from deployer.engine import Outcome, UnitError
    from deployer.release.ledger import Release
    from deployer.release.lock import LockHeld, LockInfo
    from deployer.target import build_target

    rid = "20261127T140000-" + "a" * 16
    rel = Release(id=rid, sha256="a" * 64, version="2.0")
    run = SimpleNamespace(noop=noop, release=rel, release_id=rid, audit_as="", action="deploy",
                          who="me")  # fmt: skip
    err = None
    if error:
        err = UnitError(error[1], unit=error[0])
        if error[2]:
            err.__cause__ = LockHeld(LockInfo(who="other", what="deploy"))
    t = build_target({"host": "h.example", "domain": "h.example", "stage": "prod"})
    refused = err is not None and isinstance(err.__cause__, LockHeld)
    event = notify.run_event(t, run, Outcome(error=err), refused=refused, time="now")
    assert (event["event"], event["outcome"], event["release"]) == ("deploy", outcome, rid)
    assert event["detail"] == detail and event["version"] == "2.0" and event["stage"] == "prod"
