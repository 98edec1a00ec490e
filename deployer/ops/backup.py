"""``deployer backup`` / ``deployer restore``: the app's database, dumped and loaded on the host.

The database is the app's own ``DATABASE_URL`` (from its ``.env``): SQLite through Python's online
backup API (consistent while the app writes), PostgreSQL through ``pg_dump -Fc`` /
``pg_restore``. The dump runs as the app user in the current release with the app's environment
(``ops.exec``); the URL is parsed there into ``PG*`` variables, so neither URL nor password is
ever on a command line. Backups are files in ``/srv/<app>/backups`` (0700 directory, 0600
files, root's), the newest ``keep`` kept; a systemd timer can run the same script on a schedule.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import PurePosixPath

from deployer.layout import Layout
from deployer.ops.exec import as_app_argv, env_file

KINDS = {"sqlite": "sqlite3", "postgresql": "pgdump"}  # DATABASE_URL scheme -> file extension
STAMP = re.compile(r"^[0-9]{8}T[0-9]{6}Z$")
NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}-[0-9]{8}T[0-9]{6}Z\.(sqlite3|pgdump)$")
SCHEDULES = ("hourly", "daily", "weekly")
DEFAULT_KEEP = 7

# Runs on the host as the app user (``python3`` is the release venv's), with the app's
# environment: ``backup`` writes the dump to stdout, ``restore`` reads one from stdin.
AGENT = r"""
import os, shutil, sqlite3, subprocess, sys, tempfile
from urllib.parse import parse_qs, unquote, urlsplit
mode, url = sys.argv[1], os.environ["DATABASE_URL"]
scheme = url.split(":", 1)[0].split("+", 1)[0]
if scheme == "sqlite":
    path = url.split(":///", 1)[1].split("?", 1)[0]
    with tempfile.TemporaryDirectory() as tmp:
        copy = os.path.join(tmp, "copy.db")
        if mode == "backup":
            src, dst = sqlite3.connect(path), sqlite3.connect(copy)
            src.backup(dst); dst.close(); src.close()
            with open(copy, "rb") as fh: shutil.copyfileobj(fh, sys.stdout.buffer)
        else:
            with open(copy, "wb") as fh: shutil.copyfileobj(sys.stdin.buffer, fh)
            src = sqlite3.connect(copy)
            if src.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                sys.exit("restore: the file is not a sound SQLite database")
            dst = sqlite3.connect(path, timeout=30)
            src.backup(dst); dst.close(); src.close()
elif scheme in ("postgresql", "postgres"):
    u = urlsplit(url)
    env = dict(os.environ, PGHOST=u.hostname or "", PGPORT=str(u.port or 5432),
               PGUSER=unquote(u.username or ""), PGPASSWORD=unquote(u.password or ""),
               PGDATABASE=unquote(u.path.lstrip("/")), PGCONNECT_TIMEOUT="10")
    for key, values in parse_qs(u.query).items():
        if key == "sslmode": env["PGSSLMODE"] = values[-1]
    env.pop("DATABASE_URL")
    if mode == "backup":
        argv = ["pg_dump", "-Fc", "--no-owner", "--no-privileges"]
    else:
        argv = ["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges",
                "--single-transaction", "--exit-on-error", "-d", env["PGDATABASE"]]
    sys.exit(subprocess.run(argv, env=env).returncode)
else:
    sys.exit(f"no backup for {scheme} databases")
"""


@dataclass(frozen=True)
class BackupPlan:
    """Where one app's backups live and how many are kept."""

    layout: Layout
    keep: int = DEFAULT_KEEP

    def __post_init__(self) -> None:
        if self.keep < 1:
            raise ValueError("keep must be at least 1")

    @property
    def directory(self) -> PurePosixPath:
        return self.layout.root / "backups"

    def agent_argv(self, mode: str) -> list[str]:
        if mode not in ("backup", "restore"):
            raise ValueError(f"unknown mode {mode!r}")
        return as_app_argv(self.layout, self.layout.current, ["python3", "-c", AGENT, mode])


def check_stamp(stamp: str) -> str:
    if not STAMP.fullmatch(stamp):
        raise ValueError(f"invalid backup time stamp {stamp!r}")
    return stamp


