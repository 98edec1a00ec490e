"""``deployer status`` and ``deployer logs``: facts about a stage read in one round trip.

Status shows the current release, the app unit's state, the certificate expiry, free disk space
and the last audit entries; the health answer is fetched through nginx by the caller.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from deployer.layout import Layout
from deployer.ops import maintenance
from deployer.release import audit
from deployer.release.state import SEP, STATE_SECTIONS, HostState, parse_state, read_script

MAX_LOG_LINES = 10_000


@dataclass(frozen=True)
class StatusFacts:
    state: HostState
    unit_state: str  # systemctl is-active of the current release's unit
    cert_expiry: str  # notAfter of the site certificate, '' if none
    disk_free: str  # e.g. "11G free of 20G on /srv"
    recent: tuple[audit.AuditEntry, ...]
    maintenance: str = "off"  # "on" while the maintenance page is up
    warm: tuple[WarmRelease, ...] = ()


@dataclass(frozen=True)
class WarmRelease:
    """A retired release kept running without traffic until its window ends."""

    release_id: str
    memory: int  # bytes its instance uses now (0: unknown)
    until: str

    def describe(self) -> str:
        mib = f"{self.memory / 2**20:.0f} MiB" if self.memory else "memory unknown"
        return f"{self.release_id} until {self.until} ({mib}): a rollback to it is a switch"


def warm_script(layout: Layout) -> str:
    """One line per warm release: its timer, its instance's memory in bytes (systemd's count,
    or the RSS of its processes where memory is not accounted), its window's end."""
    prefix, suffix = layout.warm_prefix, layout.WARM_SUFFIX
    pattern = shlex.quote(f"{prefix}*{suffix}")
    return (
        f"for t in $(systemctl list-units --plain --no-legend --state=active {pattern} "
        f"| cut -d' ' -f1); do r=${{t#{prefix}}}; r=${{r%{suffix}}}; u={layout.app}@$r.service; "
        'm=$(systemctl show -p MemoryCurrent --value "$u"); case "$m" in ""|*[!0-9]*) '
        'p=$(systemctl show -p MainPID --value "$u"); m=0; [ "${p:-0}" -gt 0 ] && '
        "m=$(( $(ps -o rss= --ppid \"$p\" -p \"$p\" | awk '{s+=$1} END {print s+0}') * 1024 ));; "
        "esac; "
        'echo "$t $m $(systemctl show -p Description --value "$t" | awk \'{print $NF}\')"; done'
    )


def parse_warm(text: str, layout: Layout) -> tuple[WarmRelease, ...]:
    out = []
    for line in text.splitlines():
        fields = line.split()
        rid = layout.release_of_warm_timer(fields[0]) if len(fields) == 3 else ""
        if rid:
            memory = int(fields[1]) if fields[1].isdigit() else 0
            out.append(WarmRelease(rid, memory, fields[2]))
    return tuple(out)


def status_script(layout: Layout, domain: str, recent: int = 5) -> str:
    """Release state, then unit state of every running instance, cert expiry, disk, audit tail."""
    q = shlex.quote
    cert = q(f"/etc/letsencrypt/live/{domain}/cert.pem")
    parts = [
        f"( {read_script(layout)} )",
        current_unit_script(layout),
        f"openssl x509 -noout -enddate -in {cert} 2>/dev/null | cut -d= -f2",
        f"df -hP -- {q(str(layout.root))} 2>/dev/null | tail -n 1",
        f"tail -n {int(recent)} -- {q(str(layout.audit_log))} 2>/dev/null",
        maintenance.state_script(layout.app),
        warm_script(layout),
    ]
    return f"; echo {SEP}; ".join(parts) + "; true"


def current_unit_script(layout: Layout) -> str:
    """``<unit> loaded <active> <sub>`` for the release ``current`` names (``systemctl show``
    loads a unit systemd has not kept in memory: a stopped one reads "inactive dead")."""
    cur = shlex.quote(str(layout.current))
    return (
        f"c=$(readlink -- {cur} 2>/dev/null); c=${{c##*/}}; [ -z \"$c\" ] || "
        f'echo "{layout.app}@$c.service loaded $(systemctl show -p ActiveState --value '
        f'{layout.app}@$c.service) $(systemctl show -p SubState --value {layout.app}@$c.service)"'
    )


def parse_status(stdout: str, layout: Layout) -> StatusFacts:
    chunks = stdout.split(SEP + "\n")
    state = parse_state((SEP + "\n").join(chunks[:STATE_SECTIONS]), layout)
    units, cert, disk, recent, maint, warm = [*chunks[STATE_SECTIONS:], *[""] * 6][:6]
    cur = state.ledger.current()
    unit_state = "no release"
    if cur is not None:
        unit_state = "not loaded"
        for line in units.splitlines():
            fields = line.split()
            if fields and fields[0] == layout.unit(cur.id):
                unit_state = f"{fields[2]} ({fields[3]})" if len(fields) > 3 else line
    df = disk.split()
    disk_free = f"{df[3]} free of {df[1]} on {df[5]}" if len(df) >= 6 else "unknown"
    entries = tuple(audit.parse(recent))
    return StatusFacts(state, unit_state, cert.strip(), disk_free, entries, maint.strip() or "off",
                       parse_warm(warm, layout))  # fmt: skip


def logs_argv(layout: Layout, lines: int = 100, follow: bool = False) -> list[str]:
    """journalctl for every release instance of the app unit."""
    if not 1 <= lines <= MAX_LOG_LINES:
        raise ValueError(f"lines must be between 1 and {MAX_LOG_LINES}")
    argv = ["journalctl", "--no-pager", "-o", "short-iso", "-n", str(lines)]
    argv += ["-u", f"{layout.app}@*.service"]
    return [*argv, "-f"] if follow else argv
