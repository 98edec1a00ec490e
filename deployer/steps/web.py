"""Nginx in front of the app, the certificate from the ACME server, and the host firewall."""

from __future__ import annotations

import shlex

from deployer.release import switch
from deployer.steps.base import (
    Change,
    Context,
    FileSpec,
    Step,
    file_changes,
    write_files,
)
from deployer.steps.render import render
from deployer.target import Target

WEBROOT = "/var/www/deployer-acme"
TLS_INCLUDE = "/etc/nginx/deployer/tls.conf"
HEADERS_INCLUDE = "/etc/nginx/deployer/security-headers.conf"
ACME_CA = "/etc/deployer/acme-ca.pem"
HOOK = "/etc/letsencrypt/renewal-hooks/deploy/deployer-reload-nginx"
CERTBOT_DROPIN = "/etc/systemd/system/certbot.service.d/deployer-acme-ca.conf"
NFT_CONF = "/etc/nftables.conf"


def site_paths(app: str) -> tuple[str, str]:
    return f"/etc/nginx/sites-available/{app}.conf", f"/etc/nginx/sites-enabled/{app}.conf"


def nginx_files(target: Target, *, port: int, tls: bool) -> list[FileSpec]:
    app = target.app.name
    available, _ = site_paths(app)
    site = render(
        "nginx-site.conf.j2",
        app=app,
        app_id=app.replace("-", "_"),
        domain=target.domain,
        upstream_file=switch.upstream_path(app),
        webroot=WEBROOT,
        tls=tls,
        tls_include=TLS_INCLUDE,
        headers_include=HEADERS_INCLUDE,
        max_body_size=target.app.max_body_size,
    )
    return [
        FileSpec(TLS_INCLUDE, render("nginx-tls.conf.j2")),
        FileSpec(HEADERS_INCLUDE, render("nginx-security-headers.conf.j2")),
        FileSpec(switch.upstream_path(app), switch.upstream_conf(port)),
        FileSpec(available, site),
    ]


def has_cert(ctx: Context) -> bool:
    return ctx.facts.get("cert") == "yes"


class Nginx(Step):
    """Site, TLS and header includes, upstream file; enabled, default site off, running."""

    name = "nginx"

    def files(self, ctx: Context) -> list[FileSpec]:
        return nginx_files(ctx.target, port=ctx.port, tls=ctx.tls)

    def check(self, ctx: Context) -> list[Change]:
        if ctx.join():
            self.detail = "waited for packages"
        ctx.tls = has_cert(ctx)
        changes = file_changes(ctx.facts, self.files(ctx))
        available, enabled = site_paths(ctx.app)
        links = ctx.facts.links
        if links.get(enabled) != available:
            changes.append(Change(f"enable site {enabled}"))
        if "/etc/nginx/sites-enabled/default" in links:
            changes.append(Change("disable default site"))
        if ctx.facts.get("nginx") != "active" and not changes:
            changes.append(Change("start nginx"))
        return changes

    def apply(self, ctx: Context, changes: list[Change]) -> str:
        write_files(ctx, self.files(ctx), changes)
        available, enabled = site_paths(ctx.app)
        cmds = []
        if any(c.summary.startswith("enable site") for c in changes):
            cmds.append(f"ln -sfn {shlex.quote(available)} {shlex.quote(enabled)}")
        if any(c.summary == "disable default site" for c in changes):
            cmds.append("rm -f /etc/nginx/sites-enabled/default")
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
    files = [FileSpec(HOOK, render("certbot-deploy-hook.sh.j2"), "0755")]
    if target.acme_ca:
        files.append(FileSpec(ACME_CA, target.acme_ca.read_text()))
        files.append(FileSpec(CERTBOT_DROPIN, render("certbot-env.conf.j2", acme_ca=ACME_CA)))
    return files


class Certbot(Step):
    """A certificate from the target's ACME directory, renewals reloading nginx."""

    name = "certificate"

    def check(self, ctx: Context) -> list[Change]:
        changes = file_changes(ctx.facts, certbot_files(ctx.target))
        if not has_cert(ctx):
            changes.append(Change(f"issue certificate for {ctx.target.domain}"))
        elif ctx.facts.get("cert_server") != ctx.target.acme_server:
            changes.append(Change(f"re-issue certificate from {ctx.target.acme_server}"))
        return changes

    def apply(self, ctx: Context, changes: list[Change]) -> str:
        files = certbot_files(ctx.target)
        write_files(ctx, files, changes)
        if any(c.summary.endswith(CERTBOT_DROPIN) for c in changes):
            ctx.remote.run(["systemctl", "daemon-reload"], sudo=True)
        issue = [c for c in changes if "issue certificate" in c.summary]
        if issue:
            force = issue[0].summary.startswith("re-issue")
            ctx.remote.run(certbot_argv(ctx.target, force=force), sudo=True, what="certbot")
            ctx.tls = True
            site = nginx_files(ctx.target, port=ctx.port, tls=True)[-1]
            ctx.remote.write_file(site.path, site.data)
            switch.reload_nginx(ctx.remote)
        return ""


def firewall_ports(facts_ports: list[str]) -> list[int]:
    ssh = {int(p) for p in facts_ports if p.isdigit()} or {22}
    return sorted(ssh | {80, 443})


def nftables_file(ports: list[int]) -> FileSpec:
    return FileSpec(NFT_CONF, render("nftables.conf.j2", ports=ports), "0755")


class Firewall(Step):
    """nftables: inbound SSH (the ports sshd listens on), HTTP and HTTPS only."""

    name = "firewall"

    def check(self, ctx: Context) -> list[Change]:
        if not ctx.target.firewall:
            return []
        state = ctx.facts.lines("firewall")
        virt = ctx.facts.get("virt")
        if "nftables" not in ctx.facts.packages and not ctx.dry_run:  # installed by this run
            probe = ctx.remote.sh("nft list tables >/dev/null 2>&1 && echo usable", check=False)
            state = [*state, *probe.stdout.split()]
        if "usable" not in state and virt not in ("", "none"):
            self.skipped = True
            self.detail = f"skipped: this {virt} container may not change its firewall"
            return []
        spec = nftables_file(firewall_ports(ctx.facts.lines("sshd_ports")))
        changes = file_changes(ctx.facts, [spec])
        if "loaded" not in state:
            changes.append(Change("load nftables rules"))
        if "enabled" not in state:
            changes.append(Change("enable nftables.service"))
        return changes

    def apply(self, ctx: Context, changes: list[Change]) -> str:
        spec = nftables_file(firewall_ports(ctx.facts.lines("sshd_ports")))
        write_files(ctx, [spec], changes)
        ctx.remote.sh(
            f"nft -c -f {NFT_CONF} && nft -f {NFT_CONF} && systemctl enable --quiet nftables",
            what="firewall",
        )
        return ""
