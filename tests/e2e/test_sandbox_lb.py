"""The lab load balancer (HAProxy) on real sandbox hosts: TLS from the sandbox ACME server,
active health checks, draining, loopback-only listeners, stopped by PID."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from deployer.sandbox import Host, lb
from deployer.sandbox.proc import Proc

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def pool(lab) -> Iterator[tuple[lb.LoadBalancer, list[Host]]]:
    from deployer.sandbox import up
    from deployer.sandbox.api import list_load_balancers, stop_load_balancers

    hosts = [lab.host(snapshot="provisioned") for _ in range(2)]
    name = f"{hosts[0].name}-lb"
    up([h.name for h in hosts], snapshot="provisioned", lb_name=name)
    for host in hosts:
        host.ssh(f"echo {host.name} | sudo tee /var/www/html/health >/dev/null")
    (balancer,) = [b for b in list_load_balancers() if b.name == name]
    _wait_status(balancer, {h.name: "UP" for h in hosts})
    try:
        yield balancer, hosts
    finally:
        stop_load_balancers([name])
        for host in hosts:
            lab.release(host)


def _wait_status(balancer: lb.LoadBalancer, wanted: dict[str, str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        seen = {k: v["status"] for k, v in lb.servers(balancer).items() if k in wanted}
        if seen == wanted or time.monotonic() > deadline:
            assert seen == wanted
            return
        time.sleep(0.1)


def _curl(balancer: lb.LoadBalancer, path: str = "/health", scheme: str = "https",
          *extra: str) -> subprocess.CompletedProcess:
    from deployer.sandbox import acme

    port = 443 if scheme == "https" else 80
    return subprocess.run(
        ["curl", "-sS", "--max-time", "5", "--cacert", str(acme.root_path()),
         "--resolve", f"{balancer.domain}:{port}:{balancer.address}", *extra,
         f"{scheme}://{balancer.domain}{path}"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip


def test_serves_https_and_every_backend_answers_through_it(pool) -> None:
    balancer, hosts = pool
    answers = [_curl(balancer) for _ in range(8)]
    assert all(a.returncode == 0 for a in answers), answers[0].stderr
    assert {a.stdout.strip() for a in answers} == {h.name for h in hosts}  # round robin
    redirect = _curl(balancer, "/health", "http", "-o", "/dev/null", "-w", "%{http_code} "
                     "%{redirect_url}")
    assert redirect.stdout == f"301 https://{balancer.domain}/health"
    untrusted = subprocess.run(  # its certificate is issued by the sandbox ACME's root
        ["curl", "-sS", "--resolve", f"{balancer.domain}:443:{balancer.address}",
         f"https://{balancer.domain}/health"], capture_output=True, check=False)
    assert untrusted.returncode != 0


def test_listens_on_loopback_and_reaches_hosts_from_its_own_lab_address(pool) -> None:
    balancer, hosts = pool
    (proc,) = (Proc(**p) for p in balancer.procs)
    workers = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True)
    pids = {proc.pid, *map(int, workers.stdout.split())}
    listening = subprocess.run(["ss", "-Hltnp"], capture_output=True, text=True, check=True)
    ours = [line.split()[3] for line in listening.stdout.splitlines()
            if any(f"pid={pid}," in line for pid in pids)]
    assert sorted(ours) == [f"{balancer.address}:443", f"{balancer.address}:80"]
    _curl(balancer)
    seen = hosts[0].ssh("sudo tail -n 20 /var/log/nginx/access.log").stdout
    assert f"{balancer.lab_address} - -" in seen  # the hosts' firewalls can admit it alone
    assert balancer.source_range == f"{balancer.lab_address}/32"


def test_health_checks_take_a_failing_backend_out_and_back(pool) -> None:
    balancer, (first, second) = pool
    second.ssh("sudo systemctl stop nginx")
    _wait_status(balancer, {first.name: "UP", second.name: "DOWN"})
    answers = {_curl(balancer).stdout.strip() for _ in range(6)}
    assert answers == {first.name}
    second.ssh("sudo systemctl start nginx")
    _wait_status(balancer, {first.name: "UP", second.name: "UP"})


def test_a_404_on_the_readiness_path_drains_a_backend(pool) -> None:
    balancer, (first, second) = pool
    second.ssh("sudo mv /var/www/html/health /var/www/html/health.off")
    _wait_status(balancer, {second.name: "NOLB"})  # no new requests; open ones may finish
    assert {_curl(balancer).stdout.strip() for _ in range(6)} == {first.name}
    second.ssh("sudo mv /var/www/html/health.off /var/www/html/health")
    _wait_status(balancer, {first.name: "UP", second.name: "UP"})


def test_a_host_leaving_is_drained_then_dropped_and_the_balancer_stops_by_pid(lab) -> None:
    from deployer.sandbox import up
    from deployer.sandbox.api import list_load_balancers, stop_hosts, stop_load_balancers

    hosts = [lab.host(snapshot="provisioned") for _ in range(2)]
    name = f"{hosts[0].name}-lb"
    up([h.name for h in hosts], snapshot="provisioned", lb_name=name)
    (balancer,) = [b for b in list_load_balancers() if b.name == name]
    stop_hosts([hosts[1].name])
    lab.hosts.pop(hosts[1].name, None)
    (balancer,) = [b for b in list_load_balancers() if b.name == name]
    assert balancer.members == [hosts[0].name]
    assert set(lb.servers(balancer)) == {hosts[0].name}
    (proc,) = (Proc(**p) for p in balancer.procs)
    assert stop_load_balancers([name]) == [name]
    assert not proc.alive()
    assert not Path(lb.lb_file(name)).exists() and not balancer.folder.exists()
    lab.release(hosts[0])
