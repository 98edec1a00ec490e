"""AWS: VPC, EC2 with an Elastic IP, a tight security group, private RDS PostgreSQL, Route53.

With ``deployer:hosts`` > 1: that many servers across the region's zones behind an Application
Load Balancer that terminates TLS (ACM certificate validated through Route53, HTTP redirected to
HTTPS, health check on the readiness path, deregistration delay = deployer's drain); the servers
take HTTP only from the load balancer's security group.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stacks import contract, hostkey
from stacks.naming import indexed, name, tags
from stacks.secrets import password
from stacks.settings import Settings

UBUNTU_OWNER = "099720109477"  # Canonical
UBUNTU_NAME = "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*"
VPC_CIDR = "10.20.0.0/16"
PUBLIC_CIDRS = ("10.20.0.0/24", "10.20.1.0/24", "10.20.2.0/24")  # within PUBLIC_RANGE
PUBLIC_RANGE = "10.20.0.0/22"  # where the load balancer's nodes connect to the servers from
PRIVATE_CIDRS = ("10.20.10.0/24", "10.20.11.0/24")
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"  # AWS's recommended policy: TLS 1.3 and 1.2
WORLD_V4, WORLD_V6 = ["0.0.0.0/0"], ["::/0"]


@dataclass(frozen=True)
class Host:
    """One server: the instance, its Elastic IP (SSH and, alone, the web) and its host key."""

    server: Any
    ip: Any
    key: Any


def build(s: Settings) -> dict[str, Any]:
    """Create the stack's resources; return the contract outputs."""
    import pulumi_aws.ec2 as ec2

    vpc = ec2.Vpc(
        name(s, "vpc"),
        cidr_block=VPC_CIDR,
        enable_dns_hostnames=True,
        enable_dns_support=True,
        tags=tags(s),
    )
    fleet = s.hosts > 1
    gateway, public, private = _subnets(s, vpc, len(PUBLIC_CIDRS) if fleet else 1)
    lb_sg = _lb_security_group(s, vpc) if fleet else None
    web_sg = _web_security_group(s, vpc, lb_sg)
    hosts = [_host(s, i, public[i % len(public)], web_sg, gateway) for i in range(s.hosts)]
    database_url = _database(s, vpc, private, web_sg)
    balancer = _load_balancer(s, vpc, public, lb_sg, hosts) if fleet else None
    if balancer is None:
        _dns(s, hosts[0].ip.public_ip)
    first = hosts[0]
    return contract.outputs(
        cloud="aws",
        stage=s.stage,
        domain=s.domain,
        host=first.ip.public_ip,
        ssh_user=hostkey.LOGIN_USER,
        ssh_host_key=hostkey.public_line(first.key),
        database_url=database_url,
        hosts=[
            contract.host_entry(
                name=indexed(s, "server", i),
                host=h.ip.public_ip,
                ssh_user=hostkey.LOGIN_USER,
                ssh_host_key=hostkey.public_line(h.key),
                private_address=h.server.private_ip,
            )
            for i, h in enumerate(hosts)
        ],
        load_balancer=balancer,
    )


def zone(index: int) -> Any:
    """The name of the region's ``index``-th available zone (wrapping), as the region reports it."""
    from pulumi_aws import get_availability_zones_output

    names = get_availability_zones_output(state="available").names
    return names.apply(lambda found: found[index % len(found)])


def _subnets(s: Settings, vpc: Any, count: int) -> tuple[Any, list[Any], list[Any]]:
    """The internet gateway, ``count`` public subnets (one a zone) and two private ones."""
    import pulumi_aws.ec2 as ec2

    gateway = ec2.InternetGateway(name(s, "igw"), vpc_id=vpc.id, tags=tags(s))
    routes = ec2.RouteTable(
        name(s, "public-routes"),
        vpc_id=vpc.id,
        routes=[ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=gateway.id)],
        tags=tags(s),
    )
    public = []
    for i, cidr in enumerate(PUBLIC_CIDRS[:count]):
        subnet = ec2.Subnet(
            indexed(s, "public", i),
            vpc_id=vpc.id,
            cidr_block=cidr,
            availability_zone=zone(i),
            map_public_ip_on_launch=False,
            tags=tags(s),
        )
        ec2.RouteTableAssociation(
            indexed(s, "public-routes", i), subnet_id=subnet.id, route_table_id=routes.id
        )
        public.append(subnet)
    private = [
        ec2.Subnet(
            name(s, f"private-{i}"),
            vpc_id=vpc.id,
            cidr_block=cidr,
            availability_zone=zone(i),
            map_public_ip_on_launch=False,
            tags=tags(s),
        )
        for i, cidr in enumerate(PRIVATE_CIDRS)
    ]
    return gateway, public, private


