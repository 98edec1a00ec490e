"""A fleet on real sandbox hosts: three hosts behind the lab load balancer (HAProxy), scenario
after scenario (the order matters): parallel bootstrap and its "0 changed" re-run, TLS at the
balancer, a rolling deploy of v2 under load through it, a broken v3 stopped after the canary,
a v3 that fails in the second batch (the switched hosts go back), a fleet rollback and a
promotion from a one-host stage (drift flagged before, gone after), day two across the fleet
(env set rolled under load; env drift flagged; an env change that fails in the second batch
puts every host's previous .env back; maintenance on and off on every host, a failing host
named; backup and restore on one host, the others in maintenance meanwhile), and a host that is
down.

Load: >= 5,000 GETs of /health at concurrency 20 through the balancer over HTTPS, kept running
for the whole roll, by a client that never retries; every response must be 2xx.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from bootstrap_helpers import SECRET, deployer
from release_helpers import make_version

from deployer.release.loadcheck import Background, LoadResult, run_load
from deployer.sandbox import Host, lb

pytestmark = pytest.mark.e2e

LOAD = {"requests": 5000, "concurrency": 20, "max_seconds": 400}


@dataclass
class Fleet:
    hosts: list[Host]
    balancer: lb.LoadBalancer
    config: Path
    tmp: Path

    def cli(self, *args: str, timeout: float = 900, env: dict[str, str] | None = None
            ) -> subprocess.CompletedProcess:
        return deployer(*args, "--config", str(self.config), timeout=timeout, env=env)

    def deploy(self, source: Path, *extra: str) -> subprocess.CompletedProcess:
        return self.cli("deploy", "f", "--source", str(source), *extra)

    def ledger(self, host: Host) -> dict:
        text = host.ssh("sudo cat /srv/app/state/releases.json").stdout
        return {r["id"]: r for r in json.loads(text)["releases"]}

    def current(self, host: Host) -> dict:
        return next(r for r in self.ledger(host).values() if r["status"] == "current")

    def versions(self) -> dict[str, str]:
        return {h.name: self.current(h)["version"] for h in self.hosts}

    def migrated(self) -> list[str]:
        """The hosts whose current release ran its migrations."""
        return [h.name for h in self.hosts
                if h.ssh(f"test -e /srv/app/releases/{self.current(h)['id']}/.migrated",
                         check=False).returncode == 0]

    @property
    def health_url(self) -> str:
        return f"https://{self.balancer.domain}/health"

    def load_kwargs(self) -> dict:
        from deployer.sandbox import acme

        return {"resolve_to": self.balancer.address, "cafile": str(acme.root_path())}

    def background_load(self, requests: int = LOAD["requests"]) -> Background:
        """Load for as long as the block runs, and at least *requests* GETs (an env change
        needs no install: a shorter floor keeps the suite fast)."""
        return Background(self.health_url, **{**LOAD, "requests": requests},
                          **self.load_kwargs())

    def sample(self, requests: int = 300) -> LoadResult:
        return run_load(self.health_url, requests=requests, concurrency=10, **self.load_kwargs())

    def curl(self, path: str, *args: str) -> subprocess.CompletedProcess:
        """GET *path* through the balancer over HTTPS."""
        return subprocess.run(
            ["curl", "-sS", *args, "--cacert", self.load_kwargs()["cafile"], "--resolve",
             f"{self.balancer.domain}:443:{self.balancer.address}",
             f"https://{self.balancer.domain}{path}"], capture_output=True, text=True,
            check=False)

    def codes(self, path: str, n: int = 6) -> set[str]:
        """The status codes of *n* GETs of *path* (round robin: every host answers some)."""
        return {self.curl(path, "-o", "/dev/null", "-w", "%{http_code}").stdout
                for _ in range(n)}

    def env_files(self) -> dict[str, str]:
        """Each host's .env, as a hash (it holds the secrets)."""
        return {h.name: h.ssh("sudo sha256sum /srv/app/shared/.env").stdout.split()[0]
                for h in self.hosts}


