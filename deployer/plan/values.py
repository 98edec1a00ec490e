"""Turn raw values seen by the mock engine into printable, policy-friendly plain data."""

from __future__ import annotations

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
