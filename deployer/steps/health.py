"""The final check, from where the deployer runs: https://DOMAIN/<health> answers 200 through
nginx with a certificate that verifies (against the ACME root for test servers); the client is
`deployer.http`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from deployer.engine import Change, Done
from deployer.http import wait_for_health
from deployer.steps.base import Context, Step


@dataclass(frozen=True)
class VerifyHealth(Change):
    """GET the health URL from here (changes nothing)."""

    kind: ClassVar[str] = "verify"
    acts: ClassVar[bool] = False
    url: str

    @property
    def summary(self) -> str:
        return f"GET {self.url}"


class Health(Step):
    """GET https://DOMAIN/<health path> = 200 with a valid certificate (never a change)."""

    name = "health"

    def skipped(self, ctx: Context) -> str:
        return "skipped (dry run)" if ctx.dry_run else ""

    def check(self, ctx: Context) -> list[Change]:
        return [VerifyHealth(ctx.target.health_url)]

    def apply(self, ctx: Context, changes: list[Change]) -> Done:
        answer = wait_for_health(ctx.target)
        ctx.health = answer.body
        detail = f"{ctx.target.health_url} -> 200 {answer.body.strip()[:80]}"
        return Done(detail=detail)
