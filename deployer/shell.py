"""Shell helpers for the scripts sent to hosts: quoting and the atomic file write.

Every value interpolated into a remote script goes through `q`/`qs`; whole scripts run as
``sh -c`` (`sh_c`) so that sudo covers all of them.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable


def q(value: str) -> str:
    """One shell word."""
    return shlex.quote(value)


def qs(values: Iterable[str]) -> str:
    """Several shell words, space-separated."""
    return " ".join(shlex.quote(v) for v in values)


def sh_c(script: str) -> list[str]:
    """argv running a compound shell script (so sudo covers all of it)."""
    return ["sh", "-c", script]


def write_file_script(path: str, mode: str, owner: str, group: str) -> str:
    """Shell script that atomically replaces *path* with stdin, owned and moded as given."""
    p = q(path)
    return (
        f'set -e; umask 077; d=$(dirname {p}); mkdir -p "$d"; '
        'tmp=$(mktemp "$d/.deployer.XXXXXX"); '
        f'cat > "$tmp"; chown {q(owner)}:{q(group)} "$tmp"; '
        f'chmod {q(mode)} "$tmp"; mv -f "$tmp" {p}'
    )
