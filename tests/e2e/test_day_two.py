"""Day-two commands on one bootstrapped sandbox host, in order: exec (a user created through
the app's own code), maintenance on/off, env set under load (and a breaking value), deploy
hooks with a signed webhook per deploy, backup/restore of SQLite, then of PostgreSQL (a server
the test installs on the host), and the scheduled backup timer with its retention.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import http.client
import json
import os
import pty
import re
import socket
import ssl
import subprocess
import sys
import termios
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from bootstrap_helpers import REPO, SECRET
from release_helpers import Stage, bootstrap, make_version, write_config
from s3_helpers import CREDENTIALS, moto_server, s3_client
from webhook_helpers import Receiver

pytestmark = pytest.mark.e2e

PASSWORD = "correct-horse-battery"
WEBHOOK_KEY = "webhook-" + SECRET[:20]
COUNT_USERS = (
    "from sqlalchemy import text\nfrom app.config import load_settings\n"
    "from app.db import make_engine\n"
    "with make_engine(load_settings().database_url).begin() as c:\n"
    "    print(c.execute(text('SELECT count(*) FROM users')).scalar())\n"
)
DELETE_USERS = COUNT_USERS.replace(
    "print(c.execute(text('SELECT count(*) FROM users')).scalar())",
    "print(c.execute(text('DELETE FROM users')).rowcount)",
)


class _Pinned(http.client.HTTPSConnection):
    """HTTPS to the sandbox host's address with SNI and verification for its domain."""

    def __init__(self, domain: str, address: str, cafile: str) -> None:
        super().__init__(domain, 443, context=ssl.create_default_context(cafile=cafile), timeout=10)
        self.address = address

    def connect(self) -> None:
        sock = socket.create_connection((self.address, 443), timeout=10)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def request(stage: Stage, method: str, path: str, form: dict | None = None):
    """(status, headers, body) of one request through nginx over HTTPS."""
    out = stage.outputs
    conn = _Pinned(out["domain"], out["address"], out["acme_root"])
    body = urllib.parse.urlencode(form).encode() if form else None
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if form else {}
    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read().decode()
    finally:
        conn.close()


def login(stage: Stage, user: str) -> int:
    return request(stage, "POST", "/token", {"username": user, "password": PASSWORD})[0]


@pytest.fixture(scope="module")
def stage(lab, tmp_path_factory) -> Iterator[Stage]:
    host = lab.host(snapshot="provisioned")
    tmp = tmp_path_factory.mktemp("daytwo")
    config = write_config(tmp, {"s": host}, make_version(tmp, "1.0.0"))
    st = Stage("s", host, config, tmp)
    bootstrap(st)
    yield st
    lab.release(host)


def with_config(stage: Stage, name: str, app: str = "", table: str = "") -> Path:
    """A copy of the stage's deployer.toml with extra `[stages.s.app]` lines and tables."""
    text = stage.config.read_text().replace("[stages.s.app]\n", f"[stages.s.app]\n{app}\n")
    path = stage.tmp / f"{name}.toml"
    path.write_text(text + table)
    return path


def cli(stage: Stage, *args: str, config: Path | None = None, stdin: str = "", env=None,
        cwd: Path = REPO):
    """`deployer ARGS --config FILE` (the option goes before a `--`, which ends the options)."""
    cut = args.index("--") if "--" in args else len(args)
    argv = [*args[:cut], "--config", str(config or stage.config), *args[cut:]]
    return subprocess.run(
        [sys.executable, "-m", "deployer", *argv],
        input=stdin, capture_output=True, text=True, cwd=cwd, timeout=600, check=False,
        env={**os.environ, "SECRET_KEY": SECRET, **(env or {})},
    )  # fmt: skip


def exec_(stage: Stage, *command: str, stdin: str = "") -> subprocess.CompletedProcess:
    return cli(stage, "exec", "s", "--", *command, stdin=stdin)


def audit(stage: Stage, n: int) -> list[dict]:
    text = stage.host.ssh(f"sudo tail -n {n} /srv/app/state/audit.log").stdout
    return [json.loads(line) for line in text.splitlines()]


