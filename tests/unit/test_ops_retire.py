"""Roles and jobs removed from deployer.toml: which units found on the host are retired."""

import subprocess

import pytest

from deployer.ops import processes, retire, schedule
from deployer.ops.retire import Stale

WEB = "[Unit]\nDescription=x\n\n[Service]\nType=notify\nExecStart=/usr/bin/true\n"
ROLE = {f"shop-{r}@.service": processes.header("shop", r) for r in ("worker", "beat")}
JOB = {f"shop-job-{j}.service": schedule.header_prefix("shop", j) + "daily)."
       for j in ("nightly", "stats")}  # fmt: skip
ALL = {**ROLE, **JOB}


@pytest.mark.parametrize(
    ("roles", "jobs", "found", "expected"),
    [
        # everything configured: nothing to do
        ({"worker", "beat"}, {"nightly", "stats"}, ALL, Stale()),
        # a role and a job removed from the config
        ({"beat"}, {"stats"}, ALL, Stale(("worker",), ("nightly",))),
        # none configured any more: all retired
        (set(), set(), ALL, Stale(("beat", "worker"), ("nightly", "stats"))),
        # nothing on the host
        (set(), set(), {}, Stale()),
        # another app's web unit shares the prefix (app shop-api): not ours
        (set(), set(), {"shop-api@.service": "# Managed by deployer: the shop-api app."}, Stale()),
        # a role unit of another app (shop-api's worker is shop-api-worker@): header differs
        (set(), set(), {"shop-api-worker@.service": processes.header("shop-api", "worker")},
         Stale()),
        # hand-written files with our names but not our header: left alone
        (set(), set(), {"shop-worker@.service": "[Unit]", "shop-job-x.service": "# mine"},
         Stale()),
        # the backup timer's service is not a job
        (set(), set(), {"shop-backup.service": "# Managed by deployer: a backup..."}, Stale()),
        # a job's header names the job: a file renamed by hand is not retired
        (set(), set(), {"shop-job-a.service": schedule.header_prefix("shop", "b") + "daily)."},
         Stale()),
    ],
)
def test_stale(roles, jobs, found, expected) -> None:
    assert retire.stale("shop", roles, jobs, found) == expected


def test_headers_are_what_the_writers_write() -> None:
    role = processes.role_unit(WEB, "shop", "worker", "python -m app.worker")
    assert role.splitlines()[0] == processes.header("shop", "worker")
    units = schedule.job_units(WEB, "shop", "nightly", {"cmd": "python -m x", "on": "daily"})
    first = units["shop-job-nightly.service"].splitlines()[0]
    assert first.startswith(schedule.header_prefix("shop", "nightly"))
    found = {"shop-worker@.service": role.splitlines()[0], "shop-job-nightly.service": first}
    assert retire.stale("shop", set(), set(), found) == Stale(("worker",), ("nightly",))


def test_found_script_lists_name_and_first_line(tmp_path) -> None:
    for name, text in {**ALL, "other@.service": "# x", "shop-web.conf": "# y"}.items():
        (tmp_path / name).write_text(text + "\n[Unit]\n")
    script = retire.found_script("shop").replace(retire.UNIT_DIR, str(tmp_path))
    out = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True).stdout
    assert retire.parse_found(out) == ALL
    empty = retire.found_script("shop").replace(retire.UNIT_DIR, str(tmp_path / "none"))
    assert subprocess.run(["sh", "-c", empty], capture_output=True, text=True).stdout == ""


def test_retire_script_names_only_the_stale_units() -> None:
    script = retire.retire_script("shop", Stale(("worker",), ("nightly",)))
    assert script.startswith("set -e; ")
    assert "'shop-worker@*.service'" in script
    assert "/etc/systemd/system/shop-worker@.service" in script
    assert "disable --now --quiet shop-job-nightly.timer" in script
    assert "rm -f -- /etc/systemd/system/*.wants/shop-job-nightly.timer" in script
    assert script.endswith("systemctl daemon-reload")
    assert "beat" not in script and "stats" not in script
    assert retire.retire_script("shop", Stale()) == "true"
    assert Stale(("worker",), ("nightly",)).summary() == "role worker, job nightly"
    assert not Stale()


def test_found_script_refuses_a_name_that_is_not_an_app() -> None:
    with pytest.raises(ValueError, match="invalid app name"):
        retire.found_script("shop; rm -rf /")
