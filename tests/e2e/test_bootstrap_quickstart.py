"""`deployer quickstart` (the README's main command): boots a sandbox host, serves the sample
app over HTTPS, prints the URL and the health answer; a second run changes nothing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from bootstrap_helpers import deployer

pytestmark = pytest.mark.e2e


def test_quickstart_twice(lab) -> None:
    from deployer.sandbox.api import stop_hosts

    name = f"qs{os.getpid() % 100000}"
    secrets_file = Path("~/.local/state/deployer").expanduser() / f"quickstart-{name}.env"
    try:
        first = deployer("quickstart", "--name", name)
        assert first.returncode == 0, first.stdout + first.stderr
        lines = first.stdout.strip().splitlines()
        url_line = next(i for i, line in enumerate(lines) if line.startswith("https://"))
        assert lines[url_line] == f"https://{name}.deployer.test/health"
        assert '"status":"ok"' in lines[url_line + 1].replace(" ", "")
        second = deployer("quickstart", "--name", name)
        assert second.returncode == 0, second.stdout + second.stderr
        assert "0 changed" in second.stdout
    finally:
        stop_hosts([name])
        secrets_file.unlink(missing_ok=True)
