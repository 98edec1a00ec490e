"""Install one release on a host: upload the artifact, unpack it into releases/<id>/, build its
own venv (uv, with its cache kept on the host), write release.env, mark it installed.

A release directory is complete only once ``.installed`` exists; incomplete ones left by an
interrupted run are removed before the next install. Nothing here switches traffic.
"""

from __future__ import annotations

import shlex
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from deployer.layout import Layout
from deployer.release.uv import UV, ensure_uv

if TYPE_CHECKING:
    from deployer.artifact import Artifact
    from deployer.project import Dependencies
    from deployer.remote import Remote

UV_CACHE = "/var/cache/deployer/uv"


def release_env(workers: int) -> str:
    """A release's own settings (the app's are in shared/.env): its worker count."""
    return f"WEB_CONCURRENCY={int(workers)}\n"


def uv_env() -> str:
    """Shell lines giving uv its settings: the host's cache, the system Python (never a
    downloaded one), the host's trust store, and the package proxy pip is configured with
    (``/etc/pip.conf``, the one place hosts keep it), if any."""
    return "\n".join(
        [
            f"export UV_CACHE_DIR={UV_CACHE} UV_PYTHON_DOWNLOADS=never UV_NATIVE_TLS=1",
            "export UV_NO_PROGRESS=1 UV_COMPILE_BYTECODE=1",
            "proxy=$(sed -n 's/^proxy *= *//p' /etc/pip.conf 2>/dev/null | head -n 1)",
            '[ -z "$proxy" ] || export HTTPS_PROXY="$proxy" HTTP_PROXY="$proxy"',
        ]
    )


def venv_script(rel: PurePosixPath, deps: Dependencies) -> str:
    """Build rel/venv with uv from the dependencies the project declares: a requirements file,
    its pyproject.toml (the project installed non-editable), or exactly its uv.lock. The
    host's uv cache keeps a rebuild of the same set free of downloads."""
    q = shlex.quote
    venv, python = rel / "venv", rel / "venv/bin/python"
    create = f'{UV} venv -q --python "$(command -v python3)" {q(str(venv))}'
    if deps.kind == "locked":
        return (
            f"{create} && cd {q(str(rel))} && UV_PROJECT_ENVIRONMENT={q(str(venv))} "
            f"{UV} sync -q --locked --no-dev --no-editable && cd /"
        )
    if deps.kind == "pyproject":
        return f"{create} && {UV} pip install -q --python {q(str(python))} {q(str(rel))}"
    req = rel / deps.files[0]
    return f"{create} && {UV} pip install -q --python {q(str(python))} -r {q(str(req))}"


def reuse_script(rel: PurePosixPath, deps: Dependencies, old: PurePosixPath | None) -> str:
    """Build rel/venv (``venv_script``), or, when the installed release *old* has the same
    requirements file byte for byte, clone its venv instead: hard links (the venvs are
    read-only) plus its scripts' paths rewritten, in well under a second instead of a uv run
    with bytecode compilation. Only for a requirements file: a pyproject or lock installs the
    project itself into the venv, so it is always built. Prints which it did."""
    # `|| exit`: set -e does not stop a script at a failure inside an && list
    build = f"{{ {venv_script(rel, deps)}; }} || exit $?; echo 'venv: built'"
    if old is None or deps.kind != "requirements":
        return build
    q = shlex.quote
    ov, nv = str(old / "venv"), str(rel / "venv")
    same = (
        f"[ -f {q(str(old / '.installed'))} ] && [ -x {q(ov)}/bin/python ] && "
        f"cmp -s {q(str(old / deps.files[0]))} {q(str(rel / deps.files[0]))}"
    )
    clone = (
        f"cp -al {q(ov)} {q(nv)} && grep -rlIZ -F -- {q(ov)} {q(nv)}/bin "
        f"| xargs -0 -r sed -i \"s|{ov}|{nv}|g\" || exit $?; echo 'venv: cloned from {old.name}'"
    )
    return f"if {same}; then {clone}; else {build}; fi"


