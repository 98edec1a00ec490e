"""Turn raw values seen by the mock engine into printable, policy-friendly plain data, and the
record of one resource (shared by the engine and the recorder)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SECRET = "(secret)"  # noqa: S105 (a display placeholder)
UNKNOWN = "(known after apply)"

_SIG = "4dabf18193072939515e22adb298388d"
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"  # noqa: S105 (Pulumi wire signature)


def clean(value: Any, reveal: bool = False) -> Any:
    """Mask secrets (unless ``reveal``), show unknowns, integral floats as ints, assets as paths."""
    from pulumi import Archive, Asset
    from pulumi.output import Unknown

    if isinstance(value, Unknown):
        return UNKNOWN
    if isinstance(value, dict):
        if value.get(_SIG) == _SECRET_SIG:
            return clean(value.get("value"), reveal) if reveal else SECRET
        return {k: clean(v, reveal) for k, v in value.items() if k != _SIG}
    if isinstance(value, list | tuple):
        return [clean(v, reveal) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Asset | Archive):
        return f"<{type(value).__name__} {getattr(value, 'path', '')}>".replace(" >", ">")
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


@dataclass
class Resource:
    """One resource the program registers: type token, logical name, cleaned inputs."""

    type: str
    name: str
    inputs: dict[str, Any]
    protect: bool = False
    ignore_changes: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()  # URNs it had before (moved into a component, renamed)
    taggable: str | None = None  # "tags" / "labels" when the resource type accepts them
    revealed: dict[str, Any] = field(default_factory=dict, repr=False)  # secrets unmasked
    urn: str = ""
    dependencies: frozenset[str] = frozenset()  # URNs: depends_on and every input's sources
    property_dependencies: dict[str, frozenset[str]] = field(default_factory=dict)  # by input
