"""Fixed locations, names and addresses of the sandbox (one place to read them all)."""

from __future__ import annotations

import os
from pathlib import Path

#: Runtime state (hosts, lab services, PIDs); safe to delete when nothing runs.
STATE_DIR = Path(os.environ.get("DEPLOYER_SANDBOX_STATE", "/run/deployer-sandbox"))
#: Cached images and snapshot layers, keyed on their inputs; never inside the repo.
CACHE_DIR = Path(os.environ.get("DEPLOYER_SANDBOX_CACHE", "/var/cache/deployer/sandbox"))
#: Long-lived files users point tools at: the login key, the ACME CA files.
DATA_DIR = Path(os.environ.get("DEPLOYER_SANDBOX_DATA", "/var/lib/deployer/sandbox"))

SUITE = "bookworm"
DOMAIN = "deployer.test"
LOGIN_USER = "deploy"
PREFIX = "deployer-sb"  # netns, cgroup and machine names start with it

LAB_NETNS = f"{PREFIX}-lab"
OUTER_NETNS = f"{PREFIX}-outer"
BRIDGE = "dsb0"
LAB_SUBNET = "10.77.0"
LAB_GATEWAY = f"{LAB_SUBNET}.1"

PROXY_PORT = 8888
ACME_PORT = 14000
ACME_MGMT_PORT = 15000
DNS_PORT = 8053
CHALL_MGMT_PORT = 8055
SSH_PORT_BASE = 2200
MAX_HOSTS = 50

CGROUP_ROOTS = (Path("/sys/fs/cgroup/systemd"), Path("/sys/fs/cgroup/unified"))


def ssh_port(index: int) -> int:
    """The outer SSH port of host number `index` (2..MAX_HOSTS+1)."""
    return SSH_PORT_BASE + index


def outer_address(index: int) -> str:
    """The outer loopback address serving HTTP/HTTPS of host number `index`."""
    return f"127.0.1.{index}"


def lab_address(index: int) -> str:
    """The host's address on the lab bridge."""
    return f"{LAB_SUBNET}.{index}"
