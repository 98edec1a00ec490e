"""DigitalOcean: Droplet in a VPC, cloud firewall, reserved IP, DNS record, private PostgreSQL."""

from __future__ import annotations

from typing import Any

from stacks import contract, hostkey
from stacks.naming import name, tag_list
from stacks.settings import Settings

IMAGE = "ubuntu-24-04-x64"
VPC_RANGE = "10.30.0.0/20"
WORLD = ["0.0.0.0/0", "::/0"]


def build(s: Settings) -> dict[str, Any]:
    """Create the stack's resources; return the contract outputs."""
    import pulumi_digitalocean as do

    vpc = do.Vpc(name(s, "vpc"), name=name(s, "vpc"), region=s.region, ip_range=VPC_RANGE)
    key = hostkey.host_key(name(s, "host-key"))
    droplet = do.Droplet(
        name(s, "server"),
        name=name(s, "server"),
        image=IMAGE,
        size=s.size,
        region=s.region,
        vpc_uuid=vpc.id,
        user_data=hostkey.user_data(key, s.ssh_public_key),
        monitoring=True,
        ipv6=True,
        backups=s.prod,
        tags=tag_list(s),
    )
    droplet_id = droplet.id.apply(int)
    _firewall(s, droplet_id)
    address = do.ReservedIp(name(s, "ip"), region=s.region, droplet_id=droplet_id)
    do.DnsRecord(
        name(s, "dns"),
        domain=s.dns_zone,
        type="A",
        name=s.subdomain,
        value=address.ip_address,
        ttl=300,
    )
    return contract.outputs(
        cloud="digitalocean",
        stage=s.stage,
        domain=s.domain,
        host=address.ip_address,
        ssh_user=hostkey.LOGIN_USER,
        ssh_host_key=hostkey.public_line(key),
        database_url=_database(s, vpc, droplet),
    )


def _firewall(s: Settings, droplet_id: Any) -> Any:
    import pulumi_digitalocean as do

    inbound = [
        do.FirewallInboundRuleArgs(
            protocol="tcp", port_range="22", source_addresses=list(s.ssh_cidrs)
        ),
        do.FirewallInboundRuleArgs(protocol="tcp", port_range="80", source_addresses=WORLD),
        do.FirewallInboundRuleArgs(protocol="tcp", port_range="443", source_addresses=WORLD),
        do.FirewallInboundRuleArgs(protocol="icmp", source_addresses=WORLD),
    ]
    outbound = [
        do.FirewallOutboundRuleArgs(protocol=p, port_range="1-65535", destination_addresses=WORLD)
        for p in ("tcp", "udp")
    ] + [do.FirewallOutboundRuleArgs(protocol="icmp", destination_addresses=WORLD)]
    return do.Firewall(
        name(s, "firewall"),
        name=name(s, "firewall"),
        droplet_ids=[droplet_id],
        inbound_rules=inbound,
        outbound_rules=outbound,
    )


def _database(s: Settings, vpc: Any, droplet: Any) -> Any:
    import pulumi
    import pulumi_digitalocean as do

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
        opts=pulumi.ResourceOptions(protect=s.prod),
    )
    admitted = do.DatabaseFirewall(
        name(s, "db-firewall"),
        cluster_id=cluster.id,
        rules=[
            do.DatabaseFirewallRuleArgs(type="droplet", value=droplet.id),
            # The operator (where `pulumi up` runs, as for SSH) reaches the cluster to grant.
            *[
                do.DatabaseFirewallRuleArgs(type="ip_addr", value=cidr)
                for cidr in s.ssh_cidrs
                if ":" not in cidr  # IPv4 ranges (where the operator reaches the public host)
            ],
        ],
    )
    database = do.DatabaseDb(name(s, "db-app"), cluster_id=cluster.id, name="app")
    user = do.DatabaseUser(name(s, "db-user"), cluster_id=cluster.id, name="app")
    _grant_schema(s, cluster, database, user, admitted)
    return contract.postgres_url(
        user.name,
        user.password,
        cluster.private_host,
        cluster.port,
        database.name,
        sslmode="require",
    )


def _grant_schema(s: Settings, cluster: Any, database: Any, user: Any, admitted: Any) -> Any:
    """PostgreSQL 15+ lets only the database owner create in schema ``public``; DigitalOcean makes
    ``doadmin`` the owner and its API grants nothing, so the cluster's admin grants it to ``app``
    through the postgresql provider (the migrations create the app's tables as ``app``)."""
    import pulumi
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
    )
    return postgresql.Grant(
        name(s, "db-app-schema"),
        database=database.name,
        schema="public",
        object_type="schema",
        role=user.name,
        privileges=["CREATE", "USAGE"],
        opts=pulumi.ResourceOptions(provider=admin, depends_on=[admitted]),
    )
