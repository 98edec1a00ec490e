"""DigitalOcean: Droplet in a VPC, cloud firewall, reserved IP, DNS record, private PostgreSQL.

With ``deployer:hosts`` > 1: that many Droplets behind a DigitalOcean Load Balancer in the VPC
(a managed Let's Encrypt certificate, HTTP redirected to HTTPS, health check on the readiness
path); the Droplets' firewall admits HTTP from the load balancer only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stacks import contract, hostkey
from stacks.naming import indexed, name, tag_list
from stacks.settings import Settings

IMAGE = "ubuntu-24-04-x64"
VPC_RANGE = "10.30.0.0/20"  # the load balancer reaches the Droplets from inside it
WORLD = ["0.0.0.0/0", "::/0"]


@dataclass(frozen=True)
class Host:
    """One Droplet with its reserved IP and host key; ``id`` is the numeric Droplet id."""

    droplet: Any
    ip: Any
    key: Any
    id: Any


def build(s: Settings) -> dict[str, Any]:
    """Create the stack's resources; return the contract outputs."""
    import pulumi_digitalocean as do

    vpc = do.Vpc(name(s, "vpc"), name=name(s, "vpc"), region=s.region, ip_range=VPC_RANGE)
    hosts = [_host(s, i, vpc) for i in range(s.hosts)]
    ids = [h.id for h in hosts]
    balancer = _load_balancer(s, vpc, ids) if s.hosts > 1 else None
    _firewall(s, ids, balancer)
    do.DnsRecord(
        name(s, "dns"),
        domain=s.dns_zone,
        type="A",
        name=s.subdomain,
        value=hosts[0].ip.ip_address if balancer is None else balancer.ip,
        ttl=300,
    )
    first = hosts[0]
    return contract.outputs(
        cloud="digitalocean",
        stage=s.stage,
        domain=s.domain,
        host=first.ip.ip_address,
        ssh_user=hostkey.LOGIN_USER,
        ssh_host_key=hostkey.public_line(first.key),
        database_url=_database(s, vpc, hosts),
        hosts=[
            contract.host_entry(
                name=indexed(s, "server", i),
                host=h.ip.ip_address,
                ssh_user=hostkey.LOGIN_USER,
                ssh_host_key=hostkey.public_line(h.key),
                private_address=h.droplet.ipv4_address_private,
            )
            for i, h in enumerate(hosts)
        ],
        load_balancer=None
        if balancer is None
        else contract.load_balancer_entry(
            name=balancer.name,
            dns_name=s.domain,
            address=balancer.ip,
            source_range=VPC_RANGE,
        ),
    )


def _host(s: Settings, index: int, vpc: Any) -> Host:
    """A VmHost component: the Droplet's host key, the Droplet and its reserved IP."""
    import pulumi_digitalocean as do

    from stacks.components import Component

    part = Component("digitalocean:VmHost", indexed(s, "host", index))
    key = hostkey.host_key(indexed(s, "host-key", index), opts=part.child())
    droplet = do.Droplet(
        indexed(s, "server", index),
        name=indexed(s, "server", index),
        image=IMAGE,
        size=s.size,
        region=s.region,
        vpc_uuid=vpc.id,
        user_data=hostkey.user_data(key, s.ssh_public_key),
        monitoring=True,
        ipv6=True,
        backups=s.prod,
        tags=tag_list(s),
        opts=part.child(),
    )
    droplet_id = droplet.id.apply(int)
    ip = do.ReservedIp(
        indexed(s, "ip", index), region=s.region, droplet_id=droplet_id, opts=part.child()
    )
    part.done({"address": ip.ip_address, "private_address": droplet.ipv4_address_private})
    return Host(droplet, ip, key, droplet_id)


def _load_balancer(s: Settings, vpc: Any, droplet_ids: list[Any]) -> Any:
    """The load balancer terminating TLS with a managed certificate for the domain (DNS in
    DigitalOcean, as the stack's record already is), forwarding plain HTTP over the VPC."""
    import pulumi_digitalocean as do

    certificate = do.Certificate(
        name(s, "cert"), name=name(s, "cert"), type="lets_encrypt", domains=[s.domain]
    )
    return do.LoadBalancer(
        name(s, "lb"),
        name=name(s, "lb"),
        region=s.region,
        vpc_uuid=vpc.id,
        size_unit=1,
        droplet_ids=droplet_ids,
        forwarding_rules=[
            do.LoadBalancerForwardingRuleArgs(
                entry_protocol="https",
                entry_port=443,
                target_protocol="http",
                target_port=80,
                certificate_name=certificate.name,
            ),
            do.LoadBalancerForwardingRuleArgs(
                entry_protocol="http", entry_port=80, target_protocol="http", target_port=80
            ),
        ],
        redirect_http_to_https=True,
        disable_lets_encrypt_dns_records=True,  # the stack's own A record points at it
        healthcheck=do.LoadBalancerHealthcheckArgs(
            protocol="http",
            port=80,
            path=s.readiness_path,
            check_interval_seconds=10,
            response_timeout_seconds=5,
            healthy_threshold=2,
            unhealthy_threshold=2,
        ),
    )


