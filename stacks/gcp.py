"""GCP: Cloud Run (v2) with a least-privilege service account, secrets in Secret Manager,
Cloud SQL PostgreSQL on a private IP only, Cloud DNS CNAME and a domain mapping (managed TLS)."""

from __future__ import annotations

from typing import Any

from stacks import contract
from stacks.naming import name, tags
from stacks.secrets import password
from stacks.settings import Settings

SUBNET_RANGE = "10.40.0.0/24"
APP_PORT = 8080  # templates/Dockerfile: gunicorn listens on $PORT (8080)
GOOGLE_FRONTEND = "ghs.googlehosted.com."


def build(s: Settings) -> dict[str, Any]:
    """Create the stack's resources; return the contract outputs."""
    network, subnet, peering = _network(s)
    database_url = _database(s, network, peering)
    account = _service_account(s)
    secrets = {
        "SECRET_KEY": _secret(s, "secret-key", password(s, "secretKey", name(s, "secret-key"), 48)),
        "DATABASE_URL": _secret(s, "database-url", database_url),
    }
    grants = [_grant(s, key, secret, account) for key, secret in secrets.items()]
    service = _service(s, account, network, subnet, secrets, grants)
    _public_endpoint(s, service)
    return contract.outputs(cloud="gcp", stage=s.stage, domain=s.domain, database_url=database_url)


def _network(s: Settings) -> tuple[Any, Any, Any]:
    import pulumi_gcp.compute as compute
    import pulumi_gcp.servicenetworking as servicenetworking

    network = compute.Network(name(s, "vpc"), name=name(s, "vpc"), auto_create_subnetworks=False)
    subnet = compute.Subnetwork(
        name(s, "run"),
        network=network.id,
        region=s.region,
        ip_cidr_range=SUBNET_RANGE,
        private_ip_google_access=True,
    )
    reserved = compute.GlobalAddress(
        name(s, "sql-range"),
        network=network.id,
        purpose="VPC_PEERING",
        address_type="INTERNAL",
        prefix_length=16,
        labels=tags(s),
    )
    peering = servicenetworking.Connection(
        name(s, "sql-peering"),
        network=network.id,
        service="servicenetworking.googleapis.com",
        reserved_peering_ranges=[reserved.name],
    )
    return network, subnet, peering


def _database(s: Settings, network: Any, peering: Any) -> Any:
    import pulumi
    import pulumi_gcp.sql as sql

    instance = sql.DatabaseInstance(
        name(s, "db"),
        database_version="POSTGRES_16",
        region=s.region,
        deletion_protection=s.prod,
        settings=sql.DatabaseInstanceSettingsArgs(
            tier=s.db_size,
            edition="ENTERPRISE",
            availability_type="REGIONAL" if s.prod else "ZONAL",
            disk_autoresize=True,
            deletion_protection_enabled=s.prod,
            ip_configuration=sql.DatabaseInstanceSettingsIpConfigurationArgs(
                ipv4_enabled=False, private_network=network.id, ssl_mode="ENCRYPTED_ONLY"
            ),
            backup_configuration=sql.DatabaseInstanceSettingsBackupConfigurationArgs(
                enabled=True, point_in_time_recovery_enabled=True
            ),
            user_labels=tags(s),
        ),
        opts=pulumi.ResourceOptions(depends_on=[peering]),
    )
    database = sql.Database(name(s, "db-app"), instance=instance.name, name="app")
    secret = password(s, "dbPassword", name(s, "db-password"))
    user = sql.User(name(s, "db-user"), instance=instance.name, name="app", password=secret)
    return contract.postgres_url(
        user.name, secret, instance.private_ip_address, 5432, database.name, sslmode="require"
    )


def _service_account(s: Settings) -> Any:
    import pulumi_gcp.serviceaccount as serviceaccount

    return serviceaccount.Account(
        name(s, "run"),
        account_id=name(s, "run")[:30],
        display_name=f"Cloud Run service {name(s, 'app')} (reads its two secrets only)",
    )


def _secret(s: Settings, part: str, value: Any) -> Any:
    import pulumi_gcp.secretmanager as secretmanager

    secret = secretmanager.Secret(
        name(s, part),
        secret_id=name(s, part),
        replication=secretmanager.SecretReplicationArgs(
            auto=secretmanager.SecretReplicationAutoArgs()
        ),
        labels=tags(s),
    )
    secretmanager.SecretVersion(name(s, part), secret=secret.id, secret_data=value)
    return secret


def _grant(s: Settings, key: str, secret: Any, account: Any) -> Any:
    import pulumi_gcp.secretmanager as secretmanager

    return secretmanager.SecretIamMember(
        name(s, f"run-reads-{key.lower().replace('_', '-')}"),
        secret_id=secret.id,
        role="roles/secretmanager.secretAccessor",
        member=account.email.apply(lambda email: f"serviceAccount:{email}"),
    )


def _service(
    s: Settings, account: Any, network: Any, subnet: Any, secrets: dict, grants: list
) -> Any:
    import pulumi
    import pulumi_gcp.cloudrunv2 as run

    envs = [run.ServiceTemplateContainerEnvArgs(name="ENVIRONMENT", value=s.stage)] + [
        run.ServiceTemplateContainerEnvArgs(
            name=key,
            value_source=run.ServiceTemplateContainerEnvValueSourceArgs(
                secret_key_ref=run.ServiceTemplateContainerEnvValueSourceSecretKeyRefArgs(
                    secret=secret.secret_id, version="latest"
                )
            ),
        )
        for key, secret in secrets.items()
    ]
    return run.Service(
        name(s, "app"),
        name=name(s, "app"),
        location=s.region,
        ingress="INGRESS_TRAFFIC_ALL",
        deletion_protection=s.prod,
        template=run.ServiceTemplateArgs(
            service_account=account.email,
            scaling=run.ServiceTemplateScalingArgs(
                min_instance_count=s.min_instances, max_instance_count=s.max_instances
            ),
            vpc_access=run.ServiceTemplateVpcAccessArgs(
                egress="PRIVATE_RANGES_ONLY",
                network_interfaces=[
                    run.ServiceTemplateVpcAccessNetworkInterfaceArgs(
                        network=network.id, subnetwork=subnet.id
                    )
                ],
            ),
            containers=[
                run.ServiceTemplateContainerArgs(
                    image=s.image,
                    ports=run.ServiceTemplateContainerPortsArgs(container_port=APP_PORT),
                    envs=envs,
                )
            ],
        ),
        labels=tags(s),
        opts=pulumi.ResourceOptions(depends_on=grants),
    )


def _public_endpoint(s: Settings, service: Any) -> None:
    import pulumi_gcp.cloudrun as cloudrun
    import pulumi_gcp.cloudrunv2 as run
    import pulumi_gcp.dns as dns

    run.ServiceIamMember(
        name(s, "public"),
        name=service.name,
        location=s.region,
        role="roles/run.invoker",
        member="allUsers",
    )
    cloudrun.DomainMapping(
        name(s, "domain"),
        name=s.domain,
        location=s.region,
        metadata=cloudrun.DomainMappingMetadataArgs(namespace=s.extra["project"], labels=tags(s)),
        spec=cloudrun.DomainMappingSpecArgs(route_name=service.name),
    )
    dns.RecordSet(
        name(s, "dns"),
        managed_zone=s.extra["managed_zone"],
        name=f"{s.domain}.",
        type="CNAME",
        ttl=300,
        rrdatas=[GOOGLE_FRONTEND],
    )