def test_exec_creates_a_user_through_the_apps_code(stage: Stage) -> None:
    assert login(stage, "alice") == 401
    proc = exec_(stage, "python", "-m", "app.manage", "create-user", "alice", "alice@example.com",
                 stdin=PASSWORD + "\n")  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "created user alice" in proc.stdout
    assert login(stage, "alice") == 200
    cur = stage.current()["id"]
    started, done = audit(stage, 2)
    assert (started["action"], started["result"], started["release"]) == ("exec", "started", cur)
    assert done["result"] == "ok" and "create-user alice" in done["detail"]
    # as the app user, in the current release, with its environment; the exit code comes back
    proc = exec_(stage, "sh", "-c", 'id -un; pwd; test ${#SECRET_KEY} -ge 32 && exit 7')
    assert proc.returncode == 7, proc.stdout + proc.stderr
    assert proc.stdout.split() == ["app", f"/srv/app/releases/{cur}"]
    assert audit(stage, 1)[0]["result"] == "failed"


def test_exec_on_a_stage_of_several_hosts_runs_on_the_one_named(stage: Stage) -> None:
    # two names for the same sandbox host: the choice is what is tested, not the fleet
    port = stage.outputs["ssh_port"]
    hosts = ", ".join(f'{{ name = "{n}", host = "127.0.0.1", ssh_port = {port} }}'
                      for n in ("one", "two"))  # fmt: skip
    text = stage.config.read_text().replace("[stages.s]\n", f"[stages.m]\nhosts = [{hosts}]\n")
    config = stage.tmp / "two-hosts.toml"
    config.write_text(text.replace("[stages.s.app]", "[stages.m.app]"))
    before = len(audit(stage, 1000))
    refused = cli(stage, "exec", "m", "--", "id", "-un", config=config)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "the stage has 2 hosts (one, two): pick one with --host" in refused.stderr
    assert len(audit(stage, 1000)) == before  # refused before connecting: nothing audited
    proc = cli(stage, "exec", "m", "--host", "two", "--", "id", "-un", config=config)
    assert proc.returncode == 0 and proc.stdout.strip() == "app", proc.stdout + proc.stderr
    assert audit(stage, 1)[0]["result"] == "ok"


def test_exec_interactive_gets_a_terminal(stage: Stage) -> None:
    argv = [sys.executable, "-m", "deployer", "exec", "-i", "s", "--config", str(stage.config),
            "--", "sh", "-c", "tty; exit 3"]  # fmt: skip
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        argv, stdin=follower, stdout=follower, stderr=follower, cwd=REPO,
        env={**os.environ, "SECRET_KEY": SECRET},
        # the terminal of a new session, as a user's shell has one
        start_new_session=True, preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
    )  # fmt: skip
    os.close(follower)
    output = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the follower side closed: the command is done
            break
        if not chunk:
            break
        output += chunk
    os.close(leader)
    assert proc.wait(timeout=120) == 3, output
    assert b"/dev/pts/" in output, output


def test_maintenance_on_answers_503_and_off_brings_the_app_back(stage: Stage) -> None:
    proc = cli(stage, "maintenance", "on", "s", "--message", "Back at <5>")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    status, headers, body = request(stage, "POST", "/token", {"username": "alice",
                                                              "password": PASSWORD})
    assert status == 503 and headers["retry-after"].isdigit(), (status, headers)
    assert "Back at &lt;5&gt;" in body and "strict-transport-security" in headers
    assert request(stage, "GET", "/health")[0] == 200  # the operator still sees health
    assert request(stage, "GET", "/ready")[0] == 200  # and readiness
    shown = cli(stage, "status", "s")
    assert "maintenance  on" in shown.stdout, shown.stdout
    proc = cli(stage, "maintenance", "off", "s")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert login(stage, "alice") == 200
    assert "maintenance  off" in cli(stage, "status", "s").stdout
    assert [e["detail"] for e in audit(stage, 2)] == ["on", "off"]


