"""Read ``Pulumi.<stack>.yaml`` into the flat string config the Pulumi runtime expects."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from deployer.plan.values import SECRET
from deployer.stack_config import read_config, stack_file
from stacks.settings import NAMESPACE


@dataclass(frozen=True)
class StackConfig:
    """A stack's config as the runtime sees it: ``ns:key`` -> string; which keys are secret."""

    stack: str
    values: dict[str, str]
    secret_keys: tuple[str, ...]

    def namespace(self, ns: str = NAMESPACE) -> dict[str, str]:
        """The values of one namespace, keyed without the ``ns:`` prefix."""
        prefix = f"{ns}:"
        return {k[len(prefix) :]: v for k, v in self.values.items() if k.startswith(prefix)}


def load(root: Path, stack: str) -> StackConfig:
    """Parse the stack file; encrypted values become a placeholder marked secret."""
    config = read_config(stack_file(root, stack))
    values: dict[str, str] = {}
    secrets: list[str] = []
    for key, value in config.items():
        if ":" not in str(key):
            key = f"{NAMESPACE}:{key}"
        if isinstance(value, dict) and set(value) == {"secure"}:
            values[key] = SECRET
            secrets.append(key)
        else:
            values[key] = _as_text(value)
    return StackConfig(stack, values, tuple(secrets))


def _as_text(value: object) -> str:
    """Pulumi stores scalars as strings and structured values as JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value)
