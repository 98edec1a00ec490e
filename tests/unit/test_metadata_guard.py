"""The metadata guard (templates/nftables-metadata.nft), loaded by the real nft in a private
network namespace holding only loopback: root reaches 169.254.169.254, any other user does not."""

import os
import shutil
import subprocess
import sys

import pytest

from stacks.hostkey import METADATA_GUARD, metadata_guard_command

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("nft") or not shutil.which("unshare"),
    reason="needs root, nft and unshare (a private network namespace)",
)

# Runs inside `unshare --net`: put the metadata address on loopback, serve it as root, then
# connect once as root and once as nobody. Prints "root=<ok|refused> nobody=<ok|refused>".
PROBE = """
import os, socket, subprocess, sys
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
subprocess.run(["ip", "addr", "add", "169.254.169.254/32", "dev", "lo"], check=True)
subprocess.run(sys.argv[1:], check=True)
server = socket.create_server(("169.254.169.254", 80))
def attempt():
    try:
        socket.create_connection(("169.254.169.254", 80), timeout=5).close()
        return "ok"
    except OSError:
        return "refused"
print("root=" + attempt(), end=" ")
sys.stdout.flush()
child = os.fork()
if child == 0:
    os.setgid(65534)
    os.setuid(65534)
    print("nobody=" + attempt())
    os._exit(0)
os.waitpid(child, 0)
"""


def probe(*load: str) -> str:
    done = subprocess.run(
        ["unshare", "--net", sys.executable, "-c", PROBE, *load],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def test_without_the_guard_anyone_reaches_the_metadata_address() -> None:
    assert probe("true") == "root=ok nobody=ok"


def test_cloud_init_bootcmd_leaves_the_metadata_address_to_root() -> None:
    assert probe(*metadata_guard_command()) == "root=ok nobody=refused"


def test_deployers_host_firewall_keeps_the_guard(tmp_path) -> None:
    from deployer.steps import web

    conf = tmp_path / "nftables.conf"
    conf.write_text(web.nftables_file(web.firewall_ports(["22"])).content)
    assert METADATA_GUARD.read_text() in conf.read_text()
    assert probe("nft", "-f", str(conf)) == "root=ok nobody=refused"
