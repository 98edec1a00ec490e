"""Fixed locations, names and addresses of the sandbox (one place to read them all)."""

from __future__ import annotations

import os
from pathlib import Path

#: Lab number: 0 normally; another number gives a fully separate sandbox (own state, names,
#: ports and addresses), e.g. for a test that must run `down --all` beside a busy lab.
LAB_ID = int(os.environ.get("DEPLOYER_SANDBOX_LAB", "0"))
_SUFFIX = f"-{LAB_ID}" if LAB_ID else ""
_OFFSET = 100 * LAB_ID

#: Runtime state (hosts, lab services, PIDs); safe to delete when nothing runs.
STATE_DIR = Path(f"/run/deployer-sandbox{_SUFFIX}")
#: Cached images and snapshot layers, keyed on their inputs; never inside the repo; shared.
CACHE_DIR = Path(os.environ.get("DEPLOYER_SANDBOX_CACHE", "/var/cache/deployer/sandbox"))
#: Long-lived files users point tools at: the login key, the ACME CA files.
DATA_DIR = Path(f"/var/lib/deployer/sandbox{_SUFFIX}")

SUITE = "bookworm"
DOMAIN = "deployer.test"
LOGIN_USER = "deploy"
PREFIX = f"deployer-sb{LAB_ID or ''}"  # netns and cgroup names start with PREFIX + "-"

LAB_NETNS = f"{PREFIX}-lab"
OUTER_NETNS = f"{PREFIX}-outer"
BRIDGE = f"dsb{LAB_ID}"
LAB_SUBNET = f"10.{77 + LAB_ID}.0"
LAB_GATEWAY = f"{LAB_SUBNET}.1"

PROXY_PORT = 8888 + _OFFSET
ACME_PORT = 14000 + _OFFSET
ACME_MGMT_PORT = 15000 + _OFFSET
DNS_PORT = 8053 + _OFFSET
CHALL_MGMT_PORT = 8055 + _OFFSET
SSH_PORT_BASE = 2200 + _OFFSET
MAX_HOSTS = 50

CGROUP_ROOTS = (Path("/sys/fs/cgroup/systemd"), Path("/sys/fs/cgroup/unified"))


def ssh_port(index: int) -> int:
    """The outer SSH port of host number `index` (2..MAX_HOSTS+1)."""
    return SSH_PORT_BASE + index


def outer_address(index: int) -> str:
    """The outer loopback address serving HTTP/HTTPS of host number `index`."""
    return f"127.0.{1 + LAB_ID}.{index}"


def lab_address(index: int) -> str:
    """The host's address on the lab bridge."""
    return f"{LAB_SUBNET}.{index}"
