"""Process roles: the role unit made from the web unit, the move between releases, validation."""

import subprocess
from pathlib import Path

import pytest

from deployer.layout import Layout
from deployer.ops import processes
from deployer.release.unit import web_unit
from deployer.target import TargetError, build_target

REPO = Path(__file__).resolve().parents[2]
OLD = "20261127T140000-" + "a" * 16
NEW = "20261127T150000-" + "b" * 16


def target(**app):
    data = {"source": str(REPO / "app"), **app}
    return build_target({"host": "203.0.113.10", "domain": "api.example.com", "app": data})


def directives(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def test_role_unit_is_the_web_unit_with_another_command() -> None:
    web = web_unit(target())
    role = processes.role_unit(web, "app", "worker", "python -m app.worker")
    assert "ExecStart=/usr/bin/env -- python -m app.worker" in role
    assert "Environment=PATH=/srv/app/releases/%i/venv/bin:/usr/local/bin:/usr/bin:/bin" in role
    assert "Description=app worker (release %i)" in role
    assert "ExecReload" not in role and "gunicorn" not in role
    # everything else, the hardening above all, is the web unit's, line for line
    changed = ("Description=", "ExecStart=", "ExecReload=", "Environment=PATH", "Environment=VIR",
               "RuntimeDirectory")  # the socket directory is the web process's
    same = [d for d in directives(web) if not d.startswith(changed)]
    assert same == [d for d in directives(role) if not d.startswith(changed)]
    for line in ("User=app", "ProtectSystem=strict", "NoNewPrivileges=yes", "PrivateUsers=yes",
                 "EnvironmentFile=/srv/app/shared/.env", "WorkingDirectory=/srv/app/releases/%i"):
        assert line in role  # fmt: skip


@pytest.mark.parametrize(
    ("role", "command", "ok"),
    [
        ("worker", "python -m app.worker", True),
        ("sched2", "celery -A app.tasks beat --loglevel=info", True),
        ("web", "python -m x", False),
        ("Worker", "x", False),
        ("worker", "python -m x; rm -rf /", False),
        ("worker", "echo $SECRET_KEY", False),
        ("worker", "echo 100%", False),
        ("worker", " ", False),
    ],
)
def test_roles_and_commands_are_checked(role, command, ok) -> None:
    if ok:
        assert target(processes={role: command}).app.processes == {role: command}
    else:
        with pytest.raises(TargetError):
            target(processes={role: command})


def test_move_starts_the_new_instances_then_stops_only_that_roles_others() -> None:
    script = processes.move_script(Layout("shop"), {"worker": "w", "beat": "b"}, NEW)
    assert subprocess.run(["sh", "-n", "-c", script], check=False).returncode == 0
    start = f"systemctl enable --now --quiet shop-beat@{NEW}.service shop-worker@{NEW}.service"
    assert script.startswith(f"( {start};")
    assert "'shop-beat@*.service' 'shop-worker@*.service'" in script  # never shop-*@ (other apps)
    assert script.index("enable --now") < script.index("disable --now")


def test_move_keeps_the_new_instance_and_stops_the_rest(tmp_path: Path) -> None:
    """Run the script against a fake systemctl that lists two releases' workers."""
    log = tmp_path / "log"
    fake = tmp_path / "systemctl"
    fake.write_text(
        "#!/bin/sh\n"
        f'echo "$@" >> {log}\n'
        f'case "$1" in list-units) printf "shop-worker@{OLD}.service loaded active running x\\n'
        f'shop-worker@{NEW}.service loaded active running x\\n";; esac\n'
    )
    fake.chmod(0o755)
    script = processes.move_script(Layout("shop"), {"worker": "w"}, NEW)
    env = {"PATH": f"{tmp_path}:/usr/bin:/bin"}
    assert subprocess.run(["sh", "-c", script], env=env, check=False).returncode == 0
    calls = log.read_text().splitlines()
    assert calls[0] == f"enable --now --quiet shop-worker@{NEW}.service"
    assert calls[-1] == f"disable --now --quiet shop-worker@{OLD}.service"
