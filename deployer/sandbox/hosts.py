"""One sandbox host: an overlay root, its own network namespace and cgroup, systemd-nspawn,
and forwarders from the outer loopback (SSH on 127.0.0.1:22NN, HTTP/HTTPS on 127.0.1.N).
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from deployer.sandbox import acme, cgroups, config, layers, network, state
from deployer.sandbox.errors import SandboxError
from deployer.sandbox.proc import Proc, run, spawn, stop

NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
BOOT_TIMEOUT = 60.0
HOST_KEY_TYPES = ("ed25519", "ecdsa")


def validate_name(name: str) -> str:
    """Host names become DNS labels, netns and cgroup names: keep them short and plain."""
    if not NAME_RE.fullmatch(name) or name.endswith("-"):
        raise SandboxError(f"invalid host name {name!r}: use ^[a-z][a-z0-9-]{{0,30}}$")
    if name == "lab" or name.startswith(("outer", "fs")):
        raise SandboxError(f"host name {name!r} is reserved")
    return name


def login_key() -> Path:
    """The private key that logs in as the `deploy` user on every host (created once)."""
    key = config.DATA_DIR / "ssh" / "id_ed25519"
    if not key.is_file():
        key.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "deployer-sandbox",
             "-f", str(key)])
    return key


@dataclass
class Host:
    """A running sandbox host, as recorded in STATE_DIR/hosts/NAME.json."""

    name: str
    index: int
    snapshot: str | None = None
    host_key: str = ""
    procs: list[dict] = field(default_factory=list)

    @property
    def domain(self) -> str:
        return f"{self.name}.{config.DOMAIN}"

    @property
    def ssh_port(self) -> int:
        return config.ssh_port(self.index)

    @property
    def address(self) -> str:
        return config.outer_address(self.index)

    @property
    def netns(self) -> str:
        return network.host_netns(self.name)

    @property
    def ssh_key(self) -> Path:
        return config.DATA_DIR / "ssh" / "id_ed25519"

    def outputs(self) -> dict:
        """The output contract (`stacks.contract`) for this host."""
        return {
            "cloud": "sandbox",
            "stage": self.name,
            "host": "127.0.0.1",
            "ssh_port": self.ssh_port,
            "ssh_user": config.LOGIN_USER,
            "ssh_host_key": self.host_key,
            "ssh_key": str(self.ssh_key),
            "domain": self.domain,
            "url": f"https://{self.domain}",
            "address": self.address,
            "acme_server": acme.directory_url(inside=True),
            "acme_ca": str(acme.ca_path()),
            "acme_root": str(acme.root_path()),
        }

    def ssh_argv(self, *command: str) -> list[str]:
        """An ssh command line logging in with the sandbox key and the pinned host key."""
        known = config.STATE_DIR / "hosts" / f"{self.name}.known_hosts"
        return [
            "ssh", "-i", str(self.ssh_key), "-p", str(self.ssh_port),
            "-o", f"UserKnownHostsFile={known}", "-o", "StrictHostKeyChecking=yes",
            "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR",
            f"{config.LOGIN_USER}@127.0.0.1", *command,
        ]

    def ssh(self, command: str, *, check: bool = True, timeout: float = 600
            ) -> subprocess.CompletedProcess:
        """Run `command` (a shell string) on the host as the login user; text output captured."""
        proc = subprocess.run(self.ssh_argv(command), capture_output=True, text=True,
                              timeout=timeout, check=False)
        if check and proc.returncode != 0:
            raise SandboxError(f"on {self.name}: {command!r} exited {proc.returncode}\n"
                               f"{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
        return proc

    def to_dict(self) -> dict:
        return {"name": self.name, "index": self.index, "snapshot": self.snapshot,
                "host_key": self.host_key, "procs": self.procs}

    def save(self) -> None:
        state.write(state.host_file(self.name), self.to_dict())
        known = state.hosts_dir() / f"{self.name}.known_hosts"
        known.write_text(f"[127.0.0.1]:{self.ssh_port} {self.host_key}\n" if self.host_key else "")


def nspawn_argv(name: str, root: Path, netns: str) -> list[str]:
    return [
        "systemd-nspawn", "--boot", f"--directory={root}", f"--machine={name}",
        "--register=no", "--keep-unit", "--console=passive", "--link-journal=no",
        f"--network-namespace-path={network.netns_path(netns)}", "--resolv-conf=off",
        "--timezone=off",
        # The host's own firewall (nftables) acts on its own network namespace only.
        "--capability=CAP_NET_ADMIN",
    ]


def forwards(host: Host) -> list[tuple[str, str]]:
    """(outer listen address, lab target) pairs for SSH, HTTP and HTTPS."""
    inner = config.lab_address(host.index)
    return [
        (f"127.0.0.1:{host.ssh_port}", f"{inner}:22"),
        (f"{host.address}:80", f"{inner}:80"),
        (f"{host.address}:443", f"{inner}:443"),
    ]


def proxy_files() -> dict[str, str]:
    """apt's and pip's proxy settings: the allow-listed proxy the lab exposes on its bridge."""
    url = f"http://{config.LAB_GATEWAY}:{config.PROXY_PORT}"
    return {
        "etc/apt/apt.conf.d/80deployer-proxy": (
            f'Acquire::http::Proxy "{url}";\nAcquire::https::Proxy "{url}";\n'
        ),
        "etc/pip.conf": f"[global]\nproxy = {url}\n",
    }


def etc_hosts(name: str) -> str:
    return (f"127.0.0.1\tlocalhost\n127.0.1.1\t{name}.{config.DOMAIN} {name}\n"
            "::1\tlocalhost ip6-localhost ip6-loopback\n")


def personalize(root: Path, name: str) -> str:
    """Write per-host files into the root: hostname, login key, fresh SSH host keys.

    Returns the new ed25519 host public key as one OpenSSH line.
    """
    (root / "etc/hostname").write_text(f"{name}\n")
    (root / "etc/hosts").write_text(etc_hosts(name))
    resolv = root / "etc/resolv.conf"
    resolv.unlink(missing_ok=True)  # may be a copy of the outer machine's (or a symlink)
    resolv.write_text("# deployer sandbox: no DNS; apt and pip use the proxy\n")
    for rel, text in proxy_files().items():
        (root / rel).write_text(text)
    user = config.LOGIN_USER
    passwd = (root / "etc/passwd").read_text().splitlines()
    uid, gid = next(map(int, line.split(":")[2:4]) for line in passwd
                    if line.startswith(f"{user}:"))
    ssh_dir = root / "home" / user / ".ssh"
    ssh_dir.mkdir(mode=0o700, exist_ok=True)
    keys = ssh_dir / "authorized_keys"
    keys.write_text(login_key().with_suffix(".pub").read_text())
    keys.chmod(0o600)
    for path in (ssh_dir, keys):
        os.chown(path, uid, gid)
    for old in (root / "etc/ssh").glob("ssh_host_*"):
        old.unlink()
    for kind in HOST_KEY_TYPES:  # no RSA: its keygen alone costs ~1 s per host
        key = root / f"etc/ssh/ssh_host_{kind}_key"
        run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", f"root@{name}", "-f", str(key)])
    (root / "etc/ssh/sshd_config.d/05-host-keys.conf").write_text(
        "".join(f"HostKey /etc/ssh/ssh_host_{kind}_key\n" for kind in HOST_KEY_TYPES))
    public = (root / "etc/ssh/ssh_host_ed25519_key.pub").read_text().split()
    return " ".join(public[:2])


def _ssh_banner(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
            conn.settimeout(1)
            return conn.recv(8).startswith(b"SSH-")
    except OSError:
        return False


def wait_ready(host: Host, nspawn: Proc, timeout: float = BOOT_TIMEOUT) -> None:
    """Wait for sshd's banner through the forwarder; fail early if nspawn died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not nspawn.alive():
            log = state.logs_dir() / f"host-{host.name}.log"
            raise SandboxError(f"host {host.name} stopped while booting; see {log}")
        if _ssh_banner(host.ssh_port):
            return
        time.sleep(0.05)
    raise SandboxError(f"host {host.name}: no SSH after {timeout:.0f}s")


