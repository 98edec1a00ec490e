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


def status_script(layout: Layout, domain: str, recent: int = 5) -> str:
    """Release state, then unit state of every running instance, cert expiry, disk, audit tail."""
    q = shlex.quote
    cert = q(f"/etc/letsencrypt/live/{domain}/cert.pem")
    parts = [
        f"( {read_script(layout)} )",
        f"systemctl list-units --plain --no-legend --all {q(layout.app + '@*.service')}",
        f"openssl x509 -noout -enddate -in {cert} 2>/dev/null | cut -d= -f2",
        f"df -hP -- {q(str(layout.root))} 2>/dev/null | tail -n 1",
        f"tail -n {int(recent)} -- {q(str(layout.audit_log))} 2>/dev/null",
        maintenance.state_script(layout.app),
    ]
    return f"; echo {SEP}; ".join(parts) + "; true"


def parse_status(stdout: str, layout: Layout) -> StatusFacts:
    chunks = stdout.split(SEP + "\n")
    state = parse_state((SEP + "\n").join(chunks[:STATE_SECTIONS]))
    units, cert, disk, recent, maint = [*chunks[STATE_SECTIONS:], "", "", "", "", ""][:5]
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
    return StatusFacts(state, unit_state, cert.strip(), disk_free, entries, maint.strip() or "off")


def logs_argv(layout: Layout, lines: int = 100, follow: bool = False) -> list[str]:
    """journalctl for every release instance of the app unit."""
    if not 1 <= lines <= MAX_LOG_LINES:
        raise ValueError(f"lines must be between 1 and {MAX_LOG_LINES}")
    argv = ["journalctl", "--no-pager", "-o", "short-iso", "-n", str(lines)]
    argv += ["-u", f"{layout.app}@*.service"]
    return [*argv, "-f"] if follow else argv
