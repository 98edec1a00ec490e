"""Secrets: taken from the stack's secret config, or generated with pulumi_random."""

from __future__ import annotations

from typing import Any

from stacks.settings import NAMESPACE, Settings


def password(
    s: Settings, key: str, resource_name: str, length: int = 32, opts: Any = None
) -> Any:
    """``deployer:<key>`` if set with --secret, else a generated alphanumeric secret."""
    import pulumi

    given = pulumi.Config(NAMESPACE).get_secret(key)
    if given is not None:
        return given
    import pulumi_random as random

    generated = random.RandomPassword(resource_name, length=length, special=False, opts=opts)
    return generated.result