def _firewall(s: Settings, droplet_ids: list[Any], balancer: Any) -> Any:
    """SSH from the operator; the web from anywhere (one Droplet) or HTTP from the LB only."""
    import pulumi_digitalocean as do

    if balancer is None:
        web = [
            do.FirewallInboundRuleArgs(protocol="tcp", port_range=port, source_addresses=WORLD)
            for port in ("80", "443")
        ]
    else:
        web = [
            do.FirewallInboundRuleArgs(
                protocol="tcp", port_range="80", source_load_balancer_uids=[balancer.id]
            )
        ]
    inbound = [
        do.FirewallInboundRuleArgs(
            protocol="tcp", port_range="22", source_addresses=list(s.ssh_cidrs)
        ),
        *web,
        do.FirewallInboundRuleArgs(protocol="icmp", source_addresses=WORLD),
    ]
    outbound = [
        do.FirewallOutboundRuleArgs(protocol=p, port_range="1-65535", destination_addresses=WORLD)
        for p in ("tcp", "udp")
    ] + [do.FirewallOutboundRuleArgs(protocol="icmp", destination_addresses=WORLD)]
    return do.Firewall(
        name(s, "firewall"),
        name=name(s, "firewall"),
        droplet_ids=droplet_ids,
        inbound_rules=inbound,
        outbound_rules=outbound,
    )


def _database(s: Settings, vpc: Any, hosts: list[Host]) -> Any:
    """A ManagedDatabase component: the PostgreSQL cluster in the VPC, admitting the Droplets,
    its ``app`` database and user; returns the app's database URL."""
    import pulumi_digitalocean as do

    from stacks.components import Component

    part = Component("digitalocean:ManagedDatabase", name(s, "db"))
    cluster = do.DatabaseCluster(
        name(s, "db"),
        name=name(s, "db"),
        engine="pg",
        version="16",
        size=s.db_size,
        region=s.region,
        node_count=2 if s.prod else 1,
        private_network_uuid=vpc.id,
        tags=tag_list(s),
        opts=part.child(protect=s.prod),
    )
    admitted = do.DatabaseFirewall(
        name(s, "db-firewall"),
        cluster_id=cluster.id,
        rules=[
            *[do.DatabaseFirewallRuleArgs(type="droplet", value=h.droplet.id) for h in hosts],
            # The operator (where `pulumi up` runs, as for SSH) reaches the cluster to grant.
            *[
                do.DatabaseFirewallRuleArgs(type="ip_addr", value=cidr)
                for cidr in s.ssh_cidrs
                if ":" not in cidr  # IPv4 ranges (where the operator reaches the public host)
            ],
        ],
        opts=part.child(),
    )
    database = do.DatabaseDb(
        name(s, "db-app"), cluster_id=cluster.id, name="app", opts=part.child()
    )
    user = do.DatabaseUser(name(s, "db-user"), cluster_id=cluster.id, name="app", opts=part.child())
    _grant_schema(s, part, cluster, database, user, admitted)
    part.done({"host": cluster.private_host})
    return contract.postgres_url(
        user.name,
        user.password,
        cluster.private_host,
        cluster.port,
        database.name,
        sslmode="require",
    )


def _grant_schema(
    s: Settings, part: Any, cluster: Any, database: Any, user: Any, admitted: Any
) -> Any:
    """PostgreSQL 15+ lets only the database owner create in schema ``public``; DigitalOcean makes
    ``doadmin`` the owner and its API grants nothing, so the cluster's admin grants it to ``app``
    through the postgresql provider (the migrations create the app's tables as ``app``)."""
    import pulumi_postgresql as postgresql

    admin = postgresql.Provider(
        name(s, "db-admin"),
        host=cluster.host,
        port=cluster.port,
        username=cluster.user,
        password=cluster.password,
        database=cluster.database,
        sslmode="require",
        superuser=False,  # doadmin is not a superuser on DigitalOcean
        opts=part.child(),
    )
    return postgresql.Grant(
        name(s, "db-app-schema"),
        database=database.name,
        schema="public",
        object_type="schema",
        role=user.name,
        privileges=["CREATE", "USAGE"],
        opts=part.child(provider=admin, depends_on=[admitted]),
    )