def boot(name: str, index: int, lowers: list[Path], snapshot: str | None) -> Host:
    """Start host `name` (the caller holds the state lock and made sure the lab runs)."""
    host = Host(name=name, index=index, snapshot=snapshot)
    host.save()  # recorded first, so a failure midway is cleaned up by teardown()
    root = layers.mount_host_root(name, lowers)
    host.host_key = personalize(root, name)
    network.add(host.netns)
    network.ip_batch(config.LAB_NETNS, network.host_lab_commands(name, index))
    network.ip_batch(host.netns, network.host_inner_commands(index))
    logs = state.logs_dir()
    groups = cgroups.create(f"h-{name}")
    nspawn = spawn(nspawn_argv(name, root, host.netns), logs / f"host-{name}.log",
                   name="nspawn", cgroups=groups)
    host.procs.append(nspawn.to_dict())
    host.save()
    lab_group = cgroups.paths("lab", roots=config.CGROUP_ROOTS[:1])
    for listen, target in forwards(host):
        argv = network.forward_argv(listen, config.LAB_NETNS, target)
        proc = spawn(argv, logs / f"forward-{name}.log", name=f"forward {listen}",
                     cgroups=lab_group)
        host.procs.append(proc.to_dict())
    host.save()
    acme.add_name(host.domain, host.address)
    wait_ready(host, nspawn)
    return host


def teardown(record: dict) -> None:
    """Stop everything of one host: container, forwarders, DNS name, netns, overlay, cgroup."""
    host = Host(**record)
    for proc in (Proc(**p) for p in host.procs):
        stop(proc, timeout=15 if proc.name == "nspawn" else 5)
    for group in cgroups.paths(f"h-{host.name}"):
        cgroups.kill_all(group)
        cgroups.remove(group)
    with contextlib.suppress(OSError):  # the lab may already be gone
        acme.remove_name(host.domain)
    network.delete(host.netns)
    layers.unmount_host_root(host.name)
    state.host_file(host.name).unlink(missing_ok=True)
    (state.hosts_dir() / f"{host.name}.known_hosts").unlink(missing_ok=True)
