"""GCP stack under the mock engine (apply mode)."""

import pytest
from stack_contract import assert_contract
from stack_helpers import one, run_stack, settings_of, waits_for

SQL = "gcp:sql/databaseInstance:DatabaseInstance"
RUN = "gcp:cloudrunv2/service:Service"
JOB = "gcp:cloudrunv2/job:Job"
API = "gcp:projects/service:Service"
# The API each kind of resource needs enabled first (module of its type token -> API).
API_OF_MODULE = {
    "compute": "compute.googleapis.com",
    "servicenetworking": "servicenetworking.googleapis.com",
    "sql": "sqladmin.googleapis.com",
    "serviceaccount": "iam.googleapis.com",
    "secretmanager": "secretmanager.googleapis.com",
    "cloudrunv2": "run.googleapis.com",
    "cloudrun": "run.googleapis.com",
    "dns": "dns.googleapis.com",
}


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
    project_wide = [r for r in run.resources if r.type.startswith("gcp:projects/iam")]
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
    # what promotion reads: the image this stack deployed
    assert run_stack(stack).outputs["artifact"] == {"deployer:image": s.image}


def test_every_resource_waits_for_the_api_it_uses() -> None:
    run = run_stack("gcp-dev")
    apis = {r.inputs["service"]: r for r in run.of_type(API)}
    assert set(apis) == set(API_OF_MODULE.values())
    assert {r.inputs["project"] for r in apis.values()} == {"example-project"}
    assert all(r.inputs["disableOnDestroy"] is False for r in apis.values())
    checked = 0
    for r in run.resources:
        module = r.type.split(":")[1].split("/")[0]
        if module in API_OF_MODULE:
            api = apis[API_OF_MODULE[module]]
            assert waits_for(run, r, api.name), f"{r.name} does not wait for {api.name}"
            checked += 1
    assert checked >= 15


def test_migrations_run_as_a_job_that_completes_before_the_service_moves() -> None:
    run = run_stack("gcp-dev")
    s = settings_of("gcp-dev")
    job = one(run, JOB)
    (container,) = job.inputs["template"]["template"]["containers"]
    assert container["image"] == one(run, RUN).inputs["template"]["containers"][0]["image"]
    assert [container["commands"], container["args"]] == [
        ["alembic"],
        ["-c", "app/alembic.ini", "upgrade", "head"],
    ]
    # the same identity, network and secret environment as the service
    service = one(run, RUN).inputs["template"]
    assert container["envs"] == service["containers"][0]["envs"]
    assert job.inputs["template"]["template"]["serviceAccount"] == service["serviceAccount"]
    assert job.inputs["template"]["template"]["vpcAccess"] == service["vpcAccess"]
    assert job.inputs["template"]["template"]["maxRetries"] == 0
    # runExecutionToken: Pulumi waits until that execution completed; one per image
    assert job.inputs["runExecutionToken"] == s.image.rsplit(":", 1)[1][:32]
    assert len(job.inputs["name"]) + len(job.inputs["runExecutionToken"]) < 63
    assert waits_for(run, one(run, RUN), job.name)
    for grant in run.of_type("gcp:secretmanager/secretIamMember:SecretIamMember"):
        assert waits_for(run, job, grant.name)
    other = "europe-docker.pkg.dev/example-project/app/app@sha256:" + "1" * 64
    assert one(run_stack("gcp-dev", image=other), JOB).inputs["runExecutionToken"] == "1" * 32


def test_migrations_can_be_turned_off() -> None:
    run = run_stack("gcp-dev", migrations="none")
    assert run.of_type(JOB) == []
    assert one(run, RUN)
