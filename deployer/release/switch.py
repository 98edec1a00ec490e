"""Start a release's instance, check it on its own socket, move traffic to it, retire the old.

Every release's instance listens on its own unix socket (``Layout.socket``); nginx connects,
for each request, through one symlink (``Layout.serving_socket``). Switching traffic is an
atomic rename of that symlink: nginx is not reloaded, so no client connection is closed. A
retired instance is either kept warm for a bounded time (a rollback inside that window is a
switch, not a boot) or drained (its accept queue emptied) and stopped.

Reusable by bootstrap and by deploy/rollback: each function does one thing over the given
connection, all commands built from validated names.
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from deployer.layout import Layout
from deployer.names import DRAIN_TIMEOUT

if TYPE_CHECKING:
    from deployer.remote import Remote

HEALTH_TIMEOUT = 30


def local_health_script(
    sock: str, paths: tuple[str, ...], unit: str, timeout: int = HEALTH_TIMEOUT
) -> str:
    """Poll GET of each of *paths* in turn (health, then readiness) on the unix socket *sock*
    on the host until it answers 200 (python3 is there); prints the first path's answer. The
    socket is the release's own: the answer proves it came from that release.

    Polls every 50 ms (traffic waits on this); gives up early when *unit* has crashed (failed,
    or restarted by systemd since the first miss; looked at every 250 ms): a release that cannot
    boot is known bad at once instead of after the whole timeout. A running instance that
    answers at once costs no systemctl call.
    """
    code = (
        "import http.client,socket,subprocess,sys,time\n"
        f"end=time.time()+{int(timeout)}; last=''\n"
        "class C(http.client.HTTPConnection):\n"
        "    def connect(self):\n"
        "        self.sock=socket.socket(socket.AF_UNIX); self.sock.settimeout(3)\n"
        "        self.sock.connect(sys.argv[1])\n"
        "def get(path):\n"
        "    c=C('localhost',timeout=3); c.request('GET',path); r=c.getresponse()\n"
        "    body=r.read(200).decode(errors='replace'); c.close(); return r.status,body\n"
        "def unit():\n"
        "    out=subprocess.run(['systemctl','show','-p','ActiveState,SubState,NRestarts',"
        "sys.argv[2]],capture_output=True,text=True).stdout\n"
        "    return dict(l.split('=',1) for l in out.splitlines() if '=' in l)\n"
        "first=None; check=0\n"
        "def crashed():\n"
        "    global first\n"
        "    u=unit(); n=int(u.get('NRestarts') or 0); first=n if first is None else first\n"
        "    return u.get('ActiveState')=='failed' or u.get('SubState')=='auto-restart' "
        "or n>first\n"
        "paths=sys.argv[3:]; shown=''\n"
        "while time.time()<end:\n"
        "    try:\n"
        "        status,body=get(paths[0])\n"
        "        if status==200:\n"
        "            shown=shown or body; paths.pop(0)\n"
        "            if not paths: print(shown); sys.exit(0)\n"
        "            continue\n"
        "        last=paths[0]+' '+str(status)\n"
        "    except Exception as e: last=str(e)\n"
        "    if time.time()>=check:\n"
        "        if crashed(): sys.exit('not healthy: the unit crashed')\n"
        "        check=time.time()+0.25\n"
        "    time.sleep(0.05)\n"
        "print('not healthy: '+last, file=sys.stderr); sys.exit(1)\n"
    )
    args = " ".join(shlex.quote(a) for a in (sock, unit, *paths))
    return f"python3 -c {shlex.quote(code)} {args}"


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


def wait_healthy(
    remote: Remote, layout: Layout, release_id: str, paths: tuple[str, ...]
) -> str:
    """Wait for the instance to answer each of *paths* on its socket, in one round trip; on
    failure include the unit's journal."""
    from deployer.remote import CommandError

    unit = layout.unit(release_id)
    script = local_health_script(str(layout.socket(release_id)), paths, unit)
    try:
        return remote.run(["sh", "-c", script], what="health").stdout
    except CommandError as exc:
        logs = remote.sh(
            # --sync: the crash may be seen before journald has stored the unit's last output.
            f"journalctl --sync; journalctl -u {shlex.quote(unit)} -n 60 --no-pager -o cat",
            check=False,
        ).stdout
        raise CommandError(
            f"health check of {unit} on {layout.socket(release_id)}",
            exc.code,
            f"{exc.stderr}\n{logs}",
        ) from None


def link_script(link: str, to: str) -> str:
    """Point the symlink *link* at *to*: a new link renamed over the old one (atomic: every
    connect after it reaches *to*, none fails in between). Prints the previous target."""
    q = shlex.quote
    return (
        f"set -e; l={q(link)}; mkdir -p -m 0755 \"$(dirname \"$l\")\"; "
        'readlink -- "$l" || true; '
        f'ln -sfn {q(to)} "$l.new"; mv -fT "$l.new" "$l"'
    )


