"""Install one release on a host: upload the artifact, unpack it into releases/<id>/, build its
own venv (pip with a wheel cache kept on the host), write release.env, mark it installed.

A release directory is complete only once ``.installed`` exists; incomplete ones left by an
interrupted run are removed before the next install. Nothing here switches traffic.
"""

from __future__ import annotations

import shlex
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from deployer.release.layout import Layout

if TYPE_CHECKING:
    from deployer.artifact import Artifact
    from deployer.remote import Remote

PIP_CACHE = "/var/cache/deployer/pip"
PORTS = (8001, 8002)


def other_port(port: int | None) -> int:
    """The slot a new release gets: the one the serving release does not use."""
    return PORTS[1] if port == PORTS[0] else PORTS[0]


def release_env(port: int, workers: int) -> str:
    return f"PORT={int(port)}\nWEB_CONCURRENCY={int(workers)}\n"


def install_script(
    layout: Layout, release_id: str, sha256: str, requirements: str, env_text: str
) -> str:
    """Shell script (run as root, artifact tar on stdin) that installs one release."""
    q = shlex.quote
    rel = layout.release(release_id)
    req = PurePosixPath(rel) / requirements
    pip = f"{rel}/venv/bin/pip"
    return "\n".join(
        [
            "set -eu",
            # Remove leftovers of interrupted installs (never a complete or serving release).
            f'for d in {q(str(layout.releases))}/*/; do [ -d "$d" ] || continue; '
            f'[ -f "$d.installed" ] || rm -rf "$d"; done',
            f"mkdir -p {q(str(rel))}",
            f"tar -x --no-same-owner --no-same-permissions -f - -C {q(str(rel))}",
            f"python3 -m venv {q(str(rel) + '/venv')}",
            f"PIP_CACHE_DIR={PIP_CACHE} {q(pip)} install --disable-pip-version-check "
            f"--root-user-action=ignore --no-input -q -r {q(str(req))}",
            f"printf '%s' {q(env_text)} > {q(str(rel))}/release.env",
            f"printf '%s\\n' {q(sha256)} > {q(str(rel))}/.artifact-sha256",
            f"chmod -R go-w {q(str(rel))}",
            f"touch {q(str(rel))}/.installed",
        ]
    )


def install_release(
    remote: Remote,
    layout: Layout,
    artifact: Artifact,
    release_id: str,
    *,
    port: int,
    workers: int,
    requirements: str,
) -> None:
    """Upload *artifact* and install it as *release_id* (slot *port*)."""
    script = install_script(
        layout, release_id, artifact.sha256, requirements, release_env(port, workers)
    )
    remote.sh(script, stdin=artifact.path.read_bytes(), what=f"install release {release_id}")
