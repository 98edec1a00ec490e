"""`deployer apps`: what a host serves, parsed from one read-only round trip."""

from __future__ import annotations

import json
import subprocess

from deployer.release.apps import ServedApp, apps_script, parse_apps


def ledger(*releases: tuple[str, str, str]) -> str:
    rows = [{"id": i, "version": v, "status": s} for i, v, s in releases]
    return json.dumps({"releases": rows})


def test_each_app_with_its_domain_release_and_instances() -> None:
    out = "\n".join([
        "site # Managed by deployer: api.example.com -> app, through /srv/app/serving.sock.",
        "site # Managed by deployer: hello.example.com -> hello (upstream in /etc/x.conf).",
        "site server { listen 80; }",  # not ours
        f"ledger app {ledger(('r1', '1.0.0', 'good'), ('r2', '2.0.0', 'current'))}",
        f"ledger hello {ledger(('h1', '', 'current'))}",
        "ledger stale {not json",
        "unit app@r2.service",
        "unit hello@h1.service",
        "unit getty@tty1.service",
    ])  # fmt: skip
    assert parse_apps(out) == [
        ServedApp("app", "api.example.com", "r2", "2.0.0", ("r2",)),
        ServedApp("hello", "hello.example.com", "h1", "", ("h1",)),
    ]


def test_the_script_is_valid_shell_and_reads_nothing_on_an_empty_host() -> None:
    done = subprocess.run(["sh", "-n", "-c", apps_script()], capture_output=True, check=False)
    assert done.returncode == 0, done.stderr
