"""The hardened systemd template unit ``<app>@.service`` that runs every release's web process
(bootstrap writes it; process roles are made from its text)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from deployer.render import render

if TYPE_CHECKING:
    from deployer.target import Target

LOCAL_ONLY = ("IPAddressDeny=any", "IPAddressAllow=localhost")


def unit_path(app: str) -> str:
    return f"/etc/systemd/system/{app}@.service"


def web_unit(target: Target) -> str:
    """The unit's text for *target* (release directory, environment, data dir, hardening)."""
    app = target.app.name
    return render(
        "app@.service.j2",
        app=app,
        user=app,
        releases=target.layout.releases,
        socket=target.layout.socket(),
        runtime_directory=target.layout.runtime_directory(),
        env_file=target.layout.env_file,
        data_dir=target.layout.data,
        asgi=target.app.asgi,
        gunicorn_config=target.app.gunicorn_config(),
        ip_policy=LOCAL_ONLY if target.app.local_network_only else (),
    )
