"""Azure: Linux App Service (gunicorn + uvicorn worker, HTTPS only, run-from-package blob),
PostgreSQL Flexible Server on a delegated subnet only, DNS records, managed certificate."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from stacks import contract
from stacks.naming import name, tags
from stacks.secrets import password
from stacks.settings import Settings

VNET_RANGE = "10.50.0.0/16"
APP_SUBNET = "10.50.1.0/24"
DB_SUBNET = "10.50.2.0/24"
BLOB_READER_ROLE = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"  # Storage Blob Data Reader
# templates/appservice-startup.sh (inside the package) builds the venv once, then runs gunicorn
# with uvicorn_worker.UvicornWorker on $PORT.
STARTUP = "sh startup.sh"


def build(s: Settings) -> dict[str, Any]:
    """Create the stack's resources; return the contract outputs."""
    import pulumi_azure_native.resources as resources

    group = resources.ResourceGroup(name(s, "rg"), location=s.region, tags=tags(s))
    if s.prod:
        _lock(s, group)
    app_subnet, db_subnet, vnet = _network(s, group)
    database_url = _database(s, group, vnet, db_subnet)
    package_url, account = _package(s, group)
    plan, app = _web_app(s, group, app_subnet)
    grant = _grant_package_read(s, app, account)
    _app_settings(s, group, app, package_url, database_url, grant)
    _custom_domain(s, group, plan, app)
    return contract.outputs(
        cloud="azure",
        stage=s.stage,
        domain=s.domain,
        database_url=database_url,
        artifact={
            key: value
            for key, value in (
                ("deployer:appPackage", s.app_package),
                ("deployer:packageSha256", s.extra["package_sha256"]),
            )
            if value
        },
    )


def _lock(s: Settings, group: Any) -> None:
    import pulumi_azure_native.authorization as authorization

    authorization.ManagementLockAtResourceGroupLevel(
        name(s, "no-delete"),
        resource_group_name=group.name,
        level="CanNotDelete",
        notes="Production: remove this lock deliberately before deleting anything.",
    )


def _network(s: Settings, group: Any) -> tuple[Any, Any, Any]:
    import pulumi_azure_native.network as network

    vnet = network.VirtualNetwork(
        name(s, "vnet"),
        resource_group_name=group.name,
        location=group.location,
        address_space=network.AddressSpaceArgs(address_prefixes=[VNET_RANGE]),
        tags=tags(s),
    )

    def subnet(part: str, prefix: str, service: str) -> Any:
        return network.Subnet(
            name(s, part),
            resource_group_name=group.name,
            virtual_network_name=vnet.name,
            address_prefix=prefix,
            delegations=[network.DelegationArgs(name=part, service_name=service)],
        )

    app_subnet = subnet("app-subnet", APP_SUBNET, "Microsoft.Web/serverFarms")
    db_subnet = subnet("db-subnet", DB_SUBNET, "Microsoft.DBforPostgreSQL/flexibleServers")
    return app_subnet, db_subnet, vnet


def _database(s: Settings, group: Any, vnet: Any, subnet: Any) -> Any:
    import pulumi
    import pulumi_azure_native.dbforpostgresql as postgres
    import pulumi_azure_native.privatedns as privatedns

    zone = privatedns.PrivateZone(
        name(s, "db-dns"),
        private_zone_name=f"{name(s, 'db')}.private.postgres.database.azure.com",
        resource_group_name=group.name,
        location="global",
        tags=tags(s),
    )
    link = privatedns.VirtualNetworkLink(
        name(s, "db-dns-link"),
        private_zone_name=zone.name,
        resource_group_name=group.name,
        location="global",
        virtual_network=privatedns.SubResourceArgs(id=vnet.id),
        registration_enabled=False,
        tags=tags(s),
    )
    secret = password(s, "dbPassword", name(s, "db-password"))
    server = postgres.Server(
        name(s, "db"),
        resource_group_name=group.name,
        location=group.location,
        version="16",
        administrator_login="app",
        administrator_login_password=secret,
        sku=postgres.SkuArgs(
            name=s.db_size,
            tier="Burstable" if s.db_size.startswith("Standard_B") else "GeneralPurpose",
        ),
        storage=postgres.StorageArgs(storage_size_gb=32, auto_grow="Enabled"),
        backup=postgres.BackupArgs(
            backup_retention_days=14 if s.prod else 7, geo_redundant_backup="Disabled"
        ),
        network=postgres.NetworkArgs(
            delegated_subnet_resource_id=subnet.id,
            private_dns_zone_arm_resource_id=zone.id,
            public_network_access="Disabled",
        ),
        data_encryption=postgres.DataEncryptionArgs(type="SystemAssigned"),
        tags=tags(s),
        # The server resolves its name in the private zone: the zone must reach the VNet first.
        opts=pulumi.ResourceOptions(protect=s.prod, depends_on=[link]),
    )
    database = postgres.Database(
        name(s, "db-app"),
        resource_group_name=group.name,
        server_name=server.name,
        database_name="app",
    )
    return contract.postgres_url(
        "app", secret, server.fully_qualified_domain_name, 5432, database.name, sslmode="require"
    )


