"""Rendered configuration: proxy allow-list, tinyproxy and pebble config, per-host files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from deployer.sandbox import acme, config, hosts, proxy


def test_apt_hosts_from_deb822_and_one_line_sources(tmp_path: Path) -> None:
    (tmp_path / "a.sources").write_text(
        "Types: deb\nURIs: http://mirror.one.example/debian\nSuites: bookworm\n\n"
        "Types: deb\nURIs: https://sec.example/debian-security http://two.example/d\n"
    )
    (tmp_path / "b.list").write_text("# deb http://commented.example/x bookworm main\n"
                                     "deb [arch=amd64] https://three.example/apt stable main\n")
    (tmp_path / "c.list.disabled").write_text("deb http://disabled.example/ bookworm main\n")
    hosts_found = proxy.apt_hosts(tmp_path / "none.list", tmp_path)
    assert hosts_found == {"mirror.one.example", "sec.example", "two.example", "three.example"}


def test_pip_hosts_use_the_configured_index(tmp_path: Path) -> None:
    conf = tmp_path / "pip.conf"
    conf.write_text("[global]\nindex-url = https://pypi.internal.example/simple\n")
    assert proxy.pip_hosts((conf,), env={}) == {"pypi.internal.example"}


def test_pip_hosts_fall_back_to_pips_own_default(tmp_path: Path) -> None:
    from pip._internal.models.index import PyPI

    found = proxy.pip_hosts((tmp_path / "missing.conf",), env={})
    assert PyPI.file_storage_domain in found and len(found) == 2


def test_filter_is_anchored_and_escaped() -> None:
    assert proxy.render_filter(["a.example", "b.example"]) == "^a\\.example$\n^b\\.example$\n"


def test_tinyproxy_listens_on_loopback_and_denies_by_default(tmp_path: Path) -> None:
    text = proxy.render_config(tmp_path / "f", tmp_path / "log")
    assert "Listen 127.0.0.1\n" in text
    assert "FilterDefaultDeny Yes\n" in text
    assert f'Filter "{tmp_path / "f"}"' in text


def test_pebble_listens_on_loopback_and_validates_on_port_80() -> None:
    conf = acme.pebble_config()["pebble"]
    assert conf["listenAddress"].startswith("127.0.0.1:")
    assert conf["managementListenAddress"].startswith("127.0.0.1:")
    assert (conf["httpPort"], conf["tlsPort"]) == (80, 443)
    assert acme.ACME_ENV["PEBBLE_WFE_NONCEREJECT"] == "0"
    assert acme.challtestsrv_argv()[acme.challtestsrv_argv().index("-dns01") + 1].startswith(
        "127.0.0.1:")


def test_acme_directory_as_seen_from_inside_a_host() -> None:
    assert acme.directory_url(inside=True) == f"https://{config.LAB_GATEWAY}:14000/dir"


def test_proxy_files_point_apt_and_pip_at_the_lab_proxy() -> None:
    files = hosts.proxy_files()
    url = f"http://{config.LAB_GATEWAY}:{config.PROXY_PORT}"
    assert f'Acquire::https::Proxy "{url}";' in files["etc/apt/apt.conf.d/80deployer-proxy"]
    assert f"proxy = {url}" in files["etc/pip.conf"]


def test_a_private_lab_shifts_every_name_port_and_address() -> None:
    code = ("from deployer.sandbox import config as c; "
            "print(c.STATE_DIR, c.PREFIX, c.ACME_PORT, c.ssh_port(2), c.outer_address(2), "
            "c.LAB_GATEWAY)")
    out = subprocess.run([sys.executable, "-c", code], env={"DEPLOYER_SANDBOX_LAB": "3"},
                         capture_output=True, text=True, check=True).stdout.split()
    assert out == ["/run/deployer-sandbox-3", "deployer-sb3", "14300", "2502", "127.0.4.2",
                   "10.80.0.1"]
