"""The lab load balancer: HAProxy (Debian's) standing in for a cloud's ALB / DO Load Balancer.

It runs on the outer machine like the other lab services, listens on its own loopback address
only (127.0.N.200:80/443, TLS terminated with a certificate from the sandbox ACME server) and
reaches its backends inside the lab namespace (HAProxy's per-server ``namespace``), from its own
lab address, so a host's firewall can admit port 80 from the load balancer alone. Backends are
health-checked actively on the app's readiness path; a host leaving the pool is drained first
(no new requests, open ones finish). Recorded in STATE_DIR/lbs/NAME.json, stopped by PID.
"""

from __future__ import annotations

import contextlib
import csv
import io
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

from deployer.names import DRAIN_TIMEOUT  # a leaving host's open requests: the ALB's delay
from deployer.sandbox import acme, cgroups, config, network, state
from deployer.sandbox.errors import SandboxError
from deployer.sandbox.proc import Proc, run, spawn, stop, wait_until

BACKEND = "app"
INDEX_BASE = 200  # lab and loopback addresses .200+ (hosts use .2 .. .MAX_HOSTS+1)
MAX_LBS = 10
CHECK_INTERVAL_MS = 500


def lbs_dir() -> Path:
    return config.STATE_DIR / "lbs"


def lb_file(name: str) -> Path:
    return lbs_dir() / f"{name}.json"


def records() -> list[dict]:
    folder = lbs_dir()
    if not folder.is_dir():
        return []
    found = (state.read(p) for p in sorted(folder.glob("*.json")))
    return [r for r in found if r]


@dataclass
class LoadBalancer:
    """A running lab load balancer and the hosts in its pool."""

    name: str
    index: int
    members: list[str] = field(default_factory=list)
    health_path: str = "/health"
    procs: list[dict] = field(default_factory=list)

    @property
    def domain(self) -> str:
        return f"{self.name}.{config.DOMAIN}"

    @property
    def address(self) -> str:
        """Where clients reach it (loopback of the outer machine)."""
        return config.outer_address(self.index)

    @property
    def lab_address(self) -> str:
        """Its source address towards the backends, inside the lab network."""
        return config.lab_address(self.index)

    @property
    def source_range(self) -> str:
        return f"{self.lab_address}/32"

    @property
    def folder(self) -> Path:
        return lbs_dir() / self.name

    @property
    def admin_socket(self) -> Path:
        return self.folder / "admin.sock"

    @property
    def pem(self) -> Path:
        return self.folder / "lb.pem"

    def to_dict(self) -> dict:
        return {"name": self.name, "index": self.index, "members": self.members,
                "health_path": self.health_path, "procs": self.procs}

    def save(self) -> None:
        state.write(lb_file(self.name), self.to_dict())

    def alive(self) -> bool:
        return bool(self.procs) and all(Proc(**p).alive() for p in self.procs)

    def outputs(self, hosts: list) -> dict:
        """The fleet output contract: a hosts list plus the load balancer (see stacks)."""
        return {
            "cloud": "sandbox",
            "stage": self.name,
            "domain": self.domain,
            "url": f"https://{self.domain}",
            "acme_server": acme.directory_url(inside=True),
            "acme_ca": str(acme.ca_path()),
            "acme_root": str(acme.root_path()),
            "hosts": [
                {
                    "name": h.name,
                    "host": "127.0.0.1",
                    "ssh_port": h.ssh_port,
                    "ssh_user": config.LOGIN_USER,
                    "ssh_host_key": h.host_key,
                    "ssh_key": str(h.ssh_key),
                    "private_address": config.lab_address(h.index),
                }
                for h in hosts
            ],
            "load_balancer": {
                "name": self.name,
                "dns_name": self.domain,
                "address": self.address,
                "tls": "lb",
                "source_range": self.source_range,
            },
        }