def _package(s: Settings, group: Any) -> tuple[Any, Any]:
    import pulumi
    import pulumi_azure_native.storage as storage

    account = storage.StorageAccount(
        f"{s.app}{s.stage}pkg".replace("-", "")[:16],
        resource_group_name=group.name,
        location=group.location,
        kind="StorageV2",
        sku=storage.SkuArgs(name="Standard_LRS"),
        enable_https_traffic_only=True,
        minimum_tls_version="TLS1_2",
        allow_blob_public_access=False,
        encryption=storage.EncryptionArgs(
            key_source="Microsoft.Storage",
            services=storage.EncryptionServicesArgs(
                blob=storage.EncryptionServiceArgs(enabled=True, key_type="Account")
            ),
        ),
        tags=tags(s),
    )
    container = storage.BlobContainer(
        name(s, "packages"),
        account_name=account.name,
        resource_group_name=group.name,
        public_access="None",
    )
    blob = storage.Blob(
        name(s, "package"),
        account_name=account.name,
        container_name=container.name,
        resource_group_name=group.name,
        blob_name=PurePosixPath(s.app_package).name,  # a new package -> a new URL -> restart
        type="Block",
        content_type="application/zip",
        metadata={"sha256": s.extra["package_sha256"]} if s.extra.get("package_sha256") else None,
        source=pulumi.FileAsset(s.app_package),
    )
    return blob.url, account


def _web_app(s: Settings, group: Any, subnet: Any) -> tuple[Any, Any]:
    import pulumi_azure_native.web as web

    plan = web.AppServicePlan(
        name(s, "plan"),
        resource_group_name=group.name,
        location=group.location,
        kind="linux",
        reserved=True,
        sku=web.SkuDescriptionArgs(name=s.size, capacity=s.instances),  # prod default 2: no SPOF
        tags=tags(s),
    )
    app = web.WebApp(
        name(s, "app"),
        resource_group_name=group.name,
        location=group.location,
        server_farm_id=plan.id,
        kind="app,linux",
        https_only=True,
        identity=web.ManagedServiceIdentityArgs(type="SystemAssigned"),
        virtual_network_subnet_id=subnet.id,
        site_config=web.SiteConfigArgs(
            linux_fx_version="PYTHON|3.12",
            app_command_line=STARTUP,
            min_tls_version="1.2",
            ftps_state="Disabled",
            http20_enabled=True,
            always_on=s.size not in ("F1", "D1"),
            health_check_path="/health",
            vnet_route_all_enabled=True,
        ),
        tags=tags(s),
    )
    return plan, app


def _grant_package_read(s: Settings, app: Any, account: Any) -> Any:
    import pulumi_azure_native.authorization as authorization

    client = authorization.get_client_config_output()
    return authorization.RoleAssignment(
        name(s, "app-reads-packages"),
        principal_id=app.identity.apply(lambda identity: identity.principal_id),
        principal_type="ServicePrincipal",
        role_definition_id=client.subscription_id.apply(
            lambda sub: (
                f"/subscriptions/{sub}/providers/Microsoft.Authorization/"
                f"roleDefinitions/{BLOB_READER_ROLE}"
            )
        ),
        scope=account.id,
    )


def _app_settings(
    s: Settings, group: Any, app: Any, package_url: Any, database_url: Any, grant: Any
) -> None:
    """Settings in their own resource so the secrets don't turn the whole site config secret.

    Setting WEBSITE_RUN_FROM_PACKAGE restarts the app, which then fetches the blob with its
    identity: the read grant must exist before, or the first start fails to mount the package.
    DEPLOYER_MIGRATIONS tells startup.sh which alembic.ini to upgrade before gunicorn binds.
    """
    import pulumi
    import pulumi_azure_native.web as web

    migrations = {"DEPLOYER_MIGRATIONS": s.migrations} if s.migrations else {}

    web.WebAppApplicationSettings(
        name(s, "app-settings"),
        name=app.name,
        resource_group_name=group.name,
        properties={
            "WEBSITE_RUN_FROM_PACKAGE": package_url,
            "SCM_DO_BUILD_DURING_DEPLOYMENT": "false",
            "ENVIRONMENT": s.stage,
            "SECRET_KEY": password(s, "secretKey", name(s, "secret-key"), 48),
            "DATABASE_URL": database_url,
            **migrations,
        },
        opts=pulumi.ResourceOptions(depends_on=[grant]),
    )


def _custom_domain(s: Settings, group: Any, plan: Any, app: Any) -> None:
    import pulumi
    import pulumi_azure_native.dns as dns
    import pulumi_azure_native.web as web

    verify = dns.RecordSet(
        name(s, "dns-verify"),
        resource_group_name=s.dns_resource_group,
        zone_name=s.dns_zone,
        relative_record_set_name=f"asuid.{s.subdomain}",
        record_type="TXT",
        ttl=300,
        txt_records=[dns.TxtRecordArgs(value=[app.custom_domain_verification_id])],
    )
    cname = dns.RecordSet(
        name(s, "dns"),
        resource_group_name=s.dns_resource_group,
        zone_name=s.dns_zone,
        relative_record_set_name=s.subdomain,
        record_type="CNAME",
        ttl=300,
        cname_record=dns.CnameRecordArgs(cname=app.default_host_name),
    )
    binding = web.WebAppHostNameBinding(
        name(s, "hostname"),
        name=app.name,
        resource_group_name=group.name,
        host_name=s.domain,
        ssl_state="Disabled",
        opts=pulumi.ResourceOptions(depends_on=[verify, cname]),
    )
    certificate = web.Certificate(
        name(s, "certificate"),
        resource_group_name=group.name,
        location=group.location,
        server_farm_id=plan.id,
        canonical_name=s.domain,
        tags=tags(s),
        opts=pulumi.ResourceOptions(depends_on=[binding]),
    )
    web.WebAppHostNameBinding(
        name(s, "hostname-tls"),
        name=app.name,
        resource_group_name=group.name,
        host_name=s.domain,
        ssl_state="SniEnabled",
        thumbprint=certificate.thumbprint,
    )
