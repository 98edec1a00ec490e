"""GCP: Cloud Run (v2) with a least-privilege service account, secrets in Secret Manager,
Cloud SQL PostgreSQL on a private IP only, Cloud DNS CNAME and a domain mapping (managed TLS).

The program enables the APIs it uses (``projects.Service``); every resource waits for its API.
Migrations run as a Cloud Run job whose execution (``run_execution_token``, one per image) must
complete before the service is updated, so a new image never takes traffic on an old schema.
"""

from __future__ import annotations

from typing import Any

from stacks import contract
from stacks.naming import name, tags
from stacks.secrets import password
from stacks.settings import Settings

SUBNET_RANGE = "10.40.0.0/24"
APP_PORT = 8080  # templates/Dockerfile: gunicorn listens on $PORT (8080)
GOOGLE_FRONTEND = "ghs.googlehosted.com."
# The APIs the resources below use, by the short name the program refers to them with.
APIS = {
    "compute": "compute.googleapis.com",
    "servicenetworking": "servicenetworking.googleapis.com",
    "sqladmin": "sqladmin.googleapis.com",
    "iam": "iam.googleapis.com",
    "secretmanager": "secretmanager.googleapis.com",
    "run": "run.googleapis.com",
    "dns": "dns.googleapis.com",
}
ALEMBIC = "alembic"  # on PATH in the image (templates/Dockerfile: /opt/venv/bin)


class Apis:
    """The enabled APIs; ``after(...)`` is the options of a resource that uses them."""

    def __init__(self, s: Settings) -> None:
        import pulumi_gcp.projects as projects

        self.services = {
            key: projects.Service(
                name(s, f"api-{key}"),
                project=s.extra["project"],
                service=api,
                disable_on_destroy=False,  # other stacks in the project may still use it
            )
            for key, api in APIS.items()
        }

    def after(self, *keys: str, depends_on: list | None = None) -> Any:
        import pulumi

        enabled = [self.services[key] for key in keys]
        return pulumi.ResourceOptions(depends_on=enabled + list(depends_on or []))


def build(s: Settings) -> dict[str, Any]:
    """Create the stack's resources; return the contract outputs."""
    apis = Apis(s)
    network, subnet, peering = _network(s, apis)
    database_url = _database(s, apis, network, peering)
    account = _service_account(s, apis)
    secrets = {
        "SECRET_KEY": _secret(
            s, apis, "secret-key", password(s, "secretKey", name(s, "secret-key"), 48)
        ),
        "DATABASE_URL": _secret(s, apis, "database-url", database_url),
    }
    grants = [_grant(s, apis, key, secret, account) for key, secret in secrets.items()]
    runtime = _Runtime(account, network, subnet, secrets)
    migrations = [_migrations(s, apis, runtime, grants)] if s.migrations else []
    service = _service(s, apis, runtime, grants + migrations)
    _public_endpoint(s, apis, service)
    return contract.outputs(
        cloud="gcp",
        stage=s.stage,
        domain=s.domain,
        database_url=database_url,
        artifact={"deployer:image": s.image},
    )


def _network(s: Settings, apis: Apis) -> tuple[Any, Any, Any]:
    import pulumi_gcp.compute as compute
    import pulumi_gcp.servicenetworking as servicenetworking

    network = compute.Network(
        name(s, "vpc"),
        name=name(s, "vpc"),
        auto_create_subnetworks=False,
        opts=apis.after("compute"),
    )
    subnet = compute.Subnetwork(
        name(s, "run"),
        network=network.id,
        region=s.region,
        ip_cidr_range=SUBNET_RANGE,
        private_ip_google_access=True,
        opts=apis.after("compute"),
    )
    reserved = compute.GlobalAddress(
        name(s, "sql-range"),
        network=network.id,
        purpose="VPC_PEERING",
        address_type="INTERNAL",
        prefix_length=16,
        labels=tags(s),
        opts=apis.after("compute"),
    )
    peering = servicenetworking.Connection(
        name(s, "sql-peering"),
        network=network.id,
        service="servicenetworking.googleapis.com",
        reserved_peering_ranges=[reserved.name],
        opts=apis.after("servicenetworking"),
    )
    return network, subnet, peering


