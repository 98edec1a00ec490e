"""Process roles and scheduled jobs that deployer.toml no longer names: stopped and removed.

A deploy or rollback writes the units of the configured roles and jobs; one that was removed
from the config would otherwise keep running (a worker, a nightly timer) from a release nobody
deploys any more. The host's unit files are listed with their first line: a file is ours only
when that line is the header deployer writes for this app and that role or job, so another
app's unit that happens to share the prefix (app ``shop`` and an app ``shop-api``'s web unit
``shop-api@.service``) or a hand-written one is never touched.
"""

from __future__ import annotations

import shlex
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from deployer.names import check_app
from deployer.ops import processes, schedule

UNIT_DIR = "/etc/systemd/system"


@dataclass(frozen=True)
class Stale:
    """The roles and jobs found on the host that the config does not name (sorted)."""

    roles: tuple[str, ...] = ()
    jobs: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.roles or self.jobs)

    def summary(self) -> str:
        parts = [f"role {r}" for r in self.roles] + [f"job {j}" for j in self.jobs]
        return ", ".join(parts)


def found_script(app: str) -> str:
    """Shell: ``<file name>\\t<first line>`` for each unit file that may be a role's template
    or a job's service of *app*."""
    check_app(app)  # the name goes into unquoted globs: letters, digits and - only
    return (
        f"cd {UNIT_DIR} && for f in {app}-*@.service {app}-job-*.service; do "
        '[ -f "$f" ] && printf \'%s\\t%s\\n\' "$f" "$(head -n 1 -- "$f")"; done; true'
    )


def parse_found(stdout: str) -> dict[str, str]:
    """``found_script`` output -> ``{file name: first line}``."""
    out = {}
    for line in stdout.splitlines():
        name, sep, first = line.partition("\t")
        if sep:
            out[name] = first
    return out


def stale(
    app: str, roles: Collection[str], jobs: Collection[str], found: Mapping[str, str]
) -> Stale:
    """The decision: which roles and jobs *found* on the host (``parse_found``) to retire, given
    the configured *roles* and *jobs*. Only files carrying deployer's header for this app."""
    old_roles, old_jobs = set(), set()
    for name, first in found.items():
        if name.endswith("@.service") and name.startswith(f"{app}-"):
            role = name.removeprefix(f"{app}-").removesuffix("@.service")
            if first == processes.header(app, role) and role not in roles:
                old_roles.add(role)
        elif name.startswith(f"{app}-job-") and name.endswith(".service"):
            job = name.removeprefix(f"{app}-job-").removesuffix(".service")
            if first.startswith(schedule.header_prefix(app, job)) and job not in jobs:
                old_jobs.add(job)
    return Stale(tuple(sorted(old_roles)), tuple(sorted(old_jobs)))


def retire_script(app: str, gone: Stale) -> str:
    """Shell: stop and disable every instance of the stale roles (SIGTERM: drained like a move)
    and the stale jobs' timers and services, remove their unit files, reload systemd."""
    q = shlex.quote
    parts = []
    for role in gone.roles:
        pattern = q(f"{app}-{role}@*.service")
        parts += [
            f"u=$(systemctl list-units --plain --no-legend --all {pattern} | cut -d' ' -f1)",
            '[ -z "$u" ] || systemctl disable --now --quiet $u',
            f"rm -f -- {UNIT_DIR}/*.wants/{app}-{role}@*.service "
            f"{q(processes.unit_path(app, role))}",
        ]
    for job in gone.jobs:
        timer, service = schedule.timer_name(app, job), schedule.service_name(app, job)
        parts += [
            f"systemctl disable --now --quiet {q(timer)}",
            f"systemctl stop {q(service)}",
            f"rm -f -- {UNIT_DIR}/*.wants/{q(timer)} {UNIT_DIR}/{q(timer)} "
            f"{UNIT_DIR}/{q(service)}",
        ]
    if not parts:
        return "true"
    return "; ".join(["set -e", *parts, "systemctl daemon-reload"])
