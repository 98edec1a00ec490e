"""Local sandbox hosts: real systemd machines (systemd-nspawn) to rehearse deployments on.

`up(names)` boots hosts, `down(names)` / `down(all=True)` stops them, `list_hosts()` lists them;
each `Host.outputs()` follows the output contract, so every target-consuming command works on it.
"""

from __future__ import annotations

from deployer.sandbox.api import down, list_hosts, up
from deployer.sandbox.errors import SandboxError
from deployer.sandbox.hosts import Host

__all__ = ["Host", "SandboxError", "down", "list_hosts", "up"]
