"""The allow-listed HTTP proxy (tinyproxy) hosts reach package archives through.

The allow-list is computed at run time from the outer machine's own configuration: the URIs of
its apt sources and pip's index (pip's built-in default index and file host when none is set).
"""

from __future__ import annotations

import configparser
import os
import re
from pathlib import Path
from urllib.parse import urlsplit

from deployer.sandbox import config

APT_SOURCES = Path("/etc/apt/sources.list.d")
PIP_CONFIGS = (Path("/etc/pip.conf"), Path("/etc/xdg/pip/pip.conf"), Path.home() / ".pip/pip.conf",
               Path.home() / ".config/pip/pip.conf")


def apt_hosts(sources_list: Path = Path("/etc/apt/sources.list"),
              sources_dir: Path = APT_SOURCES) -> set[str]:
    """Host names in every active apt source (deb822 `URIs:` and one-line `deb` entries)."""
    files = [sources_list] if sources_list.is_file() else []
    if sources_dir.is_dir():
        files += sorted(p for p in sources_dir.iterdir() if p.suffix in (".list", ".sources"))
    hosts: set[str] = set()
    for path in files:
        for line in path.read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if line.startswith("URIs:"):
                urls = line.split(":", 1)[1].split()
            elif line.startswith(("deb ", "deb-src ")):
                urls = [w for w in line.split()[1:] if "://" in w][:1]
            else:
                continue
            hosts.update(urlsplit(u).hostname or "" for u in urls)
    return {h for h in hosts if h}


def pip_hosts(configs: tuple[Path, ...] = PIP_CONFIGS, env: dict | None = None) -> set[str]:
    """Hosts of pip's configured index URLs, or of pip's built-in default index."""
    env = os.environ if env is None else env
    urls = [env[k] for k in ("PIP_INDEX_URL",) if env.get(k)]
    for path in configs:
        parser = configparser.ConfigParser()
        try:
            parser.read(path)
        except (OSError, configparser.Error):
            continue
        for section in ("global", "install"):
            if parser.has_option(section, "index-url"):
                urls.append(parser.get(section, "index-url"))
    hosts = {urlsplit(u).hostname for u in urls if urlsplit(u).scheme in ("http", "https")}
    hosts.discard(None)
    if not urls:
        from pip._internal.models.index import PyPI  # pip's own default, not a name of ours

        hosts = {urlsplit(PyPI.url).hostname, PyPI.file_storage_domain}
    return hosts


def allow_list() -> list[str]:
    return sorted(apt_hosts() | pip_hosts())


def render_filter(hosts: list[str]) -> str:
    """tinyproxy filter lines: exact host names as anchored extended regexes."""
    return "".join(f"^{re.escape(h)}$\n" for h in hosts)


def render_config(filter_file: Path, log_file: Path) -> str:
    """tinyproxy.conf: loopback only, deny anything not on the allow-list."""
    return f"""\
Port {config.PROXY_PORT}
Listen 127.0.0.1
Timeout 120
MaxClients 50
LogFile "{log_file}"
LogLevel Warning
Allow 127.0.0.1
Filter "{filter_file}"
FilterType ere
FilterURLs Off
FilterDefaultDeny Yes
ConnectPort 443
"""
