"""Fixtures for end-to-end tests on real sandbox hosts (systemd-nspawn machines).

- `lab` (session): starts the shared services once; at the end stops this session's hosts and,
  when no other session uses the lab, everything else, then checks nothing of ours is left.
- `fresh_host` (function): a new host from the base image (minimal Debian, nothing installed).
- `provisioned_host` (function): a new host from the "provisioned" snapshot layer
  (`deployer.sandbox.layers.PROVISIONED_PACKAGES` preinstalled).

Without root or systemd-nspawn these tests skip; with CI=true they fail instead.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterator

import pytest

from deployer.sandbox import Host


def _prerequisite_problem() -> str | None:
    if os.geteuid() != 0:
        return "end-to-end tests need root (sandbox hosts are systemd-nspawn machines)"
    if shutil.which("systemd-nspawn") is None:
        return "end-to-end tests need systemd-nspawn: apt-get install systemd-container"
    return None


def require_sandbox() -> None:
    """Skip (or, with CI=true, fail) when this machine cannot boot sandbox hosts."""
    problem = _prerequisite_problem()
    if problem is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true: {problem}", pytrace=False)
    pytest.skip(problem)


@pytest.fixture(autouse=True)
def _e2e_prerequisites(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("e2e") is not None:
        require_sandbox()


class Lab:
    """The session's handle on the sandbox: boots uniquely named hosts and tracks them."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._prefix = f"t{os.getpid() % 100000}"
        self.hosts: dict[str, Host] = {}

    def host(self, snapshot: str | None = None, name: str | None = None) -> Host:
        """Boot one host (from the base image, or from `snapshot`)."""
        from deployer.sandbox import up

        name = name or f"{self._prefix}-{next(self._ids)}"
        (host,) = up([name], snapshot=snapshot)
        self.hosts[name] = host
        return host

    def release(self, host: Host) -> None:
        """Stop one host of this session (the lab itself keeps running)."""
        from deployer.sandbox.api import stop_hosts

        stop_hosts([host.name])
        self.hosts.pop(host.name, None)


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    require_sandbox()
    from deployer.sandbox import api, leftovers, state

    lease = state.take_lease()
    handle = Lab()
    try:
        with state.locked():
            api.ensure_lab()
        yield handle
    finally:
        last_user = api.release_lab(lease, list(handle.hosts))
    if last_user:
        left = leftovers.find()
        assert not left, "sandbox leftovers after the session:\n" + "\n".join(left)


@pytest.fixture
def fresh_host(lab: Lab) -> Iterator[Host]:
    host = lab.host()
    yield host
    lab.release(host)


@pytest.fixture
def provisioned_host(lab: Lab) -> Iterator[Host]:
    host = lab.host(snapshot="provisioned")
    yield host
    lab.release(host)
