"""Config validation: errors name the key and the `pulumi config set` command that fixes it."""

import pytest

from stacks.settings import ConfigError, load

AWS = {
    "cloud": "aws",
    "stage": "dev",
    "domain": "api.example.com",
    "sshCidrs": '["203.0.113.7/32"]',
    "sshPublicKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample you@laptop",
}
AWS_PROVIDER = {"aws:region": "eu-central-1"}
GCP = {
    "cloud": "gcp",
    "stage": "dev",
    "domain": "api.example.com",
    "image": "eu.gcr.io/p/app@sha256:" + "a" * 64,
}


def error(raw: dict, provider: dict | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load(raw, AWS_PROVIDER if provider is None else provider)
    return info.value


def test_valid_aws_config_loads() -> None:
    s = load(AWS, AWS_PROVIDER)
    assert (s.cloud, s.stage, s.region, s.dns_zone) == ("aws", "dev", "eu-central-1", "example.com")
    assert s.ssh_cidrs == ("203.0.113.7/32",)
    assert s.subdomain == "api"
    assert not s.prod


@pytest.mark.parametrize("key", ["cloud", "stage", "domain", "sshCidrs", "sshPublicKey"])
def test_missing_key_names_key_and_command(key: str) -> None:
    raw = {k: v for k, v in AWS.items() if k != key}
    exc = error(raw)
    assert exc.key == f"deployer:{key}"
    assert "missing" in str(exc)
    assert "pulumi config set" in exc.command and f"deployer:{key}" in exc.command


def test_list_keys_get_a_path_command() -> None:
    exc = error({k: v for k, v in AWS.items() if k != "sshCidrs"})
    assert exc.command == "pulumi config set --path 'deployer:sshCidrs[0]' 203.0.113.7/32"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("cloud", "heroku"),
        ("stage", "Prod!"),
        ("domain", "not a domain"),
        ("sshCidrs", '["203.0.113.7/33"]'),
        ("sshCidrs", '["10.0.0.1/8"]'),  # host bits set
        ("sshCidrs", "[]"),
        ("sshPublicKey", "AAAA no type"),
        ("dnsZone", "other.org"),
        ("app", "App_1"),
        ("size", "t3.small; rm -rf /"),
    ],
)
def test_invalid_values_are_rejected_with_the_key(key: str, value: str) -> None:
    exc = error(AWS | {key: value})
    assert exc.key == f"deployer:{key}"


def test_provider_keys_are_required_per_cloud() -> None:
    assert error(AWS, provider={}).key == "aws:region"
    assert error(GCP, provider={}).key == "gcp:project"


def test_gcp_instance_bounds_and_digest_pinned_image() -> None:
    gcp = GCP
    provider = {"gcp:project": "p"}
    assert load(gcp | {"minInstances": "1", "maxInstances": "4"}, provider).max_instances == 4
    exc = error(gcp | {"minInstances": "3", "maxInstances": "2"}, provider)
    assert exc.key == "deployer:maxInstances"
    assert error(gcp | {"image": "app:latest"}, provider).key == "deployer:image"
    assert error(gcp | {"image": "eu.gcr.io/p/app:1.0"}, provider).key == "deployer:image"


def test_azure_package_path_and_hash() -> None:
    azure = {"cloud": "azure", "stage": "dev", "domain": "api.example.com"}
    package = {"appPackage": "dist/appservice-0123456789abcdef.zip"}
    assert load(azure | package).app_package == "dist/appservice-0123456789abcdef.zip"
    assert error(azure).key == "deployer:appPackage"
    for bad in ("/abs/app.zip", "../app.zip", "dist/app.tar"):
        assert error(azure | {"appPackage": bad}).key == "deployer:appPackage"
    assert error(azure | package | {"packageSha256": "xyz"}).key == "deployer:packageSha256"


def test_secrets_are_set_with_secret_flag() -> None:
    from stacks.settings import set_command

    assert set_command("dbPassword").startswith("pulumi config set --secret deployer:dbPassword")