def _web_security_group(s: Settings, vpc: Any, lb_sg: Any) -> Any:
    """SSH from the operator; the web from anywhere (one server: certbot, redirect, HTTPS) or,
    behind the load balancer, plain HTTP from its security group only."""
    import pulumi_aws.ec2 as ec2

    v4 = [c for c in s.ssh_cidrs if ":" not in c]
    v6 = [c for c in s.ssh_cidrs if ":" in c]
    if lb_sg is None:
        web = [
            ec2.SecurityGroupIngressArgs(
                description=label,
                protocol="tcp",
                from_port=port,
                to_port=port,
                cidr_blocks=WORLD_V4,
                ipv6_cidr_blocks=WORLD_V6,
            )
            for label, port in (("HTTP (ACME, redirect)", 80), ("HTTPS", 443))
        ]
        what = "SSH from the operator, HTTP/HTTPS from anywhere"
    else:
        web = [
            ec2.SecurityGroupIngressArgs(
                description="HTTP from the load balancer only",
                protocol="tcp",
                from_port=80,
                to_port=80,
                security_groups=[lb_sg.id],
            )
        ]
        what = "SSH from the operator, HTTP from the load balancer"
    return ec2.SecurityGroup(
        name(s, "web"),
        vpc_id=vpc.id,
        description=what,
        ingress=[
            ec2.SecurityGroupIngressArgs(
                description="SSH from the operator",
                protocol="tcp",
                from_port=22,
                to_port=22,
                cidr_blocks=v4,
                ipv6_cidr_blocks=v6,
            ),
            *web,
        ],
        egress=[
            ec2.SecurityGroupEgressArgs(
                description="Outbound (apt, PyPI, ACME)",
                protocol="-1",
                from_port=0,
                to_port=0,
                cidr_blocks=WORLD_V4,
                ipv6_cidr_blocks=WORLD_V6,
            )
        ],
        tags=tags(s),
    )


def _lb_security_group(s: Settings, vpc: Any) -> Any:
    import pulumi_aws.ec2 as ec2

    return ec2.SecurityGroup(
        name(s, "lb"),
        vpc_id=vpc.id,
        description="HTTP/HTTPS from anywhere to the load balancer; HTTP to the servers",
        ingress=[
            ec2.SecurityGroupIngressArgs(
                description=label,
                protocol="tcp",
                from_port=port,
                to_port=port,
                cidr_blocks=WORLD_V4,
                ipv6_cidr_blocks=WORLD_V6,
            )
            for label, port in (("HTTP (redirect to HTTPS)", 80), ("HTTPS", 443))
        ],
        egress=[
            ec2.SecurityGroupEgressArgs(
                description="HTTP to the servers (and their health checks)",
                protocol="tcp",
                from_port=80,
                to_port=80,
                cidr_blocks=[PUBLIC_RANGE],
            )
        ],
        tags=tags(s),
    )


def _host(s: Settings, index: int, subnet: Any, sg: Any, gateway: Any) -> Host:
    """A VmHost component: the server's host key, its instance and its Elastic IP."""
    import pulumi_aws.ec2 as ec2

    from stacks.components import Component

    part = Component("aws:VmHost", indexed(s, "host", index))
    key = hostkey.host_key(indexed(s, "host-key", index), opts=part.child())
    server = _server(s, index, subnet, sg, key, part)
    # An EIP on an instance needs the VPC's internet gateway attached first (AWS provider docs).
    ip = ec2.Eip(
        indexed(s, "ip", index),
        domain="vpc",
        instance=server.id,
        tags=tags(s),
        opts=part.child(depends_on=[gateway]),
    )
    part.done({"address": ip.public_ip, "private_address": server.private_ip})
    return Host(server, ip, key)