def _wait_up(balancer: lb.LoadBalancer, names: list[str], timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        seen = lb.servers(balancer)
        if all(seen.get(n, {}).get("status") == "UP" for n in names):
            return seen
        if time.monotonic() > deadline:
            raise AssertionError(f"backends not all UP: {seen}")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def fleet(lab, tmp_path_factory) -> Iterator[Fleet]:
    from deployer.sandbox import up
    from deployer.sandbox.api import fleet_outputs, list_load_balancers, stop_load_balancers

    hosts = [lab.host(snapshot="provisioned") for _ in range(3)]
    name = f"{hosts[0].name}-lb"
    up([h.name for h in hosts], snapshot="provisioned", lb_name=name)
    (balancer,) = [b for b in list_load_balancers() if b.name == name]
    tmp = tmp_path_factory.mktemp("fleet")
    outputs = tmp / "fleet.json"
    contract = fleet_outputs(name)
    outputs.write_text(json.dumps(contract))
    one = tmp / "one.json"  # stage "one": the first host alone, behind the same balancer
    one.write_text(json.dumps({**contract, "hosts": contract["hosts"][:1]}))
    app = (f'source = "{make_version(tmp, "1.0.0")}"\ninclude = ["app"]\n'
           'requirements = "app/requirements.txt"\nversion_file = "app/VERSION"\n'
           'migrations = "app/alembic.ini"\n'
           'env = { ENVIRONMENT = "production" }\nsecrets_from_env = ["SECRET_KEY"]\n')
    config = tmp / "deployer.toml"
    config.write_text(f'[stages.f]\noutputs = "{outputs}"\n\n[stages.f.app]\n{app}\n'
                      f'[stages.one]\noutputs = "{one}"\n\n[stages.one.app]\n{app}')
    try:
        yield Fleet(hosts, balancer, config, tmp)
    finally:
        stop_load_balancers([name])
        for host in hosts:
            if host.name in lab.hosts:
                lab.release(host)


def test_bootstrap_converges_every_host_in_parallel_and_tls_ends_at_the_balancer(
    fleet: Fleet,
) -> None:
    first = fleet.cli("bootstrap", "--stage", "f", "--parallel", "3")
    assert first.returncode == 0, first.stdout + first.stderr
    lines = first.stdout.splitlines()
    for host in fleet.hosts:
        (line,) = [ln for ln in lines if ln.startswith(host.name + " ")]
        assert " ok " in line and "changed" in line, line
    assert "fleet: 3 hosts, 3 changed, 3 ok, 0 failed" in first.stdout
    assert f"load balancer: {fleet.health_url} -> 200" in first.stdout
    assert fleet.migrated() == [fleet.hosts[0].name]  # once, on the first host
    again = fleet.cli("bootstrap", "--stage", "f", "--parallel", "3", "--json")
    assert again.returncode == 0, again.stdout + again.stderr
    report = json.loads(again.stdout)  # one JSON document: every host, then the fleet total
    assert [h["name"] for h in report["hosts"]] == [h.name for h in fleet.hosts]
    for host in report["hosts"]:
        assert host["ok"] and host["changed"] == 0 and host["steps"], host  # 0 changed on each
    assert report["fleet"] == {"hosts": 3, "ok": 3, "failed": 0, "changed": 0}, report["fleet"]
    assert report["ok"] and report["exit_code"] == 0
    assert fleet.migrated() == [fleet.hosts[0].name]
    # every backend is up and answers through the balancer, over HTTPS
    before = {n: int(s["total"]) for n, s in _wait_up(fleet.balancer, [h.name for h in
                                                                         fleet.hosts]).items()}
    sample = fleet.sample(60)
    assert sample.failed == 0 and set(sample.versions) == {"1.0.0"}, sample.summary()
    after = {n: int(s["total"]) for n, s in lb.servers(fleet.balancer).items()}
    assert all(after[h.name] > before[h.name] for h in fleet.hosts), (before, after)
    for host in fleet.hosts:
        # no certificate on the hosts; nginx serves plain HTTP; port 443 is not open
        certs = host.ssh("sudo ls /etc/letsencrypt/live 2>/dev/null || true").stdout
        assert certs.strip() == ""
        rules = host.ssh("sudo nft list ruleset").stdout
        assert f"ip saddr {fleet.balancer.lab_address} tcp dport 80 accept" in rules
        assert "tcp dport 22 accept" in rules and "443" not in rules
    # nginx believes the balancer's X-Forwarded-For, not a client's: a forged one is ignored
    forged = [fleet.curl("/health", "-A", f"realip-check-{i}", "-H",
                         "X-Forwarded-For: 203.0.113.9") for i in range(3)]
    assert all(f.returncode == 0 for f in forged)
    logs = "".join(h.ssh("sudo tail -n 200 /var/log/nginx/access.log").stdout
                   for h in fleet.hosts)
    seen = [ln for ln in logs.splitlines() if "realip-check-" in ln]
    assert len(seen) == 3 and all(ln.startswith("127.0.0.1 - -") for ln in seen), seen
    # port 80 of a host is closed to anyone but the balancer (here: the lab gateway's forwarder)
    direct = subprocess.run(
        ["curl", "-sS", "--max-time", "3", "-o", "/dev/null", "-w", "%{http_code}",
         f"http://{fleet.hosts[0].address}/health"], capture_output=True, text=True, check=False)
    assert direct.stdout in ("", "000"), direct.stdout


def test_rolling_deploy_under_load_through_the_balancer_drops_nothing(fleet: Fleet) -> None:
    with fleet.background_load() as load:
        proc = fleet.deploy(make_version(fleet.tmp, "2.0.0"), "--batch", "1", "-m", "v2")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = load.result
    print("load during the fleet deploy of v2:", result.summary())
    assert result.sent >= 5000 and result.failed == 0, result.summary()
    assert set(result.versions) <= {"1.0.0", "2.0.0"}, result.summary()
    assert fleet.versions() == {h.name: "2.0.0" for h in fleet.hosts}
    after = fleet.sample()
    assert after.failed == 0 and set(after.versions) == {"2.0.0"}, after.summary()
    # batches: the canary alone first; migrations ran once, on the canary only
    assert proc.stdout.index("batch 1/3: " + fleet.hosts[0].name) < proc.stdout.index("batch 2/3")
    assert fleet.migrated() == [fleet.hosts[0].name]
    status = fleet.cli("status", "f")
    assert status.returncode == 0, status.stdout + status.stderr
    assert "all hosts on one release" in status.stdout
    assert all(h.name in status.stdout for h in fleet.hosts)
    # the fleet lock was released on every host
    for host in fleet.hosts:
        assert host.ssh("sudo test -e /srv/app/state/fleet.lock", check=False).returncode == 1


def test_a_broken_v3_stops_after_the_canary_and_the_fleet_keeps_v2(fleet: Fleet) -> None:
    with fleet.background_load() as load:
        proc = fleet.deploy(make_version(fleet.tmp, "3.0.0", "health"))
    assert proc.returncode == 4, proc.stdout + proc.stderr
    result = load.result
    print("load during the broken v3:", result.summary())
    assert result.failed == 0 and set(result.versions) == {"2.0.0"}, result.summary()
    assert "batch 2/3" not in proc.stdout  # stopped after the first batch
    assert fleet.versions() == {h.name: "2.0.0" for h in fleet.hosts}
    for host in fleet.hosts:  # installed on every host ahead of the batches: bad everywhere
        statuses = [r["status"] for r in fleet.ledger(host).values() if r["version"] == "3.0.0"]
        assert statuses == ["bad"], (host.name, statuses)
        assert host.ssh("sudo test -e /srv/app/state/deploy.lock", check=False).returncode == 1


def test_a_failure_in_a_later_batch_rolls_the_switched_hosts_back(fleet: Fleet) -> None:
    victim = fleet.hosts[1].name  # fails its health check; the canary and the others do not
    source = make_version(fleet.tmp, "3.1.0")
    health = source / "app" / "routes" / "health.py"
    ok = 'return Health(status="ok", version=settings.app_version)'
    text = health.read_text()
    assert ok in text
    health.write_text("import socket\n" + text.replace(ok, (
        f'if socket.gethostname() == "{victim}":\n        raise RuntimeError("broken here")\n'
        f"    {ok}")))
    with fleet.background_load() as load:
        proc = fleet.deploy(source, "--batch", "2")
    assert proc.returncode == 4, proc.stdout + proc.stderr
    result = load.result
    print("load during the v3.1 roll and its revert:", result.summary())
    assert result.failed == 0, result.summary()
    assert fleet.versions() == {h.name: "2.0.0" for h in fleet.hosts}  # one release again
    assert f"failed on {victim}" in proc.stderr + proc.stdout
    for host in fleet.hosts:  # it reached every host (batch 2 ran both); bad everywhere
        statuses = [r["status"] for r in fleet.ledger(host).values() if r["version"] == "3.1.0"]
        assert statuses == ["bad"], (host.name, statuses)
    after = fleet.sample()
    assert after.failed == 0 and set(after.versions) == {"2.0.0"}, after.summary()


def test_a_fleet_rollback_rolls_back_in_batches_under_load(fleet: Fleet) -> None:
    # every host: v1 good, v2 current, the v3s bad: its previous good release is v1
    with fleet.background_load() as load:
        proc = fleet.cli("rollback", "f", "--batch", "2", "-m", "back to v1", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = load.result
    print("load during the fleet rollback:", result.summary())
    assert result.sent >= 5000 and result.failed == 0, result.summary()
    assert fleet.versions() == {h.name: "1.0.0" for h in fleet.hosts}
    report = json.loads(proc.stdout)  # one document, per host and the fleet's total
    assert report["ok"] and report["action"] == "rollback"
    assert [(h["name"], h["outcome"]) for h in report["hosts"]] == [
        (h.name, "switched") for h in fleet.hosts]
    assert report["fleet"]["switched"] == 3 and report["fleet"]["failed"] == 0
    # the canary alone, then the other two together (progress goes to stderr)
    assert f"batch 1/2: {fleet.hosts[0].name}\n" in proc.stderr
    assert f"batch 2/2: {fleet.hosts[1].name} {fleet.hosts[2].name}\n" in proc.stderr
    after = fleet.sample()
    assert after.failed == 0 and set(after.versions) == {"1.0.0"}, after.summary()
    status = fleet.cli("status", "f")
    assert status.returncode == 0 and "all hosts on one release" in status.stdout, status.stdout


def test_promote_from_a_one_host_stage_rolls_its_artifact_and_ends_the_drift(
    fleet: Fleet,
) -> None:
    first, *others = fleet.hosts
    shipped = fleet.cli("deploy", "one", "--source", str(make_version(fleet.tmp, "5.0.0")))
    assert shipped.returncode == 0, shipped.stdout + shipped.stderr
    assert fleet.versions() == {first.name: "5.0.0", **{h.name: "1.0.0" for h in others}}
    # status and releases flag the drift (and fail)
    status = fleet.cli("status", "f")
    assert status.returncode == 4, status.stdout + status.stderr
    assert f"drift: {first.name} not on " in status.stdout, status.stdout
    releases = fleet.cli("releases", "f")
    assert releases.returncode == 4, releases.stdout + releases.stderr
    assert f"drift: {first.name} not on " in releases.stdout, releases.stdout
    with fleet.background_load() as load:
        proc = fleet.cli("promote", "one", "f", "--batch", "1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = load.result
    print("load during the promotion:", result.summary())
    assert result.sent >= 5000 and result.failed == 0, result.summary()
    assert fleet.versions() == {h.name: "5.0.0" for h in fleet.hosts}
    shas = {fleet.current(h)["sha256"] for h in fleet.hosts}
    assert len(shas) == 1  # exactly the artifact stage "one" runs
    assert "batch 3/3" in proc.stdout  # host by host: the first (a no-op), then each other
    for host in others:
        audit = host.ssh("sudo tail -n 1 /srv/app/state/audit.log").stdout
        assert '"promote"' in audit, audit
    after = fleet.sample()
    assert after.failed == 0 and set(after.versions) == {"5.0.0"}, after.summary()
    for command in ("status", "releases"):
        proc = fleet.cli(command, "f")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "all hosts on one release" in proc.stdout


ROTATED = "r0tated-" + "k" * 40  # a new SECRET_KEY (long enough for production)
TOO_SHORT = "tiny-k3y"  # a SECRET_KEY only ENVIRONMENT=development accepts


def test_env_set_rolls_across_the_fleet_under_load_health_gated(fleet: Fleet) -> None:
    before = {h.name: fleet.current(h)["id"] for h in fleet.hosts}
    (was,) = set(fleet.versions().values())
    with fleet.background_load(requests=1500) as load:
        proc = fleet.cli("env", "set", "f", "APP_VERSION", "SECRET_KEY", "--batch", "2",
                         env={"APP_VERSION": "5.0.0-env", "SECRET_KEY": ROTATED})
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    result = load.result
    print("load during the fleet env set:", result.summary())
    assert result.sent >= 1500 and result.failed == 0, result.summary()
    assert set(result.versions) <= {was, "5.0.0-env"}, result.summary()
    assert ROTATED not in out and SECRET not in out
    first, *others = fleet.hosts  # the canary alone, then the others together
    assert f"batch 1/2: {first.name}\n" in proc.stdout
    assert f"batch 2/2: {others[0].name} {others[1].name}\n" in proc.stdout
    for host in fleet.hosts:  # a new release on every host, started with the new file
        cur = fleet.current(host)
        assert cur["id"] != before[host.name] and cur["note"] == "env: set APP_VERSION, SECRET_KEY"
        env = host.ssh("sudo cat /srv/app/shared/.env").stdout
        assert 'APP_VERSION="5.0.0-env"' in env and f'SECRET_KEY="{ROTATED}"' in env
        assert host.ssh("sudo test -e /srv/app/shared/.env.previous", check=False).returncode
    after = fleet.sample()
    assert after.failed == 0 and set(after.versions) == {"5.0.0-env"}, after.summary()
    listed = fleet.cli("env", "list", "f")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert "APP_VERSION=********" in listed.stdout and "ENVIRONMENT=production" in listed.stdout
    assert "3 hosts, one environment" in listed.stderr and ROTATED not in listed.stdout
    status = fleet.cli("status", "f")  # an env release keeps the artifact: no release drift
    assert status.returncode == 0 and "all hosts on one release" in status.stdout, status.stdout


def test_env_drift_is_flagged_and_a_change_failing_in_a_later_batch_puts_every_env_back(
    fleet: Fleet,
) -> None:
    first, *others = fleet.hosts
    dev = fleet.cli("env", "set", "one", "ENVIRONMENT", env={"ENVIRONMENT": "development"})
    assert dev.returncode == 0, dev.stdout + dev.stderr
    listed = fleet.cli("env", "list", "f")  # the first host differs now: every other is flagged
    assert listed.returncode == 4, listed.stdout + listed.stderr
    for host in others:
        assert (f"drift: {host.name}: other value of ENVIRONMENT (compared with {first.name})"
                in listed.stderr), listed.stderr
    assert "ENVIRONMENT=development" in listed.stdout  # declared plain (app.env): shown
    files, ledgers = fleet.env_files(), {h.name: fleet.ledger(h) for h in fleet.hosts}
    # a SECRET_KEY the canary (development) accepts and the others (production) refuse
    with fleet.background_load(requests=1500) as load:
        proc = fleet.cli("env", "set", "f", "SECRET_KEY", "--batch", "2",
                         env={"SECRET_KEY": TOO_SHORT})
    out = proc.stdout + proc.stderr
    assert proc.returncode == 4, out
    result = load.result
    print("load during the failing env set and its revert:", result.summary())
    assert result.failed == 0, result.summary()
    assert TOO_SHORT not in out
    assert f"rolled back {first.name}" in out, out
    assert fleet.env_files() == files  # every host's previous file, byte for byte
    for host in fleet.hosts:  # the failed change is bad everywhere; the canary's revert serves
        new = [r for i, r in fleet.ledger(host).items() if i not in ledgers[host.name]]
        want = ["bad", "current"] if host is first else ["bad"]
        assert sorted(r["status"] for r in new) == want, (host.name, new)
    after = fleet.sample()
    assert after.failed == 0 and set(after.versions) == {"5.0.0-env"}, after.summary()
    # one environment again: only the first host changes, the others are no-ops
    back = fleet.cli("env", "set", "f", "ENVIRONMENT", env={"ENVIRONMENT": "production"})
    assert back.returncode == 0, back.stdout + back.stderr
    assert f"  {first.name:<16} switched" in back.stdout, back.stdout
    for host in others:
        assert f"  {host.name:<16} noop" in back.stdout, back.stdout
    listed = fleet.cli("env", "list", "f")
    assert listed.returncode == 0, listed.stdout + listed.stderr


def test_maintenance_goes_on_and_off_on_every_host_and_a_failing_host_is_named(
    fleet: Fleet,
) -> None:
    page = "/var/www/deployer-maintenance/app.html"

    def pages() -> dict[str, bool]:
        return {h.name: h.ssh(f"test -e {page}", check=False).returncode == 0
                for h in fleet.hosts}

    on = fleet.cli("maintenance", "on", "f", "-m", "Fleet upgrade")
    assert on.returncode == 0, on.stdout + on.stderr
    assert "fleet: 3 hosts, 3 ok, 0 failed" in on.stdout
    assert pages() == {h.name: True for h in fleet.hosts}
    assert fleet.codes("/") == {"503"}
    assert "Fleet upgrade" in fleet.curl("/").stdout
    health = fleet.sample(60)  # exempt: the balancer keeps every backend
    assert health.failed == 0, health.summary()
    off = fleet.cli("maintenance", "off", "f")
    assert off.returncode == 0, off.stdout + off.stderr
    assert pages() == {h.name: False for h in fleet.hosts}
    assert "503" not in fleet.codes("/")
    broken = fleet.hosts[2]  # its page directory is a file: the page cannot go up there
    broken.ssh("sudo rm -rf /var/www/deployer-maintenance && "
               "sudo touch /var/www/deployer-maintenance")
    try:
        on = fleet.cli("maintenance", "on", "f")
        assert on.returncode == 4, on.stdout + on.stderr
        assert f"fleet: 3 hosts, 2 ok, 1 failed ({broken.name})" in on.stderr, on.stderr
        (line,) = [ln for ln in on.stdout.splitlines() if ln.split()[:1] == [broken.name]]
        assert "failed: maintenance on failed" in line, line
    finally:
        broken.ssh("sudo rm -f /var/www/deployer-maintenance")
    off = fleet.cli("maintenance", "off", "f")
    assert off.returncode == 0, off.stdout + off.stderr
    assert pages() == {h.name: False for h in fleet.hosts}


def test_backup_and_restore_run_on_one_host_the_others_in_maintenance_meanwhile(
    fleet: Fleet,
) -> None:
    first, second, third = fleet.hosts
    out = fleet.tmp / "backups"
    proc = fleet.cli("backup", "f", "--out", str(out))  # the first host by default
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"on {first.name}, copy in" in proc.stdout, proc.stdout
    (local,) = out.glob("app-*.sqlite3")
    other = fleet.cli("backup", "f", "--host", second.name, "--out", str(fleet.tmp / "b2"))
    assert other.returncode == 0 and f"on {second.name}, copy in" in other.stdout, other.stdout
    refused = fleet.cli("restore", "f", str(local), "--host", "nope", "--yes")
    assert refused.returncode == 2 and "'nope' is not one of the stage's hosts" in refused.stderr
    proc = fleet.cli("restore", "f", str(local), "--yes")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"restored {local.name}" in proc.stdout

    def audit(host: Host, n: int) -> list[tuple[str, str]]:
        lines = host.ssh(f"sudo tail -n {n} /srv/app/state/audit.log").stdout.splitlines()
        return [(e["action"], e["detail"]) for e in map(json.loads, lines)]

    assert audit(first, 4) == [("restore", local.name), ("maintenance", "on"),
                               ("maintenance", "off"), ("restore", local.name)]
    for host in (second, third):  # fenced: in maintenance around the restore
        assert audit(host, 2) == [("maintenance", "on"), ("maintenance", "off")], host.name
    assert "503" not in fleet.codes("/")


def test_a_down_host_stops_the_roll_before_touching_the_others(fleet: Fleet, lab) -> None:
    down = fleet.hosts[2]
    lab.release(down)  # drained out of the balancer, then stopped
    before = {h.name: fleet.ledger(h) for h in fleet.hosts[:2]}
    proc = fleet.deploy(make_version(fleet.tmp, "4.0.0"))
    assert proc.returncode == 5, proc.stdout + proc.stderr
    assert f"host down, nothing touched: {down.name}" in proc.stderr
    assert {h.name: fleet.ledger(h) for h in fleet.hosts[:2]} == before
    skipped = fleet.deploy(make_version(fleet.tmp, "4.0.0"), "--skip-down")
    assert skipped.returncode == 0, skipped.stdout + skipped.stderr
    assert {h.name: fleet.current(h)["version"] for h in fleet.hosts[:2]} == {
        h.name: "4.0.0" for h in fleet.hosts[:2]}
    assert f"{down.name}" in skipped.stdout and "skipped" in skipped.stdout
