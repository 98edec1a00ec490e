"""The final check, from where the deployer runs: https://DOMAIN/<health> answers 200 through
nginx with a certificate that verifies (against the ACME root for test servers); the client is
`deployer.http`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from deployer.engine import Change, Done
from deployer.http import wait_for_health
from deployer.steps.base import Context, Step

if TYPE_CHECKING:
    from deployer.target import Target


@dataclass(frozen=True)
class VerifyHealth(Change):
    """GET the health URL from here (changes nothing)."""

    kind: ClassVar[str] = "verify"
    acts: ClassVar[bool] = False
    url: str

    @property
    def summary(self) -> str:
        return f"GET {self.url}"


def behind_lb_script(target: Target, timeout: float = 30) -> str:
    """Python run on the host: GET http://127.0.0.1<health path> through its nginx with the
    site's Host header until 200 (prints the body), or exit 1 with the last answer. With TLS at
    a load balancer the host's HTTP is closed to this machine: this checks the host itself."""
    url = f"http://127.0.0.1{target.app.health_path}"  # both validated: plain characters
    return f"""
import sys, time, urllib.request as u
end, last = time.monotonic() + {timeout}, ""
while True:
    try:
        with u.urlopen(u.Request("{url}", headers={{"Host": "{target.domain}"}}), timeout=5) as r:
            sys.stdout.write(r.read(4096).decode(errors="replace"))
            sys.exit(0)
    except Exception as exc:
        last = str(exc)
    if time.monotonic() > end:
        sys.exit("{url} did not answer 200: " + last)
    time.sleep(0.3)
"""


class Health(Step):
    """GET https://DOMAIN/<health path> = 200 with a valid certificate (never a change); with
    TLS at a load balancer, GET the health path through the host's own nginx instead."""

    name = "health"

    def skipped(self, ctx: Context) -> str:
        return "skipped (dry run)" if ctx.dry_run else ""

    def check(self, ctx: Context) -> list[Change]:
        return [VerifyHealth(ctx.target.health_url)]

    def apply(self, ctx: Context, changes: list[Change]) -> Done:
        if ctx.target.tls == "lb":
            res = ctx.remote.run(["python3", "-c", behind_lb_script(ctx.target)], check=False)
            if res.code != 0:
                raise RuntimeError(res.stderr.strip()[-300:] or "health check failed")
            ctx.health = res.stdout
            return Done(detail=f"nginx on the host -> 200 {res.stdout.strip()[:80]}")
        answer = wait_for_health(ctx.target)
        ctx.health = answer.body
        detail = f"{ctx.target.health_url} -> 200 {answer.body.strip()[:80]}"
        return Done(detail=detail)
