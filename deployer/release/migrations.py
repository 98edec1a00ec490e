"""Alembic migrations of a release, skipped when the database has already run these scripts.

After a successful ``alembic upgrade head`` the host records a hash of the scripts it ran (the
ini file and every file under its ``script_location``) in ``state/migrations.sha256``. A later
release whose scripts hash the same skips the upgrade (an environment change always does, a
code-only deploy usually). ``deployer restore`` removes the record: a database loaded from a
backup is migrated again by the next deploy. A ``script_location`` that is not a directory
path (``package:dir``) is never skipped.
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from deployer.layout import Layout
    from deployer.remote import Remote
    from deployer.target import Target

# Run on the host by python3 in the release directory: prints the scripts' hash ('' if unknown).
HASH_CODE = """\
import configparser, hashlib, os, sys
ini = sys.argv[1]
here = os.path.dirname(os.path.abspath(ini))
cfg = configparser.ConfigParser(defaults={"here": here})
cfg.read(ini)
loc = cfg.get("alembic", "script_location", fallback="")
if not loc or (":" in loc and not os.path.isdir(loc)):
    sys.exit(0)
h = hashlib.sha256(open(ini, "rb").read())
for root, dirs, files in sorted(os.walk(loc)):
    dirs[:] = sorted(d for d in dirs if d != "__pycache__")
    for name in sorted(f for f in files if not f.endswith(".pyc")):
        path = os.path.join(root, name)
        h.update(os.path.relpath(path, loc).encode() + b"\\0")
        h.update(open(path, "rb").read() + b"\\0")
print(h.hexdigest())
"""


def record_path(layout: Layout) -> str:
    return f"{layout.state}/migrations.sha256"


def migrate_argv(target: Target, release_dir: str) -> list[str]:
    """alembic upgrade head as the app user with the app's environment (secrets stay in files)."""
    app = target.app.name
    return [
        "systemd-run", "--quiet", "--wait", "--pipe", "--collect",
        "--uid", app, "--gid", app,
        "-p", f"EnvironmentFile={target.layout.env_file}",
        "-p", f"WorkingDirectory={release_dir}",
        f"{release_dir}/venv/bin/alembic", "-c", str(target.app.migrations), "upgrade", "head",
    ]  # fmt: skip


def migrate_script(
    target: Target, release_dir: str, *, force: bool = False, record: str = ""
) -> str:
    """Root script: upgrade the database unless the recorded hash (*record*, by default
    ``record_path``) equals this release's scripts' (prints ``skipped`` then), record the new
    hash, mark the release migrated."""
    q = shlex.quote
    rec = q(record or record_path(target.layout))
    ini = q(str(target.app.migrations))
    upgrade = shlex.join(migrate_argv(target, release_dir))
    same = "false" if force else f'[ -n "$h" ] && [ "$h" = "$(cat {rec} 2>/dev/null)" ]'
    return (
        f"set -e; cd {q(release_dir)}; h=$(python3 -c {q(HASH_CODE)} {ini} 2>/dev/null || true); "
        f"if {same}; then echo skipped; else {upgrade}; "
        f'if [ -n "$h" ]; then echo "$h" > {rec}.new && mv -f {rec}.new {rec}; '
        f"else rm -f {rec}; fi; fi; touch {q(release_dir)}/.migrated"
    )


def migrate(remote: Remote, target: Target, release_id: str, *, force: bool = False) -> bool:
    """Run a release's migrations unless the database has run the same scripts; True if they
    ran."""
    rel = str(target.layout.release(release_id))
    out = remote.sh(migrate_script(target, rel, force=force), what="migrations").stdout
    return out.strip().splitlines()[-1:] != ["skipped"]


def forget_script(layout: Layout) -> str:
    """Forget what the database was migrated with (after a restore: the next deploy migrates)."""
    return f"rm -f -- {shlex.quote(record_path(layout))}"
