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


def venv_script(rel: PurePosixPath, requirements: str, clone_from: PurePosixPath | None) -> str:
    """Build rel/venv: a fresh venv + pip install (wheel cache on the host), or, when the release
    in *clone_from* has a venv built from byte-identical requirements, a copy of that venv with
    its own paths rewritten (seconds saved per deploy; each release still runs from its own path).
    """
    q = shlex.quote
    venv, req = rel / "venv", rel / requirements
    build = (
        f"python3 -m venv {q(str(venv))} && PIP_CACHE_DIR={PIP_CACHE} {q(str(venv / 'bin/pip'))} "
        "install --disable-pip-version-check --root-user-action=ignore --no-input -q "
        f"-r {q(str(req))}"
    )
    if clone_from is None:
        return build
    old = clone_from / "venv"
    # Release paths come from validated ids: no sed metacharacters in them.
    clone = (
        f"cp -a {q(str(old))} {q(str(venv))} && grep -rlF {q(str(old))} {q(str(venv / 'bin'))} "
        f"{q(str(venv / 'pyvenv.cfg'))} | xargs -r sed -i 's#{old}#{venv}#g'"
    )
    same = (
        f"[ -x {q(str(old / 'bin/python'))} ] && "
        f"cmp -s {q(str(clone_from / requirements))} {q(str(req))}"
    )
    return f"if {same}; then {clone}; else {build}; fi"


def install_script(
    layout: Layout,
    release_id: str,
    sha256: str,
    requirements: str,
    env_text: str,
    clone_from: str | None = None,
) -> str:
    """Shell script (run as root, artifact tar on stdin) that installs one release."""
    q = shlex.quote
    rel = PurePosixPath(layout.release(release_id))
    old = PurePosixPath(layout.release(clone_from)) if clone_from else None
    return "\n".join(
        [
            "set -eu",
            # Remove leftovers of interrupted installs (never a complete or serving release).
            f'for d in {q(str(layout.releases))}/*/; do [ -d "$d" ] || continue; '
            f'[ -f "$d.installed" ] || rm -rf "$d"; done',
            f"mkdir -p {q(str(rel))}",
            f"tar -x --no-same-owner --no-same-permissions -f - -C {q(str(rel))}",
            venv_script(rel, requirements, old),
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
    clone_from: str | None = None,
) -> None:
    """Upload *artifact* and install it as *release_id* (slot *port*); *clone_from* names an
    installed release whose venv may be copied when the requirements are identical."""
    script = install_script(
        layout, release_id, artifact.sha256, requirements, release_env(port, workers), clone_from
    )
    remote.sh(script, stdin=artifact.path.read_bytes(), what=f"install release {release_id}")
