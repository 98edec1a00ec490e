"""What a host serves: every app deployer set up on it, read in one round trip.

An app is there when nginx serves a site deployer wrote for it (its header names the domain and
the app); its releases come from the app's own ledger and its running instances from systemd.
Nothing is shared between apps but this read.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

SITE_HEADER = re.compile(
    r"^site # Managed by deployer: (?P<domain>\S+) -> (?P<app>[a-z][a-z0-9-]*)"
)


def apps_script() -> str:
    """Read-only, as root: one ``site`` line per enabled site, one ``ledger`` line per app, one
    ``unit`` line per running release instance."""
    return (
        'for f in /etc/nginx/sites-enabled/*.conf; do [ -f "$f" ] || continue; '
        'printf "site %s\\n" "$(head -n 1 "$f")"; done; '
        'for f in /srv/*/state/releases.json; do [ -f "$f" ] || continue; '
        'a=${f#/srv/}; printf "ledger %s %s\\n" "${a%%/*}" "$(tr -d "\\n" < "$f")"; done; '
        "systemctl list-units --plain --no-legend --state=active '*@*.service' 2>/dev/null "
        "| while read -r u _; do printf 'unit %s\\n' \"$u\"; done; true"
    )


@dataclass(frozen=True)
class ServedApp:
    name: str
    domain: str
    release: str = ""  # the current release id ('' if none recorded)
    version: str = ""
    running: tuple[str, ...] = ()  # active release instances (ids)


def parse_apps(out: str) -> list[ServedApp]:
    """The apps in ``apps_script``'s output, sorted by name."""
    sites: dict[str, str] = {}
    current: dict[str, tuple[str, str]] = {}
    running: dict[str, list[str]] = {}
    for line in out.splitlines():
        kind, _, rest = line.partition(" ")
        if kind == "site" and (m := SITE_HEADER.match(line)):
            sites[m["app"]] = m["domain"].rstrip(",")
        elif kind == "ledger":
            app, _, text = rest.partition(" ")
            try:
                releases = json.loads(text).get("releases", [])
            except ValueError:
                releases = []
            cur = next((r for r in releases if r.get("status") == "current"), {})
            current[app] = (cur.get("id", ""), cur.get("version", ""))
        elif kind == "unit" and "@" in rest:
            app, _, instance = rest.partition("@")
            running.setdefault(app, []).append(instance.removesuffix(".service"))
    return [
        ServedApp(app, domain, *current.get(app, ("", "")), tuple(sorted(running.get(app, []))))
        for app, domain in sorted(sites.items())
    ]
