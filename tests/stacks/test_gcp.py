"""GCP stack under the mock engine (apply mode)."""

import pytest
from stack_contract import assert_contract
from stack_helpers import one, run_stack, settings_of

SQL = "gcp:sql/databaseInstance:DatabaseInstance"
RUN = "gcp:cloudrunv2/service:Service"


def test_cloud_sql_private_ip_only_tls_backups() -> None:
    run = run_stack("gcp-dev")
    settings = one(run, SQL).inputs["settings"]
    ip = settings["ipConfiguration"]
    assert ip["ipv4Enabled"] is False
    assert ip["privateNetwork"] == "app-dev-vpc-id"
    assert "authorizedNetworks" not in ip
    assert ip["sslMode"] == "ENCRYPTED_ONLY"
    assert settings["backupConfiguration"]["enabled"] is True
    assert one(run, SQL).inputs["databaseVersion"] == "POSTGRES_16"
    assert "@10.30.0.3:5432/" in run.outputs["database_url"]  # the private IP


def test_deletion_protection_in_prod_only() -> None:
    prod, dev = one(run_stack("gcp-prod"), SQL).inputs, one(run_stack("gcp-dev"), SQL).inputs
    assert prod["deletionProtection"] is True
    assert prod["settings"]["deletionProtectionEnabled"] is True
    assert one(run_stack("gcp-prod"), RUN).inputs["deletionProtection"] is True
    assert dev["deletionProtection"] is False


def test_cloud_run_image_scaling_and_secrets_from_secret_manager() -> None:
    run = run_stack("gcp-dev")
    s = settings_of("gcp-dev")
    template = one(run, RUN).inputs["template"]
    assert template["scaling"] == {"minInstanceCount": 0, "maxInstanceCount": 2}
    (container,) = template["containers"]
    assert container["image"] == s.image
    assert "@sha256:" in s.image
    assert container["ports"] == {"containerPort": 8080}  # templates/Dockerfile
    envs = {env["name"]: env for env in container["envs"]}
    for key, secret in (
        ("SECRET_KEY", "app-dev-secret-key"),
        ("DATABASE_URL", "app-dev-database-url"),
    ):
        assert "value" not in envs[key]  # never a plain env value
        assert envs[key]["valueSource"]["secretKeyRef"]["secret"] == secret
    assert template["vpcAccess"]["egress"] == "PRIVATE_RANGES_ONLY"
    scaled = run_stack("gcp-dev", minInstances="1", maxInstances="5")
    assert one(scaled, RUN).inputs["template"]["scaling"]["maxInstanceCount"] == 5


def test_service_account_may_read_its_two_secrets_and_nothing_else() -> None:
    run = run_stack("gcp-dev")
    account = one(run, "gcp:serviceaccount/account:Account").inputs["accountId"]
    email = f"{account}@project.iam.gserviceaccount.com"
    assert one(run, RUN).inputs["template"]["serviceAccount"] == email
    grants = run.of_type("gcp:secretmanager/secretIamMember:SecretIamMember")
    assert sorted(g.inputs["secretId"] for g in grants) == [
        "app-dev-database-url-id",
        "app-dev-secret-key-id",
    ]
    assert {(g.inputs["role"], g.inputs["member"]) for g in grants} == {
        ("roles/secretmanager.secretAccessor", f"serviceAccount:{email}")
    }
    project_wide = [r for r in run.resources if r.type.startswith("gcp:projects/")]
    assert project_wide == []


def test_secret_values_are_secret_and_db_url_matches_output() -> None:
    run = run_stack("gcp-dev")
    versions = {r.name: r for r in run.of_type("gcp:secretmanager/secretVersion:SecretVersion")}
    assert versions["app-dev-database-url"].inputs["secretData"] == "(secret)"
    assert versions["app-dev-database-url"].revealed["secretData"] == run.outputs["database_url"]


def test_public_https_endpoint_on_the_custom_domain() -> None:
    run = run_stack("gcp-dev")
    invoker = one(run, "gcp:cloudrunv2/serviceIamMember:ServiceIamMember").inputs
    assert (invoker["role"], invoker["member"]) == ("roles/run.invoker", "allUsers")
    mapping = one(run, "gcp:cloudrun/domainMapping:DomainMapping").inputs
    assert mapping["name"] == "api-dev.example.com"
    assert mapping["spec"]["routeName"] == "app-dev-app"
    record = one(run, "gcp:dns/recordSet:RecordSet").inputs
    assert (record["name"], record["type"]) == ("api-dev.example.com.", "CNAME")
    assert record["rrdatas"] == ["ghs.googlehosted.com."]
    assert record["managedZone"] == "example-com"


@pytest.mark.parametrize("stack", ["gcp-dev", "gcp-prod"])
def test_output_contract(stack: str) -> None:
    s = settings_of(stack)
    assert_contract(run_stack(stack), "gcp", s.stage, s.domain, vm=False)
