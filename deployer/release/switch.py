"""Start a release's instance, check it on its own port, move nginx to it, stop the old one.

Reusable by bootstrap and by deploy/rollback: each function does one thing over the given
connection, all commands built from validated names.
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from deployer.release.layout import Layout

if TYPE_CHECKING:
    from deployer.remote import Remote

HEALTH_TIMEOUT = 30


def upstream_path(app: str) -> str:
    return f"/etc/nginx/deployer/{app}-upstream.conf"


def upstream_conf(port: int) -> str:
    return f"server 127.0.0.1:{int(port)};\n"


def local_health_script(port: int, path: str, unit: str, timeout: int = HEALTH_TIMEOUT) -> str:
    """Poll http://127.0.0.1:PORT/PATH on the host until it answers 200 (python3 is there).

    Gives up early when *unit* has crashed (failed, or restarted by systemd): a release that
    cannot boot is known bad at once instead of after the whole timeout.
    """
    code = (
        "import subprocess,sys,time,urllib.request\n"
        f"url='http://127.0.0.1:{int(port)}'+sys.argv[1]; end=time.time()+{int(timeout)}; last=''\n"
        "def unit():\n"
        "    out=subprocess.run(['systemctl','show','-p','ActiveState,SubState,NRestarts',"
        "sys.argv[2]],capture_output=True,text=True).stdout\n"
        "    return dict(l.split('=',1) for l in out.splitlines() if '=' in l)\n"
        "def restarts(): return int(unit().get('NRestarts') or 0)\n"
        "first=restarts()\n"
        "def crashed():\n"
        "    u=unit()\n"
        "    return u.get('ActiveState')=='failed' or u.get('SubState')=='auto-restart' "
        "or int(u.get('NRestarts') or 0)>first\n"
        "while time.time()<end:\n"
        "    try:\n"
        "        r=urllib.request.urlopen(url,timeout=3)\n"
        "        if r.status==200: print(r.read(200).decode(errors='replace')); sys.exit(0)\n"
        "        last=str(r.status)\n"
        "    except Exception as e: last=str(e)\n"
        "    if crashed(): print('not healthy: the unit crashed', file=sys.stderr); sys.exit(1)\n"
        "    time.sleep(0.2)\n"
        "print('not healthy: '+last, file=sys.stderr); sys.exit(1)\n"
    )
    return f"python3 -c {shlex.quote(code)} {shlex.quote(path)} {shlex.quote(unit)}"


def start_instance(
    remote: Remote, layout: Layout, release_id: str, *, restart: bool = False
) -> None:
    unit = layout.unit(release_id)
    verb = "restart" if restart else "start"
    remote.sh(
        f"systemctl enable --quiet {shlex.quote(unit)} && systemctl {verb} {shlex.quote(unit)}",
        what=f"{verb} {unit}",
    )


def wait_healthy(remote: Remote, layout: Layout, release_id: str, port: int, path: str) -> str:
    """Wait for the instance to answer on its port; on failure include the unit's journal."""
    from deployer.remote import CommandError

    unit = layout.unit(release_id)
    try:
        return remote.run(["sh", "-c", local_health_script(port, path, unit)], what="health").stdout
    except CommandError as exc:
        logs = remote.sh(
            f"journalctl -u {shlex.quote(unit)} -n 30 --no-pager -o cat", check=False
        ).stdout
        raise CommandError(
            f"health check of {unit} on port {port}", exc.code, f"{exc.stderr}\n{logs}"
        ) from None


def switch_upstream(remote: Remote, app: str, port: int) -> None:
    """Point nginx at *port* and reload gracefully (config tested first)."""
    remote.write_file(upstream_path(app), upstream_conf(port).encode())
    reload_nginx(remote)


def reload_nginx(remote: Remote) -> None:
    remote.sh(
        "nginx -t -q && if systemctl is-active --quiet nginx; then systemctl reload nginx; "
        "else systemctl start nginx; fi",
        what="reload nginx",
    )


def stop_argv(units: list[str], *, wait: bool = True) -> list[str]:
    """Disable and stop app units; without *wait*, systemd finishes the graceful stop alone."""
    return ["systemctl", "disable", "--quiet", "--now", *([] if wait else ["--no-block"]), *units]


def stop_instances(remote: Remote, units: list[str], *, wait: bool = True) -> None:
    """Stop and disable the given app units (after traffic left them)."""
    if units:
        remote.sh(shlex.join(stop_argv(units, wait=wait)), what="stop old instances")


def set_current(remote: Remote, layout: Layout, release_id: str) -> None:
    """Atomically point ``current`` at the release (for humans and tools; units use real paths)."""
    rel = shlex.quote(str(layout.release(release_id)))
    cur = shlex.quote(str(layout.current))
    remote.sh(f"ln -sfn {rel} {cur}.tmp && mv -T {cur}.tmp {cur}", what="update current")
