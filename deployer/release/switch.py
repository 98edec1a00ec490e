"""Start a release's instance, check it on its own port, move nginx to it, stop the old one.

Reusable by bootstrap and by deploy/rollback: each function does one thing over the given
connection, all commands built from validated names.
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from deployer.layout import Layout

if TYPE_CHECKING:
    from deployer.remote import Remote

HEALTH_TIMEOUT = 30


def upstream_path(app: str) -> str:
    return f"/etc/nginx/deployer/{app}-upstream.conf"


def upstream_conf(port: int) -> str:
    return f"server 127.0.0.1:{int(port)};\n"


def local_health_script(port: int, path: str, unit: str, timeout: int = HEALTH_TIMEOUT) -> str:
    """Poll http://127.0.0.1:PORT/PATH on the host until it answers 200 (python3 is there).

    Polls every 50 ms (traffic waits on this); gives up early when *unit* has crashed (failed,
    or restarted by systemd; looked at every 250 ms): a release that cannot boot is known bad at
    once instead of after the whole timeout.
    """
    code = (
        "import subprocess,sys,time,urllib.request\n"
        f"url='http://127.0.0.1:{int(port)}'+sys.argv[1]; end=time.time()+{int(timeout)}; last=''\n"
        "def unit():\n"
        "    out=subprocess.run(['systemctl','show','-p','ActiveState,SubState,NRestarts',"
        "sys.argv[2]],capture_output=True,text=True).stdout\n"
        "    return dict(l.split('=',1) for l in out.splitlines() if '=' in l)\n"
        "def restarts(): return int(unit().get('NRestarts') or 0)\n"
        "first=restarts(); check=0\n"
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
        "    if time.time()>=check:\n"
        "        if crashed(): sys.exit('not healthy: the unit crashed')\n"
        "        check=time.time()+0.25\n"
        "    time.sleep(0.05)\n"
        "print('not healthy: '+last, file=sys.stderr); sys.exit(1)\n"
    )
    return f"python3 -c {shlex.quote(code)} {shlex.quote(path)} {shlex.quote(unit)}"


def start_script(
    unit: str, *, restart: bool = False, env_path: str = "", reload: bool = True
) -> str:
    """Enable and (re)start *unit*; with *env_path*, first replace that file with stdin.

    Without *reload*, enabling only writes the boot-time symlink and skips systemd's daemon
    reload (0.1-0.3 s on the way to the health check): the caller must reload later."""
    from deployer.shell import write_file_script

    q = shlex.quote
    verb = "restart" if restart else "start"
    no_reload = "" if reload else " --no-reload"
    script = f"systemctl enable --quiet{no_reload} {q(unit)} && systemctl {verb} {q(unit)}"
    if env_path:
        script = f"( {write_file_script(env_path, '0644', 'root', 'root')} ) && {script}"
    return script


def start_instance(
    remote: Remote,
    layout: Layout,
    release_id: str,
    *,
    restart: bool = False,
    env: str = "",
    reload: bool = True,
) -> None:
    """Start the release's unit, in one round trip with rewriting its release.env if *env*
    (*reload*: see ``start_script``)."""
    unit = layout.unit(release_id)
    env_path = f"{layout.release(release_id)}/release.env" if env else ""
    remote.sh(
        start_script(unit, restart=restart, env_path=env_path, reload=reload),
        stdin=env.encode() if env else None,
        what=f"{'restart' if restart else 'start'} {unit}",
    )


def wait_healthy(remote: Remote, layout: Layout, release_id: str, port: int, path: str) -> str:
    """Wait for the instance to answer on its port; on failure include the unit's journal."""
    from deployer.remote import CommandError

    unit = layout.unit(release_id)
    try:
        return remote.run(["sh", "-c", local_health_script(port, path, unit)], what="health").stdout
    except CommandError as exc:
        logs = remote.sh(
            # --sync: the crash may be seen before journald has stored the unit's last output.
            f"journalctl --sync; journalctl -u {shlex.quote(unit)} -n 60 --no-pager -o cat",
            check=False,
        ).stdout
        raise CommandError(
            f"health check of {unit} on port {port}", exc.code, f"{exc.stderr}\n{logs}"
        ) from None


RELOAD_NGINX = (
    "if systemctl is-active --quiet nginx; then systemctl reload nginx; "
    "else systemctl start nginx; fi"
)


def switch_script(path: str, port: int) -> str:
    """Replace the upstream file *path* (atomic rename: nginx includes it by its exact path),
    test the config, and on failure put the old content back (atomic rename again) before
    failing; else reload nginx gracefully. Temp files sit beside it, never named ``*.conf``."""
    f = shlex.quote(path)
    line = shlex.quote(upstream_conf(port).rstrip("\n"))
    return (
        f"set -e; f={f}; d=$(dirname \"$f\"); mkdir -p \"$d\"; "
        'new=$(mktemp "$d/.deployer-new.XXXXXX"); old=$(mktemp "$d/.deployer-old.XXXXXX"); '
        'trap \'rm -f "$new" "$old"\' EXIT; '
        f'printf "%s\\n" {line} > "$new"; chmod 0644 "$new"; '
        'had=0; if [ -e "$f" ]; then cp -p "$f" "$old"; had=1; fi; '
        'mv -f "$new" "$f"; '
        "if ! nginx -t -q; then "
        'if [ $had = 1 ]; then mv -f "$old" "$f"; else rm -f "$f"; fi; '
        "echo 'nginx -t failed: upstream left as it was' >&2; exit 1; fi; "
        f"{RELOAD_NGINX}"
    )


def switch_upstream(remote: Remote, app: str, port: int, *, before: str = "") -> str:
    """Point nginx at *port* and reload gracefully, in one round trip; the config is tested
    first and the old upstream kept on failure. *before* (a script) runs first, same trip."""
    script = switch_script(upstream_path(app), port)
    if before:
        script = f"{before}; {script}"
    return remote.sh(script, what="switch nginx upstream").stdout


def reload_nginx(remote: Remote) -> None:
    remote.sh(f"nginx -t -q && {RELOAD_NGINX}", what="reload nginx")


def stop_argv(units: list[str], *, wait: bool = True) -> list[str]:
    """Disable and stop app units; without *wait*, systemd finishes the graceful stop alone."""
    return ["systemctl", "disable", "--quiet", "--now", *([] if wait else ["--no-block"]), *units]


def stop_instances(
    remote: Remote, units: list[str], *, wait: bool = True, before: str = ""
) -> None:
    """Stop and disable the given app units (after traffic left them); *before* (a script)
    runs first in the same round trip."""
    stop = shlex.join(stop_argv(units, wait=wait)) if units else ""
    script = "; ".join(part for part in (before, stop) if part)
    if script:
        remote.sh(script, what="stop old instances")


def set_current_script(layout: Layout, release_id: str) -> str:
    rel = shlex.quote(str(layout.release(release_id)))
    cur = shlex.quote(str(layout.current))
    return f"ln -sfn {rel} {cur}.tmp && mv -T {cur}.tmp {cur}"


def set_current(remote: Remote, layout: Layout, release_id: str) -> None:
    """Atomically point ``current`` at the release (for humans and tools; units use real paths)."""
    remote.sh(set_current_script(layout, release_id), what="update current")