def kind_script(layout: Layout) -> str:
    """Shell: sets $kind to the backup kind of the app's DATABASE_URL (the value stays in the
    file: only its scheme is read) and $ext to the file extension; fails for other databases."""
    q = shlex.quote
    cases = " ".join(f"{scheme}) ext={ext};;" for scheme, ext in KINDS.items())
    return (
        f"kind=$(sed -n 's/^DATABASE_URL=\"\\([a-z]*\\).*/\\1/p' {q(env_file(layout))}); "
        '[ "$kind" = postgres ] && kind=postgresql; '
        f'case "$kind" in {cases} *) echo "no backup for database kind \'$kind\'" >&2; exit 3;; '
        "esac"
    )


def backup_script(plan: BackupPlan, stamp: str) -> str:
    """Root shell script: dump into a 0600 file named for *stamp*, keep the newest ``keep``,
    print the file's path. The same script runs from the backup timer (``stamp`` = ``now``)."""
    q = shlex.quote
    app, d = plan.layout.app, str(plan.directory)
    when = '$(date -u +%Y%m%dT%H%M%SZ)' if stamp == "now" else check_stamp(stamp)
    dump = shlex.join(plan.agent_argv("backup"))
    return "\n".join(
        [
            "set -eu",
            "umask 077",
            kind_script(plan.layout),
            f"d={q(d)}; mkdir -p -m 0700 \"$d\"",
            f'f="$d/{app}-{when}.$ext"; tmp="$d/.partial-$$"',
            "trap 'rm -f \"$tmp\"' EXIT",
            f'{dump} > "$tmp"',
            'test -s "$tmp" || { echo "backup is empty" >&2; exit 1; }',
            'chmod 0600 "$tmp"; mv -f "$tmp" "$f"',
            f'ls -1t "$d"/{app}-*.sqlite3 "$d"/{app}-*.pgdump 2>/dev/null'
            f" | tail -n +{plan.keep + 1} | xargs -r rm -f --",
            'echo "$f"',
        ]
    )


def restore_script(plan: BackupPlan, stamp: str) -> str:
    """Root shell script: load the uploaded backup (``upload_path``) into the app's database,
    then delete the upload whatever happened; exits with the load's code."""
    path = shlex.quote(upload_path(plan, stamp))
    load = shlex.join(plan.agent_argv("restore"))
    run = f"( set -eu; {kind_script(plan.layout)}; {load} < {path} )"
    return f"{run}; rc=$?; rm -f -- {path}; exit $rc"


def upload_path(plan: BackupPlan, stamp: str) -> str:
    """Where ``deployer restore`` puts the local file on the host (0600, removed after)."""
    return f"{plan.directory}/.restore-{check_stamp(stamp)}"


def timer_units(plan: BackupPlan, schedule: str, script_path: str) -> dict[str, str]:
    """``<app>-backup.service`` running the backup script as root, and its timer."""
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}")
    app = plan.layout.app
    service = "\n".join(
        [
            "# Managed by deployer: a backup of the app's database (deployer backup --schedule).",
            "[Unit]",
            f"Description={app} database backup",
            "",
            "[Service]",
            "Type=oneshot",
            f"ExecStart=/bin/sh {script_path}",
            "",
        ]
    )
    timer = "\n".join(
        [
            "# Managed by deployer.",
            "[Unit]",
            f"Description={app} database backup ({schedule})",
            "",
            "[Timer]",
            f"OnCalendar={schedule}",
            "Persistent=true",
            "RandomizedDelaySec=300",
            "",
            "[Install]",
            "WantedBy=timers.target",
            "",
        ]
    )
    return {f"{app}-backup.service": service, f"{app}-backup.timer": timer}


def script_path(layout: Layout) -> str:
    return f"/usr/local/lib/deployer/{layout.app}-backup.sh"


def local_name(host_path: str) -> str:
    """The file name a fetched backup keeps locally (checked against our naming)."""
    name = host_path.rsplit("/", 1)[-1]
    if not NAME.fullmatch(name):
        raise ValueError(f"unexpected backup file name {name!r}")
    return name