def compile_script(rel: PurePosixPath) -> str:
    """Compile the release's own code to bytecode with its venv's Python: the release is
    read-only to the app, so otherwise every worker of every start compiles it again (the venv
    is compiled by uv, and not walked again: one process, no pool, ~0.1 s for a small app). A
    file that does not compile (a template, a Python 2 script) fails nothing: Python compiles
    what it imports, as before."""
    q, python = shlex.quote, str(rel / "venv/bin/python")
    return (f"find {q(str(rel))} -mindepth 1 -maxdepth 1 ! -name venv "
            f"-exec {q(python)} -m compileall -qq {{}} + || true")


def install_lock(layout: Layout) -> str:
    """Shell line serialising the installs of one app on a host: an install whose SSH session
    was cut may still be running (its uv outlives the shell), and a new install must not remove
    or share its half-built directory until it has finished (the lock is inherited by uv)."""
    return f"exec 9>>{shlex.quote(str(layout.state))}/install.lock; flock 9"


def install_script(
    layout: Layout,
    release_id: str,
    sha256: str,
    deps: Dependencies,
    env_text: str,
    reuse_from: str = "",
) -> str:
    """Shell script (run as root, artifact tar on stdin) that installs one release (its venv
    cloned from *reuse_from*'s when their requirements are the same: ``reuse_script``)."""
    q = shlex.quote
    rel = PurePosixPath(layout.release(release_id))
    return "\n".join(
        [
            "set -eu",
            install_lock(layout),
            # Remove leftovers of interrupted installs (never a complete or serving release).
            f'for d in {q(str(layout.releases))}/*/; do [ -d "$d" ] || continue; '
            f'[ -f "$d.installed" ] || rm -rf "$d"; done',
            f"mkdir -p {q(str(rel))}",
            f"tar -x --no-same-owner --no-same-permissions -f - -C {q(str(rel))}",
            uv_env(),
            reuse_script(rel, deps, layout.release(reuse_from) if reuse_from else None),
            compile_script(rel),
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
    workers: int,
    deps: Dependencies,
    reuse_from: str = "",
) -> str:
    """Install *artifact* (sent on stdin) as *release_id*, uv first if the host lacks it;
    returns how its venv was made."""
    ensure_uv(remote)
    script = install_script(
        layout, release_id, artifact.sha256, deps, release_env(workers), reuse_from
    )
    out = remote.sh(script, stdin=artifact.path.read_bytes(), what=f"install release {release_id}")
    return venv_note(out.stdout)


def venv_note(stdout: str) -> str:
    """The 'venv: ...' line an install script printed ('' if none)."""
    return next((line for line in stdout.splitlines() if line.startswith("venv: ")), "")


def copy_script(
    layout: Layout, from_id: str, release_id: str, deps: Dependencies, env_text: str
) -> str:
    """Shell script (run as root) that makes *release_id* a copy of the installed release
    *from_id* (the same artifact, e.g. restarted with a new environment): its files, its own
    venv (cloned from *from_id*'s, or built with uv for a pyproject), a fresh release.env.
    Markers are not copied."""
    q = shlex.quote
    old, rel = PurePosixPath(layout.release(from_id)), PurePosixPath(layout.release(release_id))
    skip = " ".join(f"! -name {q(n)}" for n in ("venv", ".installed", ".migrated", "release.env"))
    return "\n".join(
        [
            "set -eu",
            install_lock(layout),
            f"mkdir -p {q(str(rel))}",
            f"find {q(str(old))} -mindepth 1 -maxdepth 1 {skip} "
            f"-exec cp -a -t {q(str(rel))} {{}} +",
            uv_env(),
            reuse_script(rel, deps, old),
            f"printf '%s' {q(env_text)} > {q(str(rel))}/release.env",
            f"chmod -R go-w {q(str(rel))}",
            f"touch {q(str(rel))}/.installed",
        ]
    )


def copy_release(
    remote: Remote,
    layout: Layout,
    from_id: str,
    release_id: str,
    *,
    workers: int,
    deps: Dependencies,
) -> None:
    """Install *release_id* as a copy of the installed release *from_id*; returns how its
    venv was made."""
    ensure_uv(remote)
    script = copy_script(layout, from_id, release_id, deps, release_env(workers))
    return venv_note(remote.sh(script, what=f"copy release {from_id} to {release_id}").stdout)