def test_world_cidr_is_syntactically_valid_so_policy_reports_it() -> None:
    assert load(AWS | {"sshCidrs": '["0.0.0.0/0"]'}, AWS_PROVIDER).ssh_cidrs == ("0.0.0.0/0",)


AZURE = {
    "cloud": "azure",
    "stage": "dev",
    "domain": "api.example.com",
    "appPackage": "dist/appservice-0123456789abcdef.zip",
}
DIGITALOCEAN = {k: v for k, v in AWS.items() if k != "cloud"} | {"cloud": "digitalocean"}


@pytest.mark.parametrize(("raw", "provider"), [(GCP, {"gcp:project": "p"}), (AZURE, {})])
def test_apex_domain_is_refused_where_the_platform_needs_a_cname(raw, provider) -> None:
    apex = raw | {"domain": "example.com", "dnsZone": "example.com"}
    exc = error(apex, provider)
    assert exc.key == "deployer:domain"
    assert "apex" in exc.problem


@pytest.mark.parametrize(("raw", "provider"), [(AWS, AWS_PROVIDER), (DIGITALOCEAN, {})])
def test_apex_domain_is_fine_with_an_a_record(raw, provider) -> None:
    s = load(raw | {"domain": "example.com", "dnsZone": "example.com"}, provider)
    assert s.subdomain == "@"


def test_prod_digitalocean_database_needs_a_plan_that_has_standby_nodes() -> None:
    prod = DIGITALOCEAN | {"stage": "prod"}
    assert error(prod | {"dbSize": "db-s-1vcpu-1gb"}, {}).key == "deployer:dbSize"
    assert error(prod, {}).key == "deployer:dbSize"  # the default is the smallest plan
    assert load(prod | {"dbSize": "db-s-2vcpu-4gb"}, {}).db_size == "db-s-2vcpu-4gb"
    assert load(DIGITALOCEAN | {"dbSize": "db-s-1vcpu-1gb"}, {}).db_size == "db-s-1vcpu-1gb"


def test_aws_ami_is_optional_and_validated() -> None:
    assert load(AWS, AWS_PROVIDER).ami == ""
    assert load(AWS | {"ami": "ami-0123456789abcdef0"}, AWS_PROVIDER).ami == "ami-0123456789abcdef0"
    for bad in ("ami-xyz", "ubuntu-24.04", "ami-0123"):
        assert error(AWS | {"ami": bad}).key == "deployer:ami"


def test_platform_migrations_default_to_the_apps_alembic_ini() -> None:
    provider = {"gcp:project": "p"}
    assert load(GCP, provider).migrations == "app/alembic.ini"
    assert load(GCP | {"migrations": "none"}, provider).migrations == ""
    assert load(AZURE | {"migrations": "svc/alembic.ini"}, {}).migrations == "svc/alembic.ini"
    for bad in ("../alembic.ini", "/etc/alembic.ini", "app/alembic.cfg"):
        assert error(GCP | {"migrations": bad}, provider).key == "deployer:migrations"


def test_vm_hosts_and_readiness_path() -> None:
    assert (load(AWS, AWS_PROVIDER).hosts, load(AWS, AWS_PROVIDER).readiness_path) == (1, "/ready")
    s = load(DIGITALOCEAN | {"hosts": "3", "readinessPath": "/healthz"}, {})
    assert (s.hosts, s.readiness_path) == (3, "/healthz")
    for bad in ("0", "21", "two"):
        assert error(AWS | {"hosts": bad}).key == "deployer:hosts"
    for bad in ("ready", "/ready?x=1", "/../etc"):
        assert error(AWS | {"readinessPath": bad}).key == "deployer:readinessPath"


def test_app_service_instances_default_two_in_prod() -> None:
    assert load(AZURE, {}).instances == 1
    assert load(AZURE | {"stage": "prod"}, {}).instances == 2
    assert load(AZURE | {"instances": "4"}, {}).instances == 4
    assert error(AZURE | {"instances": "0"}, {}).key == "deployer:instances"
