"""The app's ``.env`` on a host: ``KEY="value"`` lines in systemd EnvironmentFile syntax
(double-quoted, with backslash escapes that sh reads the same way), sorted, under one header."""

from __future__ import annotations

import re
from collections.abc import Mapping

HEADER = "# Managed by deployer: settings and secrets of {app} (never printed)."
LINE = re.compile(r'^([A-Z_][A-Z0-9_]*)="((?:[^"\\]|\\.)*)"$')
_UNESCAPE = re.compile(r"\\(.)")


class EnvFileError(ValueError):
    """A line that this format does not produce (the file was edited by hand?)."""


def escape(value: str) -> str:
    """Escape a value for a double-quoted systemd EnvironmentFile / dotenv assignment."""
    for char in ("\\", '"', "`", "$"):
        value = value.replace(char, "\\" + char)
    return value


def render(app: str, values: Mapping[str, str]) -> str:
    """The whole file: a header, then ``KEY="value"`` lines sorted by key."""
    lines = [HEADER.format(app=app), *(f'{k}="{escape(v)}"' for k, v in sorted(values.items()))]
    return "\n".join(lines) + "\n"


def parse(text: str) -> dict[str, str]:
    """The values of a file written by ``render`` (comments and blank lines skipped)."""
    out: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = LINE.fullmatch(line)
        if not m:
            raise EnvFileError(f'.env line {number} is not KEY="value"')
        out[m[1]] = _UNESCAPE.sub(r"\1", m[2])
    return out
