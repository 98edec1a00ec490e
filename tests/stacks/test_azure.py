"""Azure stack under the mock engine (apply mode)."""

import pytest
from stack_contract import assert_contract
from stack_helpers import one, run_stack, settings_of

APP = "azure-native:web:WebApp"
DB = "azure-native:dbforpostgresql:Server"


def test_web_app_https_only_tls12_gunicorn_uvicorn_worker() -> None:
    from stack_helpers import ROOT

    app = one(run_stack("azure-dev"), APP).inputs
    assert app["httpsOnly"] is True
    site = app["siteConfig"]
    assert site["minTlsVersion"] == "1.2"
    assert site["ftpsState"] == "Disabled"
    assert site["linuxFxVersion"].startswith("PYTHON|3.")
    assert site["appCommandLine"] == "sh startup.sh"  # the package's script (deployer package)
    startup = (ROOT / "templates" / "appservice-startup.sh").read_text()
    assert "--worker-class uvicorn_worker.UvicornWorker app.main:app" in startup
    assert app["identity"] == {"type": "SystemAssigned"}


def test_app_settings_run_from_package_and_secrets() -> None:
    run = run_stack("azure-dev")
    settings = one(run, "azure-native:web:WebAppApplicationSettings")
    assert settings.inputs["properties"] == "(secret)"  # holds secrets: masked as a whole
    values = settings.revealed["properties"]
    assert values["DATABASE_URL"] == run.outputs["database_url"]
    assert values["SECRET_KEY"] == "mockGeneratedPassw0rd"
    assert values["WEBSITE_RUN_FROM_PACKAGE"].endswith("/app-dev-package")
    assert values["ENVIRONMENT"] == "dev"
    blob = one(run, "azure-native:storage:Blob").inputs
    s = settings_of("azure-dev")
    assert blob["source"] == f"<FileAsset {s.app_package}>"
    assert blob["blobName"] == s.app_package.rsplit("/", 1)[1]  # new package, new URL
    assert blob["metadata"] == {"sha256": s.extra["package_sha256"]}
    grant = one(run, "azure-native:authorization:RoleAssignment").inputs
    assert grant["roleDefinitionId"].endswith("2a2b9908-6ea1-4ae2-8e65-a410df84e7d1")
    assert grant["principalId"] == "11111111-2222-3333-4444-555555555555"  # the app's identity


def test_storage_private_https_encrypted() -> None:
    account = one(run_stack("azure-dev"), "azure-native:storage:StorageAccount").inputs
    assert account["allowBlobPublicAccess"] is False
    assert account["enableHttpsTrafficOnly"] is True
    assert account["minimumTlsVersion"] == "TLS1_2"
    assert account["encryption"]["services"]["blob"]["enabled"] is True
    container = one(run_stack("azure-dev"), "azure-native:storage:BlobContainer").inputs
    assert container["publicAccess"] == "None"


def test_postgres_not_on_the_internet() -> None:
    run = run_stack("azure-dev")
    db = one(run, DB).inputs
    assert db["network"]["publicNetworkAccess"] == "Disabled"
    assert db["network"]["delegatedSubnetResourceId"] == "app-dev-db-subnet-id"
    assert run.of_type("azure-native:dbforpostgresql:FirewallRule") == []
    assert one(run, APP).inputs["virtualNetworkSubnetId"] == "app-dev-app-subnet-id"


def test_prod_lock_and_protected_database() -> None:
    prod = run_stack("azure-prod")
    lock = one(prod, "azure-native:authorization:ManagementLockAtResourceGroupLevel").inputs
    assert lock["level"] == "CanNotDelete"
    assert one(prod, DB).protect is True
    dev = run_stack("azure-dev")
    assert dev.of_type("azure-native:authorization:ManagementLockAtResourceGroupLevel") == []


def test_custom_domain_dns_and_managed_certificate() -> None:
    run = run_stack("azure-dev")
    records = {r.inputs["recordType"]: r.inputs for r in run.of_type("azure-native:dns:RecordSet")}
    assert records["CNAME"]["relativeRecordSetName"] == "api-dev"
    assert records["CNAME"]["cnameRecord"] == {"cname": "app-dev-app.azurewebsites.net"}
    assert records["TXT"]["relativeRecordSetName"] == "asuid.api-dev"
    assert records["TXT"]["txtRecords"] == [{"value": ["0123456789ABCDEF"]}]
    certificate = one(run, "azure-native:web:Certificate").inputs
    assert certificate["canonicalName"] == "api-dev.example.com"
    bindings = {r.name: r.inputs for r in run.of_type("azure-native:web:WebAppHostNameBinding")}
    assert bindings["app-dev-hostname-tls"]["sslState"] == "SniEnabled"
    assert bindings["app-dev-hostname-tls"]["thumbprint"] == "ABCDEF0123456789"


@pytest.mark.parametrize("stack", ["azure-dev", "azure-prod"])
def test_output_contract(stack: str) -> None:
    s = settings_of(stack)
    assert_contract(run_stack(stack), "azure", s.stage, s.domain, vm=False)
