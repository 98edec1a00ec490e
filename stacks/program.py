"""The Pulumi program: read ``deployer:cloud`` and build that cloud's stack from its module."""

from __future__ import annotations

import importlib
from typing import Any

from stacks.settings import KEYS, NAMESPACE, Settings, load

PROVIDER_KEYS = ("aws:region", "gcp:project")


def read_settings() -> Settings:
    """Validate the running stack's config (raises settings.ConfigError)."""
    import pulumi

    config = pulumi.Config(NAMESPACE)
    raw = {key: config.get(key) for key, (_, _, secret) in KEYS.items() if not secret}
    provider = {
        key: pulumi.Config(key.split(":")[0]).get(key.split(":")[1]) for key in PROVIDER_KEYS
    }
    return load(raw, provider)


def build(settings: Settings) -> dict[str, Any]:
    """Create the resources of ``settings.cloud``; return the output contract mapping."""
    module = importlib.import_module(f"stacks.{settings.cloud}")
    return module.build(settings)


def main() -> None:
    """Entry point used by ``pulumi up``/``preview`` (via stacks/__main__.py)."""
    import pulumi

    from stacks.settings import ConfigError

    try:
        settings = read_settings()
    except ConfigError as exc:
        raise pulumi.RunError(str(exc)) from None
    for key, value in build(settings).items():
        pulumi.export(key, value)
