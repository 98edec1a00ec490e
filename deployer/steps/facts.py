"""Read everything bootstrap needs to know about a host in one round trip.

``facts_script`` builds one read-only shell script from named probes; its output is a series of
``@@name`` sections that ``parse_facts`` turns back into a dict. Every path and name in the
script is shell-quoted, though all of them were validated by the Target already.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from deployer.layout import Layout
from deployer.shell import q, qs

MARK = "@@"


@dataclass(frozen=True)
class Facts:
    """Parsed probe output: raw sections plus typed helpers."""

    raw: dict[str, str] = field(default_factory=dict)

    def get(self, key: str) -> str:
        return self.raw.get(key, "").strip()

    def lines(self, key: str) -> list[str]:
        return [ln for ln in self.raw.get(key, "").splitlines() if ln.strip()]

    @property
    def hashes(self) -> dict[str, str]:
        """path -> sha256 of every managed file that exists."""
        out = {}
        for line in self.lines("sha"):
            digest, _, path = line.partition("  ")
            out[path] = digest
        return out

    @property
    def stats(self) -> dict[str, tuple[str, str, str]]:
        """path -> (mode, owner, group) of managed directories/files that exist."""
        out = {}
        for line in self.lines("stat"):
            path, mode, owner, group = line.rsplit("|", 3)
            out[path] = (mode, owner, group)
        return out

    @property
    def links(self) -> dict[str, str]:
        """symlink path -> its target ('' if the path is not a symlink)."""
        out = {}
        for line in self.lines("links"):
            path, _, dest = line.partition(">")
            out[path] = dest
        return out

    @property
    def packages(self) -> set[str]:
        """Installed packages among those asked for."""
        pairs = [ln.split("=", 1) for ln in self.lines("packages") if "=" in ln]
        return {name for name, status in pairs if status.startswith("ii")}

    def kv(self, key: str) -> dict[str, str]:
        """A section of ``KEY=VALUE`` lines as a dict."""
        return dict(ln.split("=", 1) for ln in self.lines(key) if "=" in ln)


def probe_lines(probes: Iterable[tuple[str, str]]) -> str:
    parts = ["exec 2>/dev/null"]
    for name, snippet in probes:
        parts.append(f"echo {MARK}{name}")
        parts.append(f"{{ {snippet}\n}} || true")
    return "\n".join(parts) + "\n"


def parse_facts(output: str) -> Facts:
    raw: dict[str, str] = {}
    current = None
    for line in output.splitlines():
        if line.startswith(MARK):
            current = line[len(MARK) :]
            raw[current] = ""
        elif current is not None:
            raw[current] += line + "\n"
    return Facts(raw)


def host_probes(
    *,
    app: str,
    domain: str,
    packages: list[str],
    files: list[str],
    stat_paths: list[str],
    links: list[str],
) -> list[tuple[str, str]]:
    """The probes bootstrap reads: packages, user, files, links, the current release, enabled
    units, cert, busy (the release state, running units included, is ``state.read_script``)."""
    cur = str(Layout(app).current)
    return [
        ("os", ". /etc/os-release; echo \"$ID $VERSION_CODENAME\""),
        (
            "busy",
            "for f in /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock; do "
            "i=$(stat -c %i \"$f\") && grep -q \":$i \" /proc/locks && echo dpkg; done; "
            "command -v cloud-init >/dev/null && cloud-init status | grep -q running && echo "
            "cloud-init",
        ),
        ("packages", f"dpkg-query -W -f='${{Package}}=${{db:Status-Abbrev}}\\n' {qs(packages)}"),
        ("user", f"getent passwd {q(app)} | cut -d: -f1,6,7"),
        ("stat", f"stat -c '%n|%a|%U|%G' {qs(stat_paths)}"),
        ("sha", f"sha256sum {qs(files)}"),
        (
            "links",
            f'for l in {qs(links)}; do [ -L "$l" ] && echo "$l>$(readlink "$l")"; done',
        ),
        ("current_sha", f"cat {q(cur)}/.artifact-sha256"),
        ("current_installed", f"test -f {q(cur)}/.installed && echo yes"),
        ("current_migrated", f"test -f {q(cur)}/.migrated && echo yes"),
        ("current_env", f"cat {q(cur)}/release.env"),
        (
            "unit_enabled",
            f"ls /etc/systemd/system/multi-user.target.wants/ | grep {q('^' + app + '@')}",
        ),
        ("nginx", "systemctl is-active nginx"),
        ("cert", f"test -f /etc/letsencrypt/live/{q(domain)}/fullchain.pem && echo yes"),
        ("tls_file", f"test -f /etc/nginx/deployer/tls/{q(domain)}.pem && echo yes"),
        ("cert_server", f"sed -n 's/^server = //p' /etc/letsencrypt/renewal/{q(domain)}.conf"),
        (
            "firewall",
            "nft list tables >/dev/null && echo usable; nft list table inet filter >/dev/null "
            "&& echo loaded; systemctl is-enabled nftables",
        ),
        ("virt", "systemd-detect-virt --container"),
        ("sshd_ports", "sshd -T | awk '/^port /{print $2}'"),
    ]