def _image(s: Settings) -> tuple[Any, list[str]]:
    """The AMI and the changes to ignore: ``deployer:ami`` pins it (changing it replaces the
    server, deliberately); otherwise the newest Ubuntu LTS at creation, kept afterwards (a newer
    image must not replace a running server, which termination protection would refuse in prod).
    """
    import pulumi_aws.ec2 as ec2

    if s.ami:
        return s.ami, []
    found = ec2.get_ami_output(
        most_recent=True,
        owners=[UBUNTU_OWNER],
        filters=[
            ec2.GetAmiFilterArgs(name="name", values=[UBUNTU_NAME]),
            ec2.GetAmiFilterArgs(name="virtualization-type", values=["hvm"]),
        ],
    )
    return found.id, ["ami"]


def _server(s: Settings, index: int, subnet: Any, sg: Any, key: Any, part: Any) -> Any:
    import pulumi_aws.ec2 as ec2

    ami, ignore = _image(s)
    return ec2.Instance(
        indexed(s, "server", index),
        ami=ami,
        instance_type=s.size,
        subnet_id=subnet.id,
        vpc_security_group_ids=[sg.id],
        user_data=hostkey.user_data(key, s.ssh_public_key),
        user_data_replace_on_change=True,
        metadata_options=ec2.InstanceMetadataOptionsArgs(
            http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=1
        ),
        root_block_device=ec2.InstanceRootBlockDeviceArgs(
            encrypted=True, volume_type="gp3", volume_size=20, delete_on_termination=True
        ),
        disable_api_termination=s.prod,
        tags=tags(s),
        opts=part.child(ignore_changes=ignore),
    )


def _database(s: Settings, vpc: Any, subnets: list[Any], web_sg: Any) -> Any:
    """A ManagedDatabase component: RDS PostgreSQL in the private subnets, reachable from the
    servers' security group only; returns the app's database URL."""
    import pulumi_aws.ec2 as ec2
    import pulumi_aws.rds as rds

    from stacks.components import Component

    part = Component("aws:ManagedDatabase", name(s, "db"))
    db_sg = ec2.SecurityGroup(
        name(s, "db"),
        vpc_id=vpc.id,
        description="PostgreSQL from the app server only",
        ingress=[
            ec2.SecurityGroupIngressArgs(
                description="PostgreSQL from the web security group",
                protocol="tcp",
                from_port=5432,
                to_port=5432,
                security_groups=[web_sg.id],
            )
        ],
        tags=tags(s),
        opts=part.child(),
    )
    group = rds.SubnetGroup(
        name(s, "db"), subnet_ids=[n.id for n in subnets], tags=tags(s), opts=part.child()
    )
    secret = password(s, "dbPassword", name(s, "db-password"), opts=part.child())
    db = rds.Instance(
        name(s, "db"),
        engine="postgres",
        engine_version="16",
        instance_class=s.db_size,
        allocated_storage=20,
        max_allocated_storage=100,
        storage_type="gp3",
        db_name="app",
        username="app",
        password=secret,
        db_subnet_group_name=group.name,
        vpc_security_group_ids=[db_sg.id],
        publicly_accessible=False,
        storage_encrypted=True,
        multi_az=s.prod,
        backup_retention_period=14 if s.prod else 7,
        deletion_protection=s.prod,
        skip_final_snapshot=not s.prod,
        final_snapshot_identifier=name(s, "db-final") if s.prod else None,
        copy_tags_to_snapshot=True,
        auto_minor_version_upgrade=True,
        tags=tags(s),
        opts=part.child(),
    )
    part.done({"address": db.address})
    return contract.postgres_url("app", secret, db.address, db.port, "app", sslmode="require")


