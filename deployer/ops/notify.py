"""Webhook notifications: one JSON POST per deploy, rollback, promotion or env change, with
its outcome; signed with HMAC-SHA256 when a secret is configured.

    [stages.prod.notify]
    url = "https://hooks.example.com/deployer"
    secret_from_env = "DEPLOYER_WEBHOOK_SECRET"   # the signing key, read from the local env

The receiver checks ``X-Deployer-Signature: sha256=<hex of HMAC-SHA256(secret, raw body)>``.
A notification that cannot be delivered is reported, never turned into a failed deploy.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from deployer.target import Notify, TargetError

SIGNATURE_HEADER = "X-Deployer-Signature"
EVENT_HEADER = "X-Deployer-Event"
TIMEOUT = 5


@dataclass(frozen=True)
class Webhook:
    url: str
    secret: str = field(default="", repr=False)


def webhook(notify: Notify | None, environ: Mapping[str, str] | None = None) -> Webhook | None:
    """The target's webhook with its signing secret from the local environment (refused when
    the secret is named but not set: events are never sent unsigned by mistake)."""
    if notify is None:
        return None
    if notify.secret_from_env is None:
        return Webhook(notify.url)
    environ = os.environ if environ is None else environ
    secret = environ.get(notify.secret_from_env, "")
    if not secret:
        raise TargetError(f"notify: the signing secret {notify.secret_from_env} is not set")
    return Webhook(notify.url, secret)


def event(
    action: str,
    outcome: str,
    *,
    stage: str,
    app: str,
    release: str = "",
    sha256: str = "",
    version: str = "",
    who: str = "",
    detail: str = "",
    time: str = "",
) -> dict[str, str]:
    """The JSON document sent: what happened (``outcome``: ok, noop, failed, refused), where."""
    return {
        "event": action, "outcome": outcome, "stage": stage, "app": app, "release": release,
        "sha256": sha256, "version": version, "who": who, "detail": detail, "time": time,
    }  # fmt: skip


def run_event(target, run, outcome, *, refused: bool, time: str) -> dict[str, str]:
    """The event of a finished release run (``lifecycle.Run`` and its ``Outcome``); ``refused``:
    it failed because the deploy lock was held (the caller knows the release layer's types)."""
    err = outcome.error
    if err is None:
        result, detail = ("noop" if run.noop else "ok"), outcome.stopped
    else:
        result, detail = ("refused" if refused else "failed"), f"{err.unit}: {err.message}"
    rel = run.release
    return event(
        run.audit_as or run.action,
        result,
        stage=target.stage,
        app=target.app.name,
        release=run.release_id,
        sha256=rel.sha256 if rel else "",
        version=rel.version if rel else "",
        who=run.who,
        detail=detail[:500],
        time=time,
    )


def body(doc: Mapping[str, str]) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def signature(secret: str, data: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()


def headers(hook: Webhook, data: bytes, action: str) -> dict[str, str]:
    out = {"Content-Type": "application/json", "User-Agent": "deployer", EVENT_HEADER: action}
    if hook.secret:
        out[SIGNATURE_HEADER] = signature(hook.secret, data)
    return out


def send(hook: Webhook, doc: Mapping[str, str]) -> str:
    """POST *doc*; returns '' on a 2xx answer, else what went wrong (for a warning)."""
    import urllib.error
    import urllib.request

    data = body(doc)
    req = urllib.request.Request(  # noqa: S310 - an http(s) URL (Notify checks it)
        hook.url, data=data, headers=headers(hook, data, doc["event"]), method="POST"
    )
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:  # noqa: S310 - same URL
            return "" if 200 <= resp.status < 300 else f"answered {resp.status}"
    except urllib.error.HTTPError as exc:
        return f"answered {exc.code}"
    except OSError as exc:
        return str(exc)