def switch_script(layout: Layout, release_id: str) -> str:
    """Point the serving symlink at *release_id*'s socket (``link_script``)."""
    return link_script(str(layout.serving_socket), str(layout.socket(release_id)))


def gated_script(sock: str, paths: tuple[str, ...], unit: str, then: str) -> str:
    """*then* only once the release on *sock* answers *paths* (``local_health_script``)."""
    return f"{local_health_script(sock, paths, unit)} >/dev/null || exit 1; {then}"


def switch_traffic(
    remote: Remote, layout: Layout, release_id: str, *, gate: tuple[str, ...] = ()
) -> str:
    """Move traffic to *release_id* (``switch_script``); with *gate* (health paths), only once
    the release answers them, asked in the same round trip. Returns the release that served
    before ('' if none)."""
    script = switch_script(layout, release_id)
    if gate:
        sock = str(layout.socket(release_id))
        script = gated_script(sock, gate, layout.unit(release_id), script)
    out = remote.sh(script, what="switch traffic").stdout.split()
    return layout.release_of_socket(out[-1]) if out else ""


RELOAD_NGINX = (
    "if systemctl is-active --quiet nginx; then systemctl reload nginx; "
    "else systemctl start nginx; fi"
)


def reload_nginx(remote: Remote) -> None:
    """Test nginx's configuration and reload it (site changes only; never a release switch)."""
    remote.sh(f"nginx -t -q && {RELOAD_NGINX}", what="reload nginx")


def drain_script(sockets: list[str], timeout: int = DRAIN_TIMEOUT) -> str:
    """Wait (at most *timeout*) until no connection waits in the accept queue of any of
    *sockets*: after the switch no new one arrives there, and the ones nginx opened just before
    must be accepted before the instance stops listening. In-flight requests are gunicorn's
    graceful stop to finish. At least 0.1 s (a connect racing the rename); ``ss`` (iproute2)
    reads the queues, without it a fixed second is waited."""
    if not sockets:
        return "true"
    srcs = " ".join(shlex.quote(s) for s in sockets)
    return (
        "sleep 0.1; if command -v ss >/dev/null; then i=0; "
        f"while [ $i -lt {int(timeout) * 20} ]; do n=0; for s in {srcs}; do "
        "q=$(ss -xlnH src \"$s\" 2>/dev/null | awk '{n+=$3} END {print n+0}'); "
        "n=$((n + q)); done; [ $n = 0 ] && break; sleep 0.05; i=$((i+1)); done; "
        "else sleep 1; fi"
    )


def stop_argv(units: list[str], *, wait: bool = True) -> list[str]:
    """Disable and stop app units; without *wait*, systemd finishes the graceful stop alone."""
    nowait = [] if wait else ["--no-block", "--no-reload"]  # no unit file changed: no reload
    return ["systemctl", "disable", "--quiet", "--now", *nowait, *units]


def stop_instances(
    remote: Remote, units: list[str], *, wait: bool = True, before: str = ""
) -> None:
    """Stop and disable the given app units (after traffic left them); *before* (a script)
    runs first in the same round trip."""
    stop = shlex.join(stop_argv(units, wait=wait)) if units else ""
    script = "; ".join(part for part in (before, stop) if part)
    if script:
        remote.sh(script, what="stop old instances")


# -- the warm window: a retired release kept running, without traffic, for a bounded time ------
def keep_warm_script(layout: Layout, release_id: str, seconds: int, until: str) -> str:
    """Keep *release_id*'s running instance for *seconds* more (not at boot: disabled), then
    stop it (a transient timer; its description carries *until*, for ``status``; starting
    its service ends the window now)."""
    q = shlex.quote
    unit, timer = layout.unit(release_id), layout.warm_timer(release_id)
    return (
        f"systemctl disable --quiet --no-reload {q(unit)}; "
        f"systemctl stop {q(timer)} 2>/dev/null; "
        f"systemd-run --quiet --collect --unit={q(timer.removesuffix('.timer'))} "
        f"--description={q(f'keep {release_id} warm until {until}')} "
        f"--on-active={int(seconds)} --timer-property=AccuracySec=1s "
        f"systemctl stop --no-block {q(unit)} {q(timer)}"
    )  # the timer too: starting its service by hand ends the window at once


def unwarm_script(layout: Layout, release_ids: list[str]) -> str:
    """End the warm window of *release_ids* (their instances then live on as units do)."""
    timers = " ".join(shlex.quote(layout.warm_timer(r)) for r in release_ids)
    return f"systemctl stop {timers} 2>/dev/null || true" if release_ids else "true"


def set_current_script(layout: Layout, release_id: str) -> str:
    rel = shlex.quote(str(layout.release(release_id)))
    cur = shlex.quote(str(layout.current))
    return f"ln -sfn {rel} {cur}.tmp && mv -T {cur}.tmp {cur}"
