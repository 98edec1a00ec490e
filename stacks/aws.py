"""AWS: VPC, EC2 with an Elastic IP, a tight security group, private RDS PostgreSQL, Route53."""

from __future__ import annotations

from typing import Any

from stacks import contract, hostkey
from stacks.naming import name, tags
from stacks.secrets import password
from stacks.settings import Settings

UBUNTU_OWNER = "099720109477"  # Canonical
UBUNTU_NAME = "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*"
VPC_CIDR = "10.20.0.0/16"
PUBLIC_CIDR = "10.20.0.0/24"
PRIVATE_CIDRS = ("10.20.10.0/24", "10.20.11.0/24")


def build(s: Settings) -> dict[str, Any]:
    """Create the stack's resources; return the contract outputs."""
    import pulumi
    import pulumi_aws.ec2 as ec2

    vpc = ec2.Vpc(
        name(s, "vpc"),
        cidr_block=VPC_CIDR,
        enable_dns_hostnames=True,
        enable_dns_support=True,
        tags=tags(s),
    )
    gateway, public, private = _subnets(s, vpc)
    web_sg = _web_security_group(s, vpc)
    key = hostkey.host_key(name(s, "host-key"))
    server = _server(s, public, web_sg, key)
    # An EIP on an instance needs the VPC's internet gateway attached first (AWS provider docs).
    eip = ec2.Eip(
        name(s, "ip"),
        domain="vpc",
        instance=server.id,
        tags=tags(s),
        opts=pulumi.ResourceOptions(depends_on=[gateway]),
    )
    database_url = _database(s, vpc, private, web_sg)
    _dns(s, eip.public_ip)
    return contract.outputs(
        cloud="aws",
        stage=s.stage,
        domain=s.domain,
        host=eip.public_ip,
        ssh_user=hostkey.LOGIN_USER,
        ssh_host_key=hostkey.public_line(key),
        database_url=database_url,
    )


def zone(index: int) -> Any:
    """The name of the region's ``index``-th available zone (wrapping), as the region reports it."""
    from pulumi_aws import get_availability_zones_output

    names = get_availability_zones_output(state="available").names
    return names.apply(lambda found: found[index % len(found)])


def _subnets(s: Settings, vpc: Any) -> tuple[Any, Any, list[Any]]:
    import pulumi_aws.ec2 as ec2

    zones = [zone(0), zone(1)]
    gateway = ec2.InternetGateway(name(s, "igw"), vpc_id=vpc.id, tags=tags(s))
    public = ec2.Subnet(
        name(s, "public"),
        vpc_id=vpc.id,
        cidr_block=PUBLIC_CIDR,
        availability_zone=zones[0],
        map_public_ip_on_launch=False,
        tags=tags(s),
    )
    routes = ec2.RouteTable(
        name(s, "public-routes"),
        vpc_id=vpc.id,
        routes=[ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=gateway.id)],
        tags=tags(s),
    )
    ec2.RouteTableAssociation(
        name(s, "public-routes"), subnet_id=public.id, route_table_id=routes.id
    )
    private = [
        ec2.Subnet(
            name(s, f"private-{i}"),
            vpc_id=vpc.id,
            cidr_block=cidr,
            availability_zone=zone,
            map_public_ip_on_launch=False,
            tags=tags(s),
        )
        for i, (cidr, zone) in enumerate(zip(PRIVATE_CIDRS, zones, strict=True))
    ]
    return gateway, public, private


def _web_security_group(s: Settings, vpc: Any) -> Any:
    import pulumi_aws.ec2 as ec2

    v4 = [c for c in s.ssh_cidrs if ":" not in c]
    v6 = [c for c in s.ssh_cidrs if ":" in c]
    return ec2.SecurityGroup(
        name(s, "web"),
        vpc_id=vpc.id,
        description="SSH from the operator, HTTP/HTTPS from anywhere",
        ingress=[
            ec2.SecurityGroupIngressArgs(
                description="SSH from the operator",
                protocol="tcp",
                from_port=22,
                to_port=22,
                cidr_blocks=v4,
                ipv6_cidr_blocks=v6,
            ),
            *[
                ec2.SecurityGroupIngressArgs(
                    description=label,
                    protocol="tcp",
                    from_port=port,
                    to_port=port,
                    cidr_blocks=["0.0.0.0/0"],
                    ipv6_cidr_blocks=["::/0"],
                )
                for label, port in (("HTTP (ACME, redirect)", 80), ("HTTPS", 443))
            ],
        ],
        egress=[
            ec2.SecurityGroupEgressArgs(
                description="Outbound (apt, PyPI, ACME)",
                protocol="-1",
                from_port=0,
                to_port=0,
                cidr_blocks=["0.0.0.0/0"],
                ipv6_cidr_blocks=["::/0"],
            )
        ],
        tags=tags(s),
    )


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


def _server(s: Settings, subnet: Any, sg: Any, key: Any) -> Any:
    import pulumi
    import pulumi_aws.ec2 as ec2

    ami, ignore = _image(s)
    return ec2.Instance(
        name(s, "server"),
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
        opts=pulumi.ResourceOptions(ignore_changes=ignore),
    )


def _database(s: Settings, vpc: Any, subnets: list[Any], web_sg: Any) -> Any:
    import pulumi_aws.ec2 as ec2
    import pulumi_aws.rds as rds

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
    )
    group = rds.SubnetGroup(name(s, "db"), subnet_ids=[n.id for n in subnets], tags=tags(s))
    secret = password(s, "dbPassword", name(s, "db-password"))
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
    )
    return contract.postgres_url("app", secret, db.address, db.port, "app", sslmode="require")


def _dns(s: Settings, address: Any) -> None:
    import pulumi_aws.route53 as route53

    zone = route53.get_zone_output(name=s.dns_zone, private_zone=False)
    route53.Record(
        name(s, "dns"), zone_id=zone.zone_id, name=s.domain, type="A", ttl=300, records=[address]
    )