def _database(s: Settings, apis: Apis, network: Any, peering: Any) -> Any:
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
                enabled=True,
                point_in_time_recovery_enabled=True,
                backup_retention_settings=sql.DatabaseInstanceSettingsBackupConfigurationBackupRetentionSettingsArgs(
                    retained_backups=14 if s.prod else 7, retention_unit="COUNT"
                ),
            ),
            user_labels=tags(s),
        ),
        opts=apis.after("sqladmin", depends_on=[peering]),
    )
    database = sql.Database(
        name(s, "db-app"), instance=instance.name, name="app", opts=apis.after("sqladmin")
    )
    secret = password(s, "dbPassword", name(s, "db-password"))
    user = sql.User(
        name(s, "db-user"),
        instance=instance.name,
        name="app",
        password=secret,
        opts=apis.after("sqladmin"),
    )
    return contract.postgres_url(
        user.name, secret, instance.private_ip_address, 5432, database.name, sslmode="require"
    )


def _service_account(s: Settings, apis: Apis) -> Any:
    import pulumi_gcp.serviceaccount as serviceaccount

    return serviceaccount.Account(
        name(s, "run"),
        account_id=name(s, "run")[:30],
        display_name=f"Cloud Run service {name(s, 'app')} (reads its two secrets only)",
        opts=apis.after("iam"),
    )


def _secret(s: Settings, apis: Apis, part: str, value: Any) -> Any:
    import pulumi_gcp.secretmanager as secretmanager

    secret = secretmanager.Secret(
        name(s, part),
        secret_id=name(s, part),
        replication=secretmanager.SecretReplicationArgs(
            auto=secretmanager.SecretReplicationAutoArgs()
        ),
        labels=tags(s),
        opts=apis.after("secretmanager"),
    )
    secretmanager.SecretVersion(
        name(s, part), secret=secret.id, secret_data=value, opts=apis.after("secretmanager")
    )
    return secret


def _grant(s: Settings, apis: Apis, key: str, secret: Any, account: Any) -> Any:
    import pulumi_gcp.secretmanager as secretmanager

    return secretmanager.SecretIamMember(
        name(s, f"run-reads-{key.lower().replace('_', '-')}"),
        secret_id=secret.id,
        role="roles/secretmanager.secretAccessor",
        member=account.email.apply(lambda email: f"serviceAccount:{email}"),
        opts=apis.after("secretmanager"),
    )


class _Runtime:
    """What the service and the migration job share: identity, network, secret environment."""

    def __init__(self, account: Any, network: Any, subnet: Any, secrets: dict) -> None:
        self.account, self.network, self.subnet, self.secrets = account, network, subnet, secrets

    def envs(self, s: Settings, kind: str) -> list:
        """The container environment; ``kind`` is the SDK argument classes' prefix
        (ServiceTemplate or JobTemplateTemplate)."""
        import pulumi_gcp.cloudrunv2 as run

        env = getattr(run, f"{kind}ContainerEnvArgs")
        source = getattr(run, f"{kind}ContainerEnvValueSourceArgs")
        ref = getattr(run, f"{kind}ContainerEnvValueSourceSecretKeyRefArgs")
        return [env(name="ENVIRONMENT", value=s.stage)] + [
            env(
                name=key,
                value_source=source(secret_key_ref=ref(secret=secret.secret_id, version="latest")),
            )
            for key, secret in self.secrets.items()
        ]

    def vpc_access(self, kind: str) -> Any:
        import pulumi_gcp.cloudrunv2 as run

        access = getattr(run, f"{kind}VpcAccessArgs")
        interface = getattr(run, f"{kind}VpcAccessNetworkInterfaceArgs")
        return access(
            egress="PRIVATE_RANGES_ONLY",
            network_interfaces=[interface(network=self.network.id, subnetwork=self.subnet.id)],
        )