def _dns(s: Settings, address: Any) -> None:
    import pulumi_aws.route53 as route53

    route53.Record(
        name(s, "dns"),
        zone_id=_zone(s).zone_id,
        name=s.domain,
        type="A",
        ttl=300,
        records=[address],
    )


def _load_balancer(
    s: Settings, vpc: Any, subnets: list[Any], sg: Any, hosts: list[Host]
) -> dict[str, Any]:
    """The ALB in front of every server; returns the contract's ``load_balancer`` entry."""
    import pulumi_aws.lb as lb

    from deployer.names import DRAIN_TIMEOUT

    balancer = lb.LoadBalancer(
        name(s, "lb"),
        name=name(s, "lb")[:32],
        load_balancer_type="application",
        internal=False,
        security_groups=[sg.id],
        subnets=[subnet.id for subnet in subnets],
        drop_invalid_header_fields=True,
        enable_deletion_protection=s.prod,
        tags=tags(s),
    )
    group = lb.TargetGroup(
        name(s, "web"),
        name=name(s, "web")[:32],
        vpc_id=vpc.id,
        port=80,
        protocol="HTTP",
        target_type="instance",
        deregistration_delay=DRAIN_TIMEOUT,  # a leaving server finishes its requests, as on one
        health_check=lb.TargetGroupHealthCheckArgs(
            enabled=True,
            protocol="HTTP",
            port="traffic-port",
            path=s.readiness_path,
            matcher="200",
            interval=10,
            timeout=5,
            healthy_threshold=2,
            unhealthy_threshold=2,
        ),
        tags=tags(s),
    )
    for i, host in enumerate(hosts):
        lb.TargetGroupAttachment(
            indexed(s, "web", i), target_group_arn=group.arn, target_id=host.server.id, port=80
        )
    certificate = _certificate(s)
    lb.Listener(
        name(s, "https"),
        load_balancer_arn=balancer.arn,
        port=443,
        protocol="HTTPS",
        ssl_policy=TLS_POLICY,
        certificate_arn=certificate,
        default_actions=[lb.ListenerDefaultActionArgs(type="forward", target_group_arn=group.arn)],
        tags=tags(s),
    )
    lb.Listener(
        name(s, "http"),
        load_balancer_arn=balancer.arn,
        port=80,
        protocol="HTTP",
        default_actions=[
            lb.ListenerDefaultActionArgs(
                type="redirect",
                redirect=lb.ListenerDefaultActionRedirectArgs(
                    port="443", protocol="HTTPS", status_code="HTTP_301"
                ),
            )
        ],
        tags=tags(s),
    )
    _dns_alias(s, balancer)
    return contract.load_balancer_entry(
        name=balancer.name, dns_name=balancer.dns_name, source_range=PUBLIC_RANGE
    )


def _certificate(s: Settings) -> Any:
    """An ACM certificate for the domain, validated by a Route53 record; its ARN once issued."""
    import pulumi_aws.acm as acm
    import pulumi_aws.route53 as route53

    certificate = acm.Certificate(
        name(s, "cert"), domain_name=s.domain, validation_method="DNS", tags=tags(s)
    )
    option = certificate.domain_validation_options[0]
    record = route53.Record(
        name(s, "cert-validation"),
        zone_id=_zone(s).zone_id,
        name=option.resource_record_name,
        type=option.resource_record_type,
        records=[option.resource_record_value],
        ttl=60,
        allow_overwrite=True,
    )
    validation = acm.CertificateValidation(
        name(s, "cert"), certificate_arn=certificate.arn, validation_record_fqdns=[record.fqdn]
    )
    return validation.certificate_arn


def _zone(s: Settings) -> Any:
    import pulumi_aws.route53 as route53

    return route53.get_zone_output(name=s.dns_zone, private_zone=False)


def _dns_alias(s: Settings, balancer: Any) -> None:
    import pulumi_aws.route53 as route53

    route53.Record(
        name(s, "dns"),
        zone_id=_zone(s).zone_id,
        name=s.domain,
        type="A",
        aliases=[
            route53.RecordAliasArgs(
                name=balancer.dns_name, zone_id=balancer.zone_id, evaluate_target_health=True
            )
        ],
    )
