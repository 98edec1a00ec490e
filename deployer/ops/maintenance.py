"""``deployer maintenance on|off``: nginx answers 503 with Retry-After and a page.

The site includes ``nginx-maintenance.conf`` (written by bootstrap): while the page file exists,
every public request gets 503 with that page, except the health and readiness paths. Switching
writes or removes the page only: no nginx reload, so no connection is closed. The page comes
from ``maintenance.html.j2`` (override it in your ``$DEPLOYER_TEMPLATES`` directory); the message
is HTML-escaped.
"""

from __future__ import annotations

import html
import shlex

from deployer.render import render

PAGE_DIR = "/var/www/deployer-maintenance"
RETRY_AFTER = 120  # seconds, in the Retry-After header
READY_PATH = "/ready"
DEFAULT_MESSAGE = "We are doing some maintenance and will be back shortly."


def include_path(app: str) -> str:
    return f"/etc/nginx/deployer/{app}-maintenance.conf"


def page_name(app: str) -> str:
    return f"{app}.html"


def page_uri(app: str) -> str:
    """The internal URI nginx serves the page under (never reachable from outside)."""
    return f"/.deployer-maintenance/{page_name(app)}"


def page_path(app: str) -> str:
    return f"{PAGE_DIR}/{page_name(app)}"


def exempt_paths(health_path: str) -> list[str]:
    """Paths that keep reaching the app during maintenance (health and readiness)."""
    return sorted({health_path, READY_PATH})


def include_conf(app: str, health_path: str, headers_include: str) -> str:
    return render(
        "nginx-maintenance.conf.j2",
        app=app,
        app_id=app.replace("-", "_"),
        page=page_path(app),
        page_uri=page_uri(app),
        exempt=exempt_paths(health_path),
        headers_include=headers_include,
        retry_after=RETRY_AFTER,
    )


def page_html(message: str) -> str:
    return render("maintenance.html.j2", message=html.escape(message or DEFAULT_MESSAGE))


def on_script(app: str, site_path: str) -> str:
    """Put the page (stdin) in place, refusing when the site lacks the include (bootstrapped by
    an older deployer: re-run bootstrap)."""
    from deployer.shell import write_file_script

    q = shlex.quote
    check = (
        f"grep -qF {q(include_path(app))} {q(site_path)} || "
        "{ echo 'this site has no maintenance include: re-run deployer bootstrap' >&2; exit 3; }"
    )
    write = write_file_script(page_path(app), "0644", "root", "root")
    return f"{check}; mkdir -p -m 0755 {q(PAGE_DIR)} && ( {write} )"


def off_script(app: str) -> str:
    return f"rm -f -- {shlex.quote(page_path(app))}"


def state_script(app: str) -> str:
    """Prints ``on`` or ``off``."""
    return f"if [ -e {shlex.quote(page_path(app))} ]; then echo on; else echo off; fi"
