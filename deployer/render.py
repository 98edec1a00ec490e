"""Render the files that land on a host from ``templates/`` (overridable by the user)."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

# templates/ at the top of a checkout (deployer/templates links to it), or inside the wheel.
BUILTIN = Path(__file__).resolve().parent / "templates"


@cache
def _environment(extra: str | None):  # -> jinja2.Environment
    import jinja2

    dirs = [d for d in (extra, str(BUILTIN)) if d]
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(dirs),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # noqa: S701 - config files, not HTML; every value is validated
    )


def render(name: str, **context: Any) -> str:
    """Render ``templates/<name>`` (a directory in $DEPLOYER_TEMPLATES takes precedence)."""
    return _environment(os.environ.get("DEPLOYER_TEMPLATES")).get_template(name).render(**context)
