"""Scheduled jobs (``schedule = { nightly = { cmd = "python -m app.manage ...", on = "daily" } }``)
as systemd timers.

Each job is a oneshot ``<app>-job-<name>.service`` made from the web unit (same user,
environment and hardening) that runs in ``/srv/<app>/current`` (resolved when it starts, so it
always runs the serving release and needs no move on deploy), and a ``.timer`` with the job's
``OnCalendar`` expression (``Persistent``: a run missed while the host was down happens at boot).
"""

from __future__ import annotations

from collections.abc import Mapping

from deployer.names import check_job


def service_name(app: str, name: str) -> str:
    return f"{app}-job-{name}.service"


def timer_name(app: str, name: str) -> str:
    return f"{app}-job-{name}.timer"


def header_prefix(app: str, name: str) -> str:
    """How the first line of a job's service file starts (``ops.retire`` knows it by it)."""
    return f"# Managed by deployer: scheduled job {name} of {app} ("


def job_units(web_unit: str, app: str, name: str, job: Mapping[str, str]) -> dict[str, str]:
    """``{unit file name: text}`` for the job's service and timer."""
    check_job(name, job)
    release = f"/srv/{app}/releases/%i"
    current = f"/srv/{app}/current"
    out = [f"{header_prefix(app, name)}{job['on']})."]
    for line in web_unit.replace(release, current).splitlines():
        skip = ("#", "ExecReload=", "Restart", "WantedBy=", "RuntimeDirectory")
        if line.startswith(skip) or line == "[Install]":
            continue
        if line.startswith("Description="):
            line = f"Description={app} job {name}"
        elif line.startswith("Type="):
            line = "Type=oneshot"
        elif line.startswith("ExecStart="):
            out += [
                f"Environment=PATH={current}/venv/bin:/usr/local/bin:/usr/bin:/bin",
                f"Environment=VIRTUAL_ENV={current}/venv",
            ]
            line = f"ExecStart=/usr/bin/env -- {job['cmd']}"
        out.append(line)
    timer = "\n".join(
        [
            "# Managed by deployer.",
            "[Unit]",
            f"Description={app} job {name} ({job['on']})",
            "",
            "[Timer]",
            f"OnCalendar={job['on']}",
            "Persistent=true",
            "",
            "[Install]",
            "WantedBy=timers.target",
            "",
        ]
    )
    service = "\n".join(out).rstrip("\n") + "\n"
    return {service_name(app, name): service, timer_name(app, name): timer}
