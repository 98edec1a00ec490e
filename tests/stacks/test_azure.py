"""Azure stack under the mock engine (apply mode)."""

import pytest
from stack_contract import assert_contract
from stack_helpers import ROOT, one, run_stack, settings_of, waits_for

APP = "azure-native:web:WebApp"
DB = "azure-native:dbforpostgresql:Server"


def test_web_app_https_only_tls12_gunicorn_uvicorn_worker() -> None:
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
    # what promotion reads: the package this stack deployed
    assert run_stack(stack).outputs["artifact"] == {
        "deployer:appPackage": s.app_package,
        "deployer:packageSha256": s.extra["package_sha256"],
    }


def test_database_waits_for_its_private_dns_link() -> None:
    run = run_stack("azure-dev")
    assert waits_for(run, one(run, DB), "app-dev-db-dns-link")


def test_app_settings_wait_for_the_package_read_grant() -> None:
    run = run_stack("azure-dev")
    settings = one(run, "azure-native:web:WebAppApplicationSettings")
    assert waits_for(run, settings, "app-dev-app-reads-packages")
    assert settings.revealed["properties"]["DEPLOYER_MIGRATIONS"] == "app/alembic.ini"


def startup_run(tmp_path, migrate_exit: int) -> tuple[int, list[str]]:
    """Run templates/appservice-startup.sh with a ready venv whose tools only log their argv."""
    import hashlib
    import shutil
    import subprocess

    site = tmp_path / "site"
    site.mkdir()
    shutil.copy(ROOT / "templates" / "appservice-startup.sh", site / "startup.sh")
    (site / "requirements.txt").write_text("fastapi\n")
    digest = hashlib.sha256((site / "requirements.txt").read_bytes()).hexdigest()[:16]
    venv = tmp_path / "venvs" / digest
    (venv / "bin").mkdir(parents=True)
    (venv / ".complete").touch()
    log = tmp_path / "calls"
    for tool, code in (("alembic", migrate_exit), ("python", 0)):
        script = venv / "bin" / tool
        script.write_text(f'#!/bin/sh\necho "{tool} $*" >> "{log}"\nexit {code}\n')
        script.chmod(0o755)
    env = {
        "PATH": "/usr/bin:/bin",
        "DEPLOYER_VENV_ROOT": str(tmp_path / "venvs"),
        "DEPLOYER_MIGRATIONS": "app/alembic.ini",
    }
    done = subprocess.run(["sh", str(site / "startup.sh")], env=env, check=False)
    return done.returncode, log.read_text().splitlines() if log.exists() else []


def test_app_service_startup_migrates_before_the_app_binds(tmp_path) -> None:
    code, calls = startup_run(tmp_path, migrate_exit=0)
    assert code == 0
    assert calls[0] == "alembic -c app/alembic.ini upgrade head"
    assert calls[1].startswith("python -m gunicorn --config app/gunicorn.conf.py")


def test_app_service_startup_never_binds_after_a_failed_migration(tmp_path) -> None:
    code, calls = startup_run(tmp_path, migrate_exit=3)
    assert code == 3
    assert calls == ["alembic -c app/alembic.ini upgrade head"]


def test_app_service_instance_count_comes_from_the_stack_config() -> None:
    plan = "azure-native:web:AppServicePlan"
    assert one(run_stack("azure-dev"), plan).inputs["sku"]["capacity"] == 1
    assert one(run_stack("azure-prod"), plan).inputs["sku"]["capacity"] == 2
    assert one(run_stack("azure-dev", instances="3"), plan).inputs["sku"]["capacity"] == 3