def render_config(lb: LoadBalancer, backends: list[tuple[str, str]]) -> str:
    """haproxy.cfg: TLS on loopback, HTTP->HTTPS redirect, checked backends in the lab netns.

    ``backends`` are (host name, lab address) pairs. No retries at the balancer (``retries 0``):
    a failed backend connection reaches the client, so a load test sees every failure.
    """
    where = f"namespace {config.LAB_NETNS} source {lb.lab_address}"  # (not inherited)
    servers = "".join(f"    server {name} {address}:80 {where}\n" for name, address in backends)
    return f"""\
# Managed by deployer sandbox: load balancer {lb.name} ({lb.domain})
global
    maxconn 4096
    stats socket {lb.admin_socket} mode 600 level admin
    # No "user": connecting inside the lab namespace (setns) needs the privileges root keeps.

defaults
    mode http
    timeout connect 3s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 10s
    retries 0
    option forwardfor
    option http-server-close

frontend web
    bind {lb.address}:443 ssl crt {lb.pem} alpn http/1.1
    bind {lb.address}:80
    http-request redirect scheme https code 301 unless {{ ssl_fc }}
    http-request set-header X-Forwarded-Proto https
    http-request set-header X-Forwarded-Host %[req.hdr(host)]
    default_backend {BACKEND}

backend {BACKEND}
    balance roundrobin
    option httpchk
    http-check send meth GET uri {lb.health_path} ver HTTP/1.1 hdr Host {lb.domain}
    http-check expect status 200
    http-check disable-on-404
    default-server check inter {CHECK_INTERVAL_MS} fall 2 rise 2
{servers}"""


def certbot_argv(lb: LoadBalancer) -> list[str]:
    """certbot on the outer machine, DNS-01 through the ACME server's own DNS (like ACM's
    Route53 validation); always against the sandbox ACME server, never a public one."""
    body = '{"host":"_acme-challenge.\'"$CERTBOT_DOMAIN"\'.","value":"\'"$CERTBOT_VALIDATION"\'"}'
    hook = f"curl -sf -X POST -d '{body}' http://127.0.0.1:{config.CHALL_MGMT_PORT}/set-txt"
    le = lb.folder / "letsencrypt"
    return [
        "env", f"REQUESTS_CA_BUNDLE={acme.ca_path()}",
        "certbot", "certonly", "--manual", "--preferred-challenges", "dns",
        "--manual-auth-hook", hook,
        "-d", lb.domain, "--cert-name", lb.domain,
        "--server", acme.directory_url(inside=False),
        "--config-dir", str(le / "config"), "--work-dir", str(le / "work"),
        "--logs-dir", str(le / "logs"),
        "--non-interactive", "--agree-tos", "--register-unsafely-without-email",
        "--key-type", "ecdsa", "--force-renewal",
    ]  # fmt: skip


def issue_certificate(lb: LoadBalancer) -> None:
    run(certbot_argv(lb))
    live = lb.folder / "letsencrypt" / "config" / "live" / lb.domain
    bundle = (live / "fullchain.pem").read_text() + (live / "privkey.pem").read_text()
    lb.pem.touch(mode=0o600)
    lb.pem.write_text(bundle)


def _backends(members: list[str]) -> list[tuple[str, str]]:
    indexes = {r["name"]: r["index"] for r in state.host_records()}
    missing = [m for m in members if m not in indexes]
    if missing:
        raise SandboxError(f"load balancer members not running: {', '.join(missing)}",
                           fix=f"deployer sandbox up {' '.join(missing)}")
    return [(m, config.lab_address(indexes[m])) for m in members]


def _write_config(lb: LoadBalancer) -> Path:
    path = lb.folder / "haproxy.cfg"
    path.write_text(render_config(lb, _backends(lb.members)))
    run(["haproxy", "-c", "-q", "-f", str(path)])
    return path


def _free_index() -> int:
    taken = {r["index"] for r in records()}
    for index in range(INDEX_BASE, INDEX_BASE + MAX_LBS):
        if index not in taken:
            return index
    raise SandboxError(f"too many load balancers (max {MAX_LBS})")


def _address_lines(lb: LoadBalancer, verb: str) -> list[str]:
    return [f"addr {verb} {lb.source_range} dev {config.BRIDGE}"]


def ensure(name: str, members: list[str], health_path: str = "/health") -> LoadBalancer:
    """Start load balancer `name` with `members` in its pool, or add them to a running one
    (the caller holds the state lock; the members run)."""
    record = state.read(lb_file(name))
    if record is not None:
        lb = LoadBalancer(**record)
        new = [m for m in members if m not in lb.members]
        if new:
            lb.members = [*lb.members, *new]
            _write_config(lb)
            lb.save()
            reload(lb)
        return lb
    lb = LoadBalancer(name=name, index=_free_index(), members=list(members),
                      health_path=health_path)
    lb.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    lb.save()  # recorded first: a failure below is cleaned up by teardown()
    try:
        _start(lb)
    except BaseException:
        teardown(lb.to_dict())
        raise
    return lb


