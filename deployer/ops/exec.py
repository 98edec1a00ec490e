"""Run a command as the app user, in a release directory, with the app's environment.

One way for every such command (``deployer exec``, deploy hooks, backups): a transient systemd
unit (``systemd-run``) with the app's uid/gid, its ``.env`` and the release's ``release.env``
as environment files, the release as working directory and its venv first on PATH. Secrets stay
in the files systemd reads; nothing secret is on a command line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import PurePosixPath

from deployer.layout import Layout

SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"


def env_file(layout: Layout) -> str:
    """The app's settings and secrets (written by bootstrap and ``deployer env``)."""
    return f"{layout.root}/shared/.env"


def as_app_argv(
    layout: Layout, release: PurePosixPath, argv: Sequence[str], *, tty: bool = False
) -> list[str]:
    """systemd-run *argv* as the app user in the release directory *release* (a release's real
    path, or ``layout.current``); waits, passes the exit code through, and connects stdio
    (``--pipe``) or a terminal (``--pty``)."""
    if not argv:
        raise ValueError("no command given")
    if release != layout.current and release.parent != layout.releases:
        raise ValueError(f"not a release directory of {layout.app}: {release}")
    rel = str(release)
    app = layout.app
    return [
        "systemd-run", "--quiet", "--wait", "--collect", "--pty" if tty else "--pipe",
        "--uid", app, "--gid", app,
        "-p", f"EnvironmentFile={env_file(layout)}",
        "-p", f"EnvironmentFile={rel}/release.env",
        "-p", f"WorkingDirectory={rel}",
        "-E", f"PATH={rel}/venv/bin:{SYSTEM_PATH}",
        "-E", f"VIRTUAL_ENV={rel}/venv",
        # env looks the command up on the PATH above (systemd-run would use its own)
        "/usr/bin/env", "--", *(no_expansion(a) for a in argv),
    ]  # fmt: skip


def no_expansion(arg: str) -> str:
    """*arg* with ``$`` doubled: systemd expands ``$VAR`` in a service's command line itself
    (``systemd-run --expand-environment=no`` needs systemd 254); ``$$`` reaches the command as
    ``$``, so a shell in the command sees exactly what was typed."""
    return arg.replace("$", "$$")


def as_app_shell_argv(layout: Layout, release: PurePosixPath, command: str) -> list[str]:
    """A shell command line (a deploy hook from deployer.toml) run like ``as_app_argv``."""
    return as_app_argv(layout, release, ["/bin/sh", "-c", command])


def pick_host(hosts: Mapping[str, str], wanted: str | None) -> str:
    """The name of the host to run on, from the stage's *hosts* (name -> address, one entry
    for a one-host stage): *wanted* (a name, or the address of exactly one host), or the only
    host; a stage of several hosts without *wanted* is refused, listing them."""
    names = list(hosts)
    listed = ", ".join(names)
    if wanted is None:
        if len(names) != 1:
            raise ValueError(f"the stage has {len(names)} hosts ({listed}): pick one with --host")
        return names[0]
    if wanted in hosts:
        return wanted
    by_address = [n for n, address in hosts.items() if address == wanted]
    if len(by_address) == 1:
        return by_address[0]
    if by_address:
        raise ValueError(f"{wanted} is the address of {', '.join(by_address)}: name one")
    raise ValueError(f"host {wanted!r} is not one of the stage's hosts ({listed})")


def describe(argv: Sequence[str], limit: int = 200) -> str:
    """The command as the audit log keeps it (shell-quoted, cut at *limit* characters)."""
    import shlex

    text = shlex.join(argv)
    return text if len(text) <= limit else text[: limit - 3] + "..."