def execution_token(image: str) -> str:
    """One migration execution per image: the digest's first 32 hex digits (job name + token
    must stay under 63 characters)."""
    return image.rsplit("@sha256:", 1)[-1][:32]


def _migrations(s: Settings, apis: Apis, runtime: _Runtime, grants: list) -> Any:
    """A Cloud Run job running ``alembic upgrade head`` with the service's identity and secrets;
    Pulumi waits for its execution (one per image) to complete before the service changes."""
    import pulumi_gcp.cloudrunv2 as run

    return run.Job(
        name(s, "migrate"),
        name=name(s, "migrate"),
        location=s.region,
        deletion_protection=False,  # holds no data; recreated from the image
        run_execution_token=execution_token(s.image),
        template=run.JobTemplateArgs(
            task_count=1,
            parallelism=1,
            template=run.JobTemplateTemplateArgs(
                service_account=runtime.account.email,
                max_retries=0,  # a failed migration stops the deploy; it is not retried blindly
                vpc_access=runtime.vpc_access("JobTemplateTemplate"),
                containers=[
                    run.JobTemplateTemplateContainerArgs(
                        image=s.image,
                        commands=[ALEMBIC],
                        args=["-c", s.migrations, "upgrade", "head"],
                        envs=runtime.envs(s, "JobTemplateTemplate"),
                    )
                ],
            ),
        ),
        labels=tags(s),
        opts=apis.after("run", depends_on=grants),
    )


def _service(s: Settings, apis: Apis, runtime: _Runtime, after: list) -> Any:
    import pulumi_gcp.cloudrunv2 as run

    return run.Service(
        name(s, "app"),
        name=name(s, "app"),
        location=s.region,
        ingress="INGRESS_TRAFFIC_ALL",
        default_uri_disabled=True,  # only the mapped domain answers, not <name>.run.app
        deletion_protection=s.prod,
        template=run.ServiceTemplateArgs(
            service_account=runtime.account.email,
            scaling=run.ServiceTemplateScalingArgs(
                min_instance_count=s.min_instances, max_instance_count=s.max_instances
            ),
            vpc_access=runtime.vpc_access("ServiceTemplate"),
            containers=[
                run.ServiceTemplateContainerArgs(
                    image=s.image,
                    ports=run.ServiceTemplateContainerPortsArgs(container_port=APP_PORT),
                    envs=runtime.envs(s, "ServiceTemplate"),
                )
            ],
        ),
        labels=tags(s),
        opts=apis.after("run", depends_on=after),
    )


def _public_endpoint(s: Settings, apis: Apis, service: Any) -> None:
    import pulumi_gcp.cloudrun as cloudrun
    import pulumi_gcp.cloudrunv2 as run
    import pulumi_gcp.dns as dns

    run.ServiceIamMember(
        name(s, "public"),
        name=service.name,
        location=s.region,
        role="roles/run.invoker",
        member="allUsers",
        opts=apis.after("run"),
    )
    cloudrun.DomainMapping(
        name(s, "domain"),
        name=s.domain,
        location=s.region,
        metadata=cloudrun.DomainMappingMetadataArgs(namespace=s.extra["project"], labels=tags(s)),
        spec=cloudrun.DomainMappingSpecArgs(route_name=service.name),
        opts=apis.after("run"),
    )
    dns.RecordSet(
        name(s, "dns"),
        managed_zone=s.extra["managed_zone"],
        name=f"{s.domain}.",
        type="CNAME",
        ttl=300,
        rrdatas=[GOOGLE_FRONTEND],
        opts=apis.after("dns"),
    )
