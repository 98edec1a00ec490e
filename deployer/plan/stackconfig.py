"""Read ``Pulumi.<stack>.yaml`` into the flat string config the Pulumi runtime expects."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from deployer.plan.values import SECRET
from stacks.settings import NAMESPACE


class StackFileError(ValueError):
    """The stack file is missing or not a Pulumi stack config."""


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


_STACK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def stack_file(root: Path, stack: str) -> Path:
    """Where the stack's config lives (the name is checked: no paths)."""
    if not _STACK.match(stack):
        raise StackFileError(f"invalid stack name {stack!r} (letters, digits, . _ -)")
    return root / f"Pulumi.{stack}.yaml"


def stack_names(root: Path) -> list[str]:
    """Every stack with a ``Pulumi.<stack>.yaml`` in ``root``, sorted."""
    return sorted(
        p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in root.glob("Pulumi.*.yaml")
    )


def load(root: Path, stack: str) -> StackConfig:
    """Parse the stack file; encrypted values become a placeholder marked secret."""
    import yaml

    path = stack_file(root, stack)
    if not path.is_file():
        raise StackFileError(f"no stack config {path.name} in {root} (pulumi stack init {stack})")
    document = yaml.safe_load(path.read_text()) or {}
    config = document.get("config") or {}
    if not isinstance(config, dict):
        raise StackFileError(f"{path.name}: `config:` must be a mapping")
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
