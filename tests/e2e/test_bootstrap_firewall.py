"""The rendered nftables rules, loaded for real into a throwaway network namespace.

Checks the rule set itself (policies, open ports) without a host; test_bootstrap.py checks the
same rules loaded by bootstrap on a sandbox host, with a real probe from the lab network.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from deployer.steps import web

pytestmark = pytest.mark.e2e


def test_rules_load_and_allow_only_ssh_http_https(tmp_path: Path) -> None:
    if os.geteuid() != 0 or shutil.which("nft") is None or shutil.which("unshare") is None:
        pytest.skip("needs root, nft (apt-get install nftables) and unshare")
    conf = tmp_path / "nftables.conf"
    conf.write_text(web.nftables_file(web.firewall_ports(["22", "2222"])).content)
    proc = subprocess.run(
        ["unshare", "--net", "sh", "-c", f"nft -f {conf} && nft -j list ruleset"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    import json

    rules = json.loads(proc.stdout)["nftables"]
    chains = {c["chain"]["name"]: c["chain"] for c in rules if "chain" in c}
    assert chains["input"]["policy"] == "drop" and chains["forward"]["policy"] == "drop"
    ports = [
        e["match"]["right"]["set"]
        for r in rules if "rule" in r and r["rule"]["chain"] == "input"
        for e in r["rule"]["expr"]
        if "match" in e and e["match"]["left"].get("payload", {}).get("field") == "dport"
    ]  # fmt: skip
    assert ports == [[22, 80, 443, 2222]]
