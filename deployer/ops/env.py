"""``deployer env``: the app's environment on the host (``shared/.env``), read and changed.

The file is the one bootstrap writes (``KEY="value"`` lines, systemd EnvironmentFile syntax,
0600, the app user's). Values come from stdin or the local environment, never from argv;
listing masks every value that the stage does not declare as a plain setting (``app.env``).
A change is applied by the release lifecycle (a new release of the same artifact, started with
the new file and health-checked before it gets traffic); the old file is put back on failure.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from deployer.target import ENV_NAME, check_env_value

RESERVED = frozenset({"PORT", "WEB_CONCURRENCY"})  # set per release by deployer itself
MASK = "********"


class EnvError(ValueError):
    """An invalid key or value."""


def check_key(key: str) -> str:
    if "=" in key:
        raise EnvError(f"{key.split('=')[0]}: give the value on stdin or in the environment, "
                       "never on the command line")  # fmt: skip
    if not ENV_NAME.fullmatch(key):
        raise EnvError(f"invalid environment variable name {key!r}")
    if key in RESERVED:
        raise EnvError(f"{key} is set by deployer itself")
    return key


def values_for(
    keys: Iterable[str], environ: Mapping[str, str], stdin: str | None
) -> dict[str, str]:
    """The new values: from *stdin* (one key only; a trailing newline is dropped), otherwise
    each from the local environment variable of the same name."""
    keys = [check_key(k) for k in keys]
    if not keys:
        raise EnvError("name at least one KEY")
    if stdin is not None:
        if len(keys) != 1:
            raise EnvError("--stdin gives one value: name exactly one KEY")
        values = {keys[0]: stdin.removesuffix("\n").removesuffix("\r")}
    else:
        missing = [k for k in keys if k not in environ]
        if missing:
            raise EnvError(f"not set in the local environment: {', '.join(missing)} "
                           "(or pass one KEY with --stdin)")  # fmt: skip
        values = {k: environ[k] for k in keys}
    for key, value in values.items():
        try:
            check_env_value(value)
        except ValueError as exc:
            raise EnvError(f"{key}: {exc}") from None
    return values


@dataclass(frozen=True)
class EnvChange:
    """What ``env set`` / ``env unset`` does to the file."""

    before: dict[str, str]
    after: dict[str, str]

    @property
    def changed(self) -> list[str]:
        keys = set(self.before) | set(self.after)
        return sorted(k for k in keys if self.before.get(k) != self.after.get(k))

    def summary(self) -> str:
        """Names only, never values: ``set A, B; unset C``."""
        added = [k for k in self.changed if k in self.after]
        removed = [k for k in self.changed if k not in self.after]
        parts = [f"set {', '.join(added)}"] if added else []
        parts += [f"unset {', '.join(removed)}"] if removed else []
        return "; ".join(parts) or "no change"


def set_values(before: Mapping[str, str], values: Mapping[str, str]) -> EnvChange:
    return EnvChange(dict(before), {**before, **values})


def unset_keys(before: Mapping[str, str], keys: Iterable[str]) -> EnvChange:
    keys = [check_key(k) for k in keys]
    unknown = [k for k in keys if k not in before]
    if unknown:
        raise EnvError(f"not set on the host: {', '.join(unknown)}")
    return EnvChange(dict(before), {k: v for k, v in before.items() if k not in keys})


def listing(values: Mapping[str, str], plain: Iterable[str]) -> list[tuple[str, str]]:
    """``(key, shown value)`` sorted; only keys declared plain (``app.env``) show their value."""
    shown = set(plain)
    return [(k, v if k in shown else MASK) for k, v in sorted(values.items())]


def swap_script(path: str, app: str) -> str:
    """Keep the current file as ``.env.previous`` and put stdin in its place (0600, app user),
    atomically; ``restore_script`` undoes it."""
    from deployer.shell import write_file_script

    q = shlex.quote
    write = write_file_script(path, "0600", app, app)
    return f"cp -p -- {q(path)} {q(path + '.previous')} && ( {write} )"


def restore_script(path: str) -> str:
    q = shlex.quote
    return f"mv -f -- {q(path + '.previous')} {q(path)}"


def fingerprint(values: Mapping[str, str]) -> dict[str, str]:
    """key -> sha256 of its value: what hosts compare (``env list`` of a fleet), never shown."""
    import hashlib

    return {k: hashlib.sha256(v.encode()).hexdigest() for k, v in values.items()}


def back_to(before: str) -> Callable[[str], tuple[str, str] | None]:
    """A release lifecycle's ``env_for`` that puts the file's text *before* back (a fleet's
    revert of an environment change on a host that switched to it); None when it is there."""

    def compute(current: str) -> tuple[str, str] | None:
        return None if current == before else (before, "env: fleet revert")

    return compute
