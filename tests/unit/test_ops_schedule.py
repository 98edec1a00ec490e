"""Scheduled jobs: the job's service made from the web unit, its timer, validation."""

from pathlib import Path

import pytest

from deployer.ops import schedule
from deployer.release.unit import web_unit
from deployer.target import TargetError, build_target

REPO = Path(__file__).resolve().parents[2]
SAMPLE = {"source": str(REPO), "include": ["app"], "requirements": "app/requirements.txt"}
NIGHTLY = {"cmd": "python -m app.manage stats", "on": "*-*-* 03:00:00"}


def target(**app):
    data = {**SAMPLE, **app}
    return build_target({"host": "203.0.113.10", "domain": "api.example.com", "app": data})


def test_job_runs_in_the_current_release_as_a_hardened_oneshot() -> None:
    units = schedule.job_units(web_unit(target()), "app", "nightly", NIGHTLY)
    service, timer = units["app-job-nightly.service"], units["app-job-nightly.timer"]
    assert "Type=oneshot" in service and "%i" not in service
    assert "WorkingDirectory=/srv/app/current" in service
    assert "ExecStart=/usr/bin/env -- python -m app.manage stats" in service
    for line in ("User=app", "ProtectSystem=strict", "NoNewPrivileges=yes"):
        assert line in service
    assert "Restart=" not in service and "[Install]" not in service and "gunicorn" not in service
    assert "OnCalendar=*-*-* 03:00:00" in timer and "Persistent=true" in timer
    assert "WantedBy=timers.target" in timer


@pytest.mark.parametrize(
    ("name", "job", "ok"),
    [
        ("nightly", NIGHTLY, True),
        ("hourly-sync", {"cmd": "python -m app.sync", "on": "hourly"}, True),
        ("Nightly", NIGHTLY, False),
        ("nightly", {"cmd": "x; reboot", "on": "daily"}, False),
        ("nightly", {"cmd": "x", "on": "daily\nExecStartPre=/bin/sh"}, False),
        ("nightly", {"cmd": "x"}, False),
    ],
)
def test_jobs_are_checked(name, job, ok) -> None:
    if ok:
        assert target(schedule={name: job}).app.schedule == {name: job}
    else:
        with pytest.raises(TargetError):
            target(schedule={name: job})