def test_env_set_is_seen_with_no_failed_request_and_a_breaking_value_changes_nothing(
    stage: Stage,
) -> None:
    with stage.background_load() as load:
        proc = cli(stage, "env", "set", "s", "APP_VERSION", env={"APP_VERSION": "1.5.0-env"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = load.result
    print("load during env set:", result.summary())
    assert result.sent >= 2000 and result.failed == 0, result.summary()
    after = stage.sample()
    assert after.failed == 0 and set(after.versions) == {"1.5.0-env"}, after.summary()
    assert stage.current()["note"] == "env: set APP_VERSION"
    listing = cli(stage, "env", "list", "s").stdout
    assert "ENVIRONMENT=production" in listing and "APP_VERSION=********" in listing
    assert "SECRET_KEY=********" in listing and SECRET not in listing
    good = stage.current()["id"]
    # a SECRET_KEY the app refuses (too short): the new instance never gets traffic
    with stage.background_load() as load:
        proc = cli(stage, "env", "set", "s", "--stdin", "SECRET_KEY", stdin="short\n")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 4 and "failed in phase health" in out, out
    assert "short" not in out
    assert load.result.failed == 0 and set(load.result.versions) == {"1.5.0-env"}
    assert stage.current()["id"] == good
    env = stage.host.ssh("sudo cat /srv/app/shared/.env").stdout
    assert SECRET.replace('"', '\\"').split("$")[0] in env and "short" not in env
    assert stage.host.ssh("sudo test -e /srv/app/shared/.env.previous", check=False).returncode
    refused = cli(stage, "env", "set", "s", "APP_VERSION=1")
    assert refused.returncode == 2 and "never on the command line" in refused.stderr


def test_env_changes_racing_each_other_are_never_lost(stage: Stage) -> None:
    """`env set RACE_B` runs in this process; at the moment it computes its new .env from the
    current one, a second `env set RACE_A` runs to its end. Read before the lock, B's file
    would lack RACE_A with both reporting success; read under the lock, A is refused."""
    from deployer import envfile
    from deployer.cli.ops import _apply_env
    from deployer.ops.env import set_values

    def host_env() -> dict[str, str]:
        return envfile.parse(stage.host.ssh("sudo cat /srv/app/shared/.env").stdout)

    other: list[subprocess.CompletedProcess] = []

    def racing(before: dict[str, str]):
        other.append(cli(stage, "env", "set", "s", "RACE_A", env={"RACE_A": "from-a"}))
        return set_values(before, {"RACE_B": "from-b"})

    code = _apply_env("s", stage.config, racing, "")
    (a,) = other
    env = host_env()
    assert code == 0 and env["RACE_B"] == "from-b"
    if a.returncode == 0:  # done first: kept
        assert env.get("RACE_A") == "from-a", "RACE_A was set and then lost"
    else:  # refused, and told so
        said = a.stdout + a.stderr
        assert a.returncode == 5 and "refused: deploy lock held by" in said, said
        assert "RACE_A" not in env
    proc = cli(stage, "env", "unset", "s", "RACE_B", *(["RACE_A"] if "RACE_A" in env else []))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not {"RACE_A", "RACE_B"} & set(host_env())
    again = cli(stage, "env", "unset", "s", "RACE_B")  # checked against the file, under the lock
    said = again.stdout + again.stderr
    assert again.returncode == 2 and "invalid input: not set on the host: RACE_B" in said, said


def test_hooks_and_one_signed_webhook_per_deploy(stage: Stage) -> None:
    receiver = Receiver()
    notify = (f'\n[stages.s.notify]\nurl = "{receiver.url}"\n'
              'secret_from_env = "DEPLOYER_WEBHOOK_SECRET"\n')  # fmt: skip
    env = {"DEPLOYER_WEBHOOK_SECRET": WEBHOOK_KEY}
    marker = "/srv/app/shared/data/hooks.log"
    failing = with_config(stage, "failing", 'hooks = { pre_switch = "echo checking; exit 3" }',
                          notify)  # fmt: skip
    good = with_config(
        stage,
        "hooks",
        f'hooks = {{ pre_switch = "echo pre $PWD >> {marker}", '
        f'post_switch = "echo post $PWD >> {marker}", '
        f'post_rollback = "echo rolled-back $PWD >> {marker}" }}',
        notify,
    )
    try:
        serving = stage.current()["id"]
        v2 = make_version(stage.tmp, "2.0.0")
        proc = cli(stage, "deploy", "s", "--source", str(v2), config=failing, env=env)
        out = proc.stdout + proc.stderr
        assert proc.returncode == 4 and "failed in phase pre_switch" in out, out
        assert stage.current()["id"] == serving
        assert request(stage, "GET", "/health")[0] == 200
        proc = cli(stage, "deploy", "s", "--source", str(v2), config=good, env=env)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        new = stage.current()
        assert new["version"] == "2.0.0"
        lines = stage.host.ssh(f"sudo cat {marker}").stdout.split("\n")
        assert lines[:2] == [f"pre /srv/app/releases/{new['id']}",
                             f"post /srv/app/releases/{new['id']}"], lines  # fmt: skip
        proc = cli(stage, "rollback", "s", config=good, env=env)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        back = stage.current()["id"]
        log = stage.host.ssh(f"sudo cat {marker}").stdout
        assert f"rolled-back /srv/app/releases/{back}" in log
    finally:
        receiver.shutdown()
        receiver.server_close()
    events = []
    for headers, data in receiver.got:
        expected = "sha256=" + hmac.new(WEBHOOK_KEY.encode(), data, hashlib.sha256).hexdigest()
        assert headers["x-deployer-signature"] == expected
        events.append(json.loads(data))
    assert [(e["event"], e["outcome"]) for e in events] == [
        ("deploy", "failed"), ("deploy", "ok"), ("rollback", "ok"),
    ]  # fmt: skip
    assert "pre_switch" in events[0]["detail"]
    assert events[1]["release"] == new["id"] and events[1]["version"] == "2.0.0"
    assert events[2]["release"] == back


def worker_facts(stage: Stage, release: str) -> dict[str, str]:
    unit = f"app-worker@{release}.service"
    show = stage.host.ssh(f"systemctl show -p ActiveState,User,MainPID,WorkingDirectory {unit}")
    facts = dict(line.split("=", 1) for line in show.stdout.splitlines() if "=" in line)
    report = stage.host.ssh(f"sudo systemd-analyze security {unit} --no-pager").stdout
    facts["exposure"] = report.rsplit("Overall exposure level for", 1)[-1].split()[1]
    return facts


def test_worker_runs_from_the_current_release_and_moves_on_deploy(stage: Stage) -> None:
    config = with_config(stage, "worker", 'processes = { worker = "python -m app.worker" }')
    before = stage.current()["id"]
    proc = cli(stage, "deploy", "s", "--source", str(make_version(stage.tmp, "3.0.0")),
               config=config)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    new = stage.current()["id"]
    facts = worker_facts(stage, new)
    assert facts["ActiveState"] == "active" and facts["User"] == "app", facts
    assert facts["WorkingDirectory"] == f"/srv/app/releases/{new}"
    assert float(facts["exposure"]) <= 2.0, facts
    pid = facts["MainPID"]
    owner = stage.host.ssh(f"ps -o user= -p {pid}").stdout.strip()
    cwd = stage.host.ssh(f"sudo readlink /proc/{pid}/cwd").stdout.strip()
    assert owner == "app" and cwd == f"/srv/app/releases/{new}"
    proc = cli(stage, "rollback", "s", before, config=config)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert stage.current()["id"] == before
    assert worker_facts(stage, before)["ActiveState"] == "active"
    assert worker_facts(stage, new)["ActiveState"] == "inactive"
    log = stage.host.ssh(f"sudo journalctl -u app-worker@{new}.service -o cat --no-pager").stdout
    assert "worker stopped" in log  # drained: it finished on SIGTERM


def backup_restore_roundtrip(stage: Stage, user: str, ext: str) -> None:
    out = stage.tmp / f"backups-{ext}"
    proc = cli(stage, "backup", "s", "--out", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (local,) = out.glob(f"app-*.{ext}")
    assert oct(local.stat().st_mode & 0o777) == "0o600"
    stat = "stat -c '%a %U %n' /srv/app/backups /srv/app/backups/*"
    listing = stage.host.ssh(f'sudo sh -c "{stat}"').stdout
    assert listing.splitlines()[0].startswith("700 root")
    assert f"600 root /srv/app/backups/{local.name}" in listing
    assert exec_(stage, "python", "-c", DELETE_USERS).returncode == 0
    assert exec_(stage, "python", "-c", COUNT_USERS).stdout.strip() == "0"
    assert login(stage, user) == 401
    refused = cli(stage, "restore", "s", str(local), stdin="n\n")
    assert refused.returncode == 5 and login(stage, user) == 401  # asked, and told no
    proc = cli(stage, "restore", "s", str(local), "--yes")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert login(stage, user) == 200
    entries = [(e["action"], e["result"], e["detail"]) for e in audit(stage, 4)]
    assert entries == [("restore", "started", local.name), ("maintenance", "ok", "on"),
                       ("maintenance", "ok", "off"), ("restore", "ok", local.name)]  # fmt: skip
    assert stage.host.ssh("ls /var/www/deployer-maintenance/").stdout.strip() == ""


def test_sqlite_backup_delete_restore(stage: Stage) -> None:
    backup_restore_roundtrip(stage, "alice", "sqlite3")


def test_backup_to_an_s3_bucket_and_restore_from_it(stage: Stage) -> None:
    bucket, prefix = "deployer-backups", "app/s/"
    with moto_server() as endpoint:
        s3_client(endpoint).create_bucket(Bucket=bucket)
        config = with_config(stage, "s3", table=(
            f'\n[stages.s.backup.s3]\nbucket = "{bucket}"\nprefix = "{prefix}"\n'
            f'endpoint_url = "{endpoint}"\nregion = "us-east-1"\n'))  # fmt: skip
        out = stage.tmp / "backups-s3"
        proc = cli(stage, "backup", "s", "--out", str(out), config=config, env=CREDENTIALS)
        said = proc.stdout + proc.stderr
        assert proc.returncode == 0, said
        (local,) = out.glob("app-*.sqlite3")
        url = f"s3://{bucket}/{prefix}{local.name}"
        assert f"uploaded to {url}" in said
        stored = s3_client(endpoint).get_object(Bucket=bucket, Key=prefix + local.name)
        assert stored["Body"].read() == local.read_bytes()
        listed = cli(stage, "backup", "s", "--list", config=config, env=CREDENTIALS)
        assert listed.returncode == 0 and listed.stdout.split()[0] == local.name, listed.stdout
        # restore from the URL, then by the listed name: the data is back each time
        for source in (url, local.name):
            assert exec_(stage, "python", "-c", DELETE_USERS).returncode == 0
            assert login(stage, "alice") == 401
            proc = cli(stage, "restore", "s", source, "--yes", config=config, env=CREDENTIALS,
                       cwd=stage.tmp)  # fmt: skip
            said += proc.stdout + proc.stderr
            assert proc.returncode == 0, proc.stdout + proc.stderr
            assert login(stage, "alice") == 200
            assert audit(stage, 1)[0]["detail"] == url
        # without credentials the upload fails, plainly (the backup itself is kept)
        bare = cli(stage, "backup", "s", "--out", str(out), config=config,
                   env={"AWS_EC2_METADATA_DISABLED": "true"})  # no metadata service asked
        assert bare.returncode == 4 and "upload to s3://" in bare.stderr, bare.stderr
    secret = CREDENTIALS["AWS_SECRET_ACCESS_KEY"]
    log = stage.host.ssh("sudo cat /srv/app/state/audit.log").stdout
    assert secret not in said + bare.stdout + bare.stderr + log


def test_postgresql_backup_delete_restore(stage: Stage) -> None:
    host = stage.host
    install = host.ssh("sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q "
                       "--no-install-recommends postgresql", check=False)  # fmt: skip
    assert install.returncode == 0, install.stdout + install.stderr
    host.ssh("sudo -u postgres psql -q -c \"CREATE ROLE shop LOGIN PASSWORD 'pg-Pa55'\" "
             "-c 'CREATE DATABASE shop OWNER shop'")  # fmt: skip
    url = "postgresql+psycopg://shop:pg-Pa55@127.0.0.1:5432/shop"
    proc = cli(stage, "env", "set", "s", "--stdin", "DATABASE_URL", stdin=url)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = exec_(stage, "python", "-m", "app.manage", "create-user", "bob", "bob@example.com",
                 stdin=PASSWORD + "\n")  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert login(stage, "bob") == 200 and login(stage, "alice") == 401  # on PostgreSQL now
    backup_restore_roundtrip(stage, "bob", "pgdump")


def test_scheduled_backups_keep_the_newest(stage: Stage) -> None:
    proc = cli(stage, "backup", "s", "--out", str(stage.tmp / "bk"), "--schedule", "daily",
               "--keep", "2")  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    host = stage.host
    assert host.ssh("systemctl is-enabled app-backup.timer").stdout.strip() == "enabled"
    for _ in range(2):
        host.ssh("sleep 1; sudo systemctl start app-backup.service")
    files = host.ssh("sudo ls -1 /srv/app/backups").stdout.split()
    assert len(files) == 2 and all(f.endswith(".pgdump") for f in files), files


def test_scheduled_job_runs_in_the_current_release_as_the_app(stage: Stage) -> None:
    job = 'schedule = { stats = { cmd = "python -m app.manage stats", on = "daily" } }'
    config = with_config(stage, "schedule", job)
    proc = cli(stage, "deploy", "s", "--source", str(make_version(stage.tmp, "4.0.0")),
               config=config)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    host, cur = stage.host, stage.current()["id"]
    assert host.ssh("systemctl is-enabled app-job-stats.timer").stdout.strip() == "enabled"
    host.ssh("sudo systemctl start app-job-stats.service")  # what the timer starts, now
    show = host.ssh("systemctl show -p Result,User app-job-stats.service").stdout.split()
    assert show == ["Result=success", "User=app"], show
    log = host.ssh("sudo journalctl -u app-job-stats.service -o cat --no-pager").stdout
    assert re.search(r"users=[0-9]+ items=[0-9]+", log), log  # the app's own code ran
    assert cur in host.ssh("readlink -f /srv/app/current").stdout



def role_units(stage: Stage) -> str:
    return stage.host.ssh("systemctl list-units --all --plain --no-legend 'app-worker@*' "
                          "'app-job-*'; ls /etc/systemd/system/ | grep -E '^app-(worker|job-)' "
                          "|| true").stdout  # fmt: skip


def test_roles_and_jobs_removed_from_the_config_are_stopped_by_deploy_and_rollback(
    stage: Stage,
) -> None:
    both = with_config(
        stage, "roles", 'processes = { worker = "python -m app.worker" }\n'
        'schedule = { stats = { cmd = "python -m app.manage stats", on = "daily" } }',
    )  # fmt: skip
    host = stage.host
    proc = cli(stage, "deploy", "s", "--source", str(make_version(stage.tmp, "5.0.0")),
               config=both)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with_roles = stage.current()["id"]
    assert worker_facts(stage, with_roles)["ActiveState"] == "active"
    assert host.ssh("systemctl is-active app-job-stats.timer").stdout.strip() == "active"
    # deploy without them: the worker is drained and its units gone, the timer too
    proc = cli(stage, "deploy", "s", "--source", str(make_version(stage.tmp, "6.0.0")))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    without = stage.current()["id"]
    assert role_units(stage).strip() == "", role_units(stage)
    log = host.ssh(f"sudo journalctl -u app-worker@{with_roles}.service -o cat --no-pager").stdout
    assert "worker stopped" in log  # SIGTERM: it finished its work
    # a rollback (to the release that had them) brings them back; rolling back without them
    # in the config stops them again
    proc = cli(stage, "rollback", "s", with_roles, config=both)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert worker_facts(stage, with_roles)["ActiveState"] == "active"
    proc = cli(stage, "rollback", "s", without)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert role_units(stage).strip() == "", role_units(stage)
    assert request(stage, "GET", "/health")[0] == 200
