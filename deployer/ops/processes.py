"""Process roles beside the web process (``processes = { worker = "python -m app.worker" }``).

Each role is a systemd template unit ``<app>-<role>@.service``, one instance per release, made
from the web unit itself (same user, environment, release directory and hardening; only the
command differs), so there is one definition of the hardening. A deploy or rollback starts the
roles of the release it makes current once traffic is on it, then stops (drains: SIGTERM, up to
the unit's stop timeout) those of the release before.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping

from deployer.layout import Layout
from deployer.names import check_release_id, check_role


def unit_name(app: str, role: str) -> str:
    return f"{app}-{role}@.service"


def unit_path(app: str, role: str) -> str:
    return f"/etc/systemd/system/{unit_name(app, role)}"


def instance(app: str, role: str, release_id: str) -> str:
    return f"{app}-{role}@{check_release_id(release_id)}.service"


def header(app: str, role: str) -> str:
    """The first line of a role's unit file (how ``ops.retire`` knows the file is ours)."""
    return f"# Managed by deployer: the {role} process of {app}, one instance per release."


def role_unit(web_unit: str, app: str, role: str, command: str) -> str:
    """The web unit's text with the role's description and command (run through env, so the
    release's venv, first on its PATH, provides it); no reload (gunicorn's HUP) and no socket."""
    check_role(role, command)
    releases = str(Layout(app).releases)
    out = [header(app, role)]
    for line in web_unit.splitlines():
        if line.startswith(("#", "ExecReload=", "RuntimeDirectory")):  # the socket is web's
            continue
        if line.startswith("Description="):
            line = f"Description={app} {role} (release %i)"
        elif line.startswith("ExecStart="):
            out += [
                f"Environment=PATH={releases}/%i/venv/bin:/usr/local/bin:/usr/bin:/bin",
                f"Environment=VIRTUAL_ENV={releases}/%i/venv",
            ]
            line = f"ExecStart=/usr/bin/env -- {command}"
        out.append(line)
    text = "\n".join(out) + "\n"
    if f"ExecStart=/usr/bin/env -- {command}" not in text:
        raise ValueError("the web unit has no ExecStart line to replace")
    return text


def move_script(layout: Layout, roles: Mapping[str, str], release_id: str) -> str:
    """Start every role's instance of *release_id*, then stop and disable that role's other
    instances (older releases). Only configured roles are touched: a name like
    ``<app>-<x>@`` may be another app's unit."""
    q = shlex.quote
    app = layout.app
    new = [instance(app, role, release_id) for role in sorted(roles)]
    patterns = " ".join(q(f"{app}-{role}@*.service") for role in sorted(roles))
    listing = f"systemctl list-units --plain --no-legend --all {patterns} | cut -d' ' -f1"
    return (
        f"( systemctl enable --now --quiet {' '.join(new)}; rc=$?; "
        f"old=''; for u in $({listing}); do case ' {' '.join(new)} ' in *\" $u \"*) ;; "
        '*) old="$old $u";; esac; done; '
        '[ -z "$old" ] || systemctl disable --now --quiet $old; exit $rc )'
    )
