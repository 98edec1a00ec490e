"""Nginx in front of the app, the certificate from the ACME server, and the host firewall."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import ClassVar

from deployer.engine import Change
from deployer.ops import maintenance
from deployer.release import switch
from deployer.render import render
from deployer.steps.base import Context, FileSpec, Step, WriteFile, file_changes, write_files
from deployer.target import Target

WEBROOT = "/var/www/deployer-acme"
TLS_INCLUDE = "/etc/nginx/deployer/tls.conf"
HEADERS_INCLUDE = "/etc/nginx/deployer/security-headers.conf"
ACME_CA = "/etc/deployer/acme-ca.pem"
# Installs a renewed certificate for nginx (no reload: the name is older than that).
HOOK = "/etc/letsencrypt/renewal-hooks/deploy/deployer-reload-nginx"
TLS_DIR = "/etc/nginx/deployer/tls"  # <domain>.pem: chain and key, read at each handshake
CERTBOT_DROPIN = "/etc/systemd/system/certbot.service.d/deployer-acme-ca.conf"
NFT_CONF = "/etc/nftables.conf"


def site_paths(app: str) -> tuple[str, str]:
    return f"/etc/nginx/sites-available/{app}.conf", f"/etc/nginx/sites-enabled/{app}.conf"


def tls_file(domain: str) -> str:
    return f"{TLS_DIR}/{domain}.pem"


def install_cert_script(domain: str) -> str:
    """Install the certificate certbot holds for *domain* where nginx reads it (the hook)."""
    lineage = shlex.quote(f"/etc/letsencrypt/live/{domain}")
    return f"RENEWED_LINEAGE={lineage} {shlex.quote(HOOK)}"


def nginx_files(target: Target, *, tls: bool) -> list[FileSpec]:
    """Site, TLS and header includes (the serving socket's link belongs to the release switch)."""
    app = target.app.name
    available, _ = site_paths(app)
    site = render(
        "nginx-site.conf.j2",
        app=app,
        app_id=app.replace("-", "_"),
        domain=target.domain,
        serving_socket=target.layout.serving_socket,
        webroot=WEBROOT,
        tls=tls,
        tls_include=TLS_INCLUDE,
        tls_file=tls_file(target.domain),
        headers_include=HEADERS_INCLUDE,
        max_body_size=target.app.max_body_size,
        maintenance_include=maintenance.include_path(app),
        lb_source=target.lb_source,
    )
    maintenance_conf = maintenance.include_conf(app, target.app.health_path, HEADERS_INCLUDE)
    return [
        FileSpec(TLS_INCLUDE, render("nginx-tls.conf.j2")),
        FileSpec(HEADERS_INCLUDE, render("nginx-security-headers.conf.j2")),
        FileSpec(maintenance.include_path(app), maintenance_conf),
        FileSpec(available, site),
    ]


def has_cert(ctx: Context) -> bool:
    return ctx.facts.get("cert") == "yes"


@dataclass(frozen=True)
class EnableSite(Change):
    kind: ClassVar[str] = "link"
    link: str
    to: str

    @property
    def summary(self) -> str:
        return f"enable site {self.link}"


@dataclass(frozen=True)
class DisableDefaultSite(Change):
    kind: ClassVar[str] = "unlink"
    link: str = "/etc/nginx/sites-enabled/default"

    @property
    def summary(self) -> str:
        return "disable default site"


@dataclass(frozen=True)
class StartNginx(Change):
    kind: ClassVar[str] = "service"

    @property
    def summary(self) -> str:
        return "start nginx"


class Nginx(Step):
    """Site, TLS and header includes; enabled, default site off, running."""

    name = "nginx"
    joins = True  # nginx itself may still be installing in the background

    def files(self, ctx: Context) -> list[FileSpec]:
        return nginx_files(ctx.target, tls=has_cert(ctx))

    def check(self, ctx: Context) -> list[Change]:
        changes: list[Change] = list(file_changes(ctx.facts, self.files(ctx)))
        available, enabled = site_paths(ctx.app)
        links = ctx.facts.links
        if links.get(enabled) != available:
            changes.append(EnableSite(enabled, available))
        if DisableDefaultSite.link in links:
            changes.append(DisableDefaultSite())
        if ctx.facts.get("nginx") != "active" and not changes:
            changes.append(StartNginx())
        return changes

    def apply(self, ctx: Context, changes: list[Change]) -> str:
        write_files(ctx, self.files(ctx), changes)
        cmds = []
        for c in changes:
            if isinstance(c, EnableSite):
                cmds.append(f"ln -sfn {shlex.quote(c.to)} {shlex.quote(c.link)}")
            elif isinstance(c, DisableDefaultSite):
                cmds.append(f"rm -f {shlex.quote(c.link)}")
        if cmds:
            ctx.remote.sh("set -e; " + "; ".join(cmds), what="enable site")
        switch.reload_nginx(ctx.remote)
        return ""


def certbot_argv(target: Target, *, force: bool) -> list[str]:
    """certbot certonly (webroot: no nginx reloads, no config edits), always with --server."""
    argv = ["env", f"REQUESTS_CA_BUNDLE={ACME_CA}"] if target.acme_ca else []
    argv += [
        "certbot", "certonly", "--webroot", "-w", WEBROOT,
        "-d", target.domain, "--cert-name", target.domain,
        "--server", target.acme_server,
        "--non-interactive", "--agree-tos", "--no-eff-email", "--key-type", "ecdsa",
    ]  # fmt: skip
    if target.acme_email:
        argv += ["-m", target.acme_email]
    else:
        argv.append("--register-unsafely-without-email")
    argv.append("--force-renewal" if force else "--keep-until-expiring")
    return argv


def certbot_files(target: Target) -> list[FileSpec]:
    files = [FileSpec(HOOK, render("certbot-deploy-hook.sh.j2", tls_dir=TLS_DIR), "0755")]
    if target.acme_ca:
        files.append(FileSpec(ACME_CA, target.acme_ca.read_text()))
        files.append(FileSpec(CERTBOT_DROPIN, render("certbot-env.conf.j2", acme_ca=ACME_CA)))
    return files


@dataclass(frozen=True)
class IssueCertificate(Change):
    kind: ClassVar[str] = "certificate"
    domain: str
    server: str
    force: bool = False  # re-issue: the one there came from another ACME server

    @property
    def summary(self) -> str:
        if self.force:
            return f"re-issue certificate from {self.server}"
        return f"issue certificate for {self.domain}"


@dataclass(frozen=True)
class InstallCertificate(Change):
    """The certificate certbot holds, installed where nginx reads it at each handshake."""

    kind: ClassVar[str] = "certificate"
    domain: str

    @property
    def summary(self) -> str:
        return f"install certificate for nginx in {TLS_DIR}"


def certificate_changes(facts, target: Target) -> list[Change]:
    if target.tls == "lb":
        return []
    changes: list[Change] = list(file_changes(facts, certbot_files(target)))
    if facts.get("cert") != "yes":
        changes.append(IssueCertificate(target.domain, target.acme_server))
    elif facts.get("cert_server") != target.acme_server:
        changes.append(IssueCertificate(target.domain, target.acme_server, force=True))
    elif facts.get("tls_file") != "yes" or changes:
        changes.append(InstallCertificate(target.domain))
    return changes


class Certbot(Step):
    """A certificate from the target's ACME directory, installed where nginx reads it at each
    handshake (renewals too, by certbot's deploy hook: no nginx reload)."""

    name = "certificate"

    def files(self, ctx: Context) -> list[FileSpec]:
        return certbot_files(ctx.target)

    def skipped(self, ctx: Context) -> str:
        return "skipped: TLS terminates at the load balancer" if ctx.target.tls == "lb" else ""

    def check(self, ctx: Context) -> list[Change]:
        return certificate_changes(ctx.facts, ctx.target)

    def apply(self, ctx: Context, changes: list[Change]) -> str:
        write_files(ctx, self.files(ctx), changes)
        if any(isinstance(c, WriteFile) and c.path == CERTBOT_DROPIN for c in changes):
            ctx.remote.run(["systemctl", "daemon-reload"], sudo=True)
        for c in changes:
            if isinstance(c, InstallCertificate):
                ctx.remote.sh(install_cert_script(c.domain), what="install certificate")
            if isinstance(c, IssueCertificate):
                argv = certbot_argv(ctx.target, force=c.force)
                ctx.remote.run(argv, sudo=True, what="certbot")
                # certbot runs deploy hooks on renewals only
                ctx.remote.sh(install_cert_script(c.domain), what="install certificate")
                site = nginx_files(ctx.target, tls=True)[-1]
                ctx.remote.write_file(site.path, site.data)
                switch.reload_nginx(ctx.remote)
        return ""


def firewall_ports(facts_ports: list[str], lb_source: str | None = None) -> list[int]:
    """Ports open to anyone: SSH, plus HTTP/HTTPS unless a load balancer is the only client."""
    ssh = {int(p) for p in facts_ports if p.isdigit()} or {22}
    return sorted(ssh if lb_source else ssh | {80, 443})


def nftables_file(ports: list[int], lb_source: str | None = None) -> FileSpec:
    family = "ip6" if lb_source and ":" in lb_source else "ip"
    text = render("nftables.conf.j2", ports=ports, lb_source=lb_source, lb_family=family)
    return FileSpec(NFT_CONF, text, "0755")


def firewall_file(facts, lb_source: str | None = None) -> FileSpec:
    """The host's nftables.conf (with a load balancer: HTTP from its range alone)."""
    return nftables_file(firewall_ports(facts.lines("sshd_ports"), lb_source), lb_source)


@dataclass(frozen=True)
class LoadFirewall(Change):
    kind: ClassVar[str] = "firewall"
    enable: bool = True  # also at boot (nftables.service)

    @property
    def summary(self) -> str:
        return "load nftables rules" + (" and enable nftables.service" if self.enable else "")


def firewall_skip(facts) -> str:
    """Why the firewall is left alone ('' if it is not): a container that may not change it."""
    virt = facts.get("virt")
    if "usable" not in facts.lines("firewall") and virt not in ("", "none"):
        return f"skipped: this {virt} container may not change its firewall"
    return ""


def firewall_changes(facts, lb_source: str | None = None) -> list[Change]:
    state = facts.lines("firewall")
    changes: list[Change] = list(file_changes(facts, [firewall_file(facts, lb_source)]))
    if changes or "loaded" not in state or "enabled" not in state:
        changes.append(LoadFirewall(enable="enabled" not in state))
    return changes


class Firewall(Step):
    """nftables: inbound SSH (the ports sshd listens on), HTTP and HTTPS only (with a load
    balancer: HTTP from its range alone)."""

    name = "firewall"

    def files(self, ctx: Context) -> list[FileSpec]:
        return [firewall_file(ctx.facts, ctx.target.lb_source)]

    def skipped(self, ctx: Context) -> str:
        if not ctx.target.firewall:
            return "skipped: --no-firewall"
        return firewall_skip(ctx.facts)

    def check(self, ctx: Context) -> list[Change]:
        return firewall_changes(ctx.facts, ctx.target.lb_source)

    def apply(self, ctx: Context, changes: list[Change]) -> str:
        write_files(ctx, self.files(ctx), changes)
        enable = any(isinstance(c, LoadFirewall) and c.enable for c in changes)
        ctx.remote.sh(
            f"nft -c -f {NFT_CONF} && nft -f {NFT_CONF}"
            + (" && systemctl enable --quiet nftables" if enable else ""),
            what="firewall",
        )
        return ""