def _start(lb: LoadBalancer) -> None:
    name = lb.name
    network.ip_batch(config.LAB_NETNS, _address_lines(lb, "add"))
    acme.add_name(lb.domain, lb.address)
    issue_certificate(lb)
    cfg = _write_config(lb)
    groups = cgroups.paths("lab", roots=config.CGROUP_ROOTS[:1])
    proc = spawn(["haproxy", "-W", "-db", "-f", str(cfg)], state.logs_dir() / f"lb-{name}.log",
                 name="haproxy", cgroups=groups)
    lb.procs = [proc.to_dict()]
    lb.save()
    wait_until(lambda: _listening(lb.address, 443) and lb.admin_socket.exists(), 10,
               f"load balancer {name}")


def _listening(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=0.5):
            return True
    except OSError:
        return False


def reload(lb: LoadBalancer) -> None:
    """Re-read haproxy.cfg without dropping connections (master-worker reload); returns once
    the new worker answers with exactly the pool's members."""
    import os
    import signal

    (proc,) = (Proc(**p) for p in lb.procs)

    def live() -> bool:
        try:
            return set(servers(lb)) == set(lb.members)
        except (OSError, KeyError, ValueError):  # the admin socket is being replaced
            return False

    # A master just started may not handle SIGUSR2 yet (seen once): signal again until live.
    for _ in range(10):
        os.kill(proc.pid, signal.SIGUSR2)
        with contextlib.suppress(SandboxError):
            wait_until(live, 3, f"load balancer {lb.name} to reload")
            return
    raise SandboxError(f"load balancer {lb.name} did not reload; see its log")


def admin(lb: LoadBalancer, command: str) -> str:
    """One command on HAProxy's runtime API (its admin socket)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.connect(str(lb.admin_socket))
        sock.sendall(command.encode() + b"\n")
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode()


def servers(lb: LoadBalancer) -> dict[str, dict[str, str]]:
    """Per backend server: its check status (UP, DOWN, NOLB, DRAIN, MAINT...), its open and
    total sessions."""
    text = admin(lb, "show stat").removeprefix("# ")
    rows = csv.DictReader(io.StringIO(text))
    return {
        r["svname"]: {"status": r["status"], "sessions": r["scur"], "total": r["stot"],
                      "check": r["check_status"]}
        for r in rows
        if r["pxname"] == BACKEND and r["svname"] not in ("FRONTEND", "BACKEND")
    }


def drain(lb: LoadBalancer, member: str, timeout: float = DRAIN_TIMEOUT) -> None:
    """Take `member` out of rotation and wait (at most `timeout`) for its open sessions."""
    admin(lb, f"set server {BACKEND}/{member} state drain")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if servers(lb).get(member, {}).get("sessions", "0") == "0":
            return
        time.sleep(0.1)


def remove_member(lb: LoadBalancer, member: str) -> None:
    """Drain `member`, then drop it from the pool (the caller holds the state lock)."""
    if member not in lb.members:
        return
    if lb.alive():
        with contextlib.suppress(OSError):
            drain(lb, member)
    lb.members = [m for m in lb.members if m != member]
    lb.save()
    if lb.alive():
        (lb.folder / "haproxy.cfg").write_text(render_config(lb, _backends(lb.members)))
        reload(lb)


def teardown(record: dict) -> None:
    """Stop one load balancer: HAProxy (by PID), its lab address, its DNS name, its files."""
    import shutil

    lb = LoadBalancer(**record)
    for proc in (Proc(**p) for p in lb.procs):
        stop(proc, timeout=10)
    if network.exists(config.LAB_NETNS):
        run(["ip", "-n", config.LAB_NETNS, "-batch", "-"], check=False,
            input="\n".join(_address_lines(lb, "del")) + "\n")
    with contextlib.suppress(OSError):
        acme.remove_name(lb.domain)
    shutil.rmtree(lb.folder, ignore_errors=True)
    lb_file(lb.name).unlink(missing_ok=True)
