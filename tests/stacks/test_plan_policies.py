"""Policy rules: on synthetic resources (each rule can fire) and on real stacks with bad config."""

import pytest
from stack_helpers import run_stack, settings_of

from deployer.plan import policies
from deployer.plan.engine import Resource

DEV = settings_of("aws-dev")
PROD = settings_of("aws-prod")
TAGS = {"project": "app", "stage": "dev"}
RDS = {  # a valid, private, backed-up RDS instance
    "engine": "postgres",
    "instanceClass": "db.t4g.micro",
    "publiclyAccessible": False,
    "storageEncrypted": True,
    "backupRetentionPeriod": 7,
}
DO_CLUSTER = {"engine": "pg", "size": "db-s-1vcpu-1gb", "region": "fra1", "nodeCount": 1}


def rules(resources: list[Resource], s=DEV) -> set[str]:
    return {v.rule for v in policies.check(resources, s)}


def sg(*ingress: dict) -> Resource:
    return Resource(
        "aws:ec2/securityGroup:SecurityGroup",
        "sg",
        {"ingress": list(ingress), "tags": TAGS},
        taggable="tags",
    )


@pytest.mark.parametrize(
    "rule",
    [
        {"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": ["0.0.0.0/0"]},
        {"protocol": "tcp", "fromPort": 0, "toPort": 65535, "ipv6CidrBlocks": ["::/0"]},
        {"protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": ["0.0.0.0/0"]},
        {"protocol": "tcp", "fromPort": 3389, "toPort": 3389, "cidrBlocks": ["0.0.0.0/0"]},
    ],
)
def test_world_ssh_or_rdp_is_a_violation(rule: dict) -> None:
    assert "no-world-ssh-rdp" in rules([sg(rule)])  # all-port rules also expose databases


def test_database_port_open_to_the_world_is_a_violation() -> None:
    rule = {"protocol": "tcp", "fromPort": 5432, "toPort": 5432, "cidrBlocks": ["0.0.0.0/0"]}
    (violation,) = policies.check([sg(rule)], DEV)
    assert violation.rule == "db-not-public"
    assert "PostgreSQL open to 0.0.0.0/0" in violation.message


def test_operator_ssh_and_world_https_are_fine() -> None:
    ok = [
        {"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": ["203.0.113.7/32"]},
        {"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": ["0.0.0.0/0"]},
    ]
    assert rules([sg(*ok)]) == set()


def test_digitalocean_firewall_and_database_firewall() -> None:
    firewall = Resource(
        "digitalocean:index/firewall:Firewall",
        "fw",
        {
            "inboundRules": [
                {"protocol": "tcp", "portRange": "1-65535", "sourceAddresses": ["::/0"]}
            ]
        },
    )
    assert rules([firewall]) == {"no-world-ssh-rdp", "db-not-public"}  # every port is open
    cluster = Resource(
        "digitalocean:index/databaseCluster:DatabaseCluster",
        "db",
        DO_CLUSTER | {"tags": ["project:app", "stage:dev"]},
        taggable="tags",
    )
    assert rules([cluster]) == {"db-not-public"}  # no database firewall at all
    open_db = Resource(
        "digitalocean:index/databaseFirewall:DatabaseFirewall",
        "dbfw",
        {"rules": [{"type": "ip_addr", "value": "0.0.0.0/0"}]},
    )
    assert rules([cluster, open_db]) == {"db-not-public"}


@pytest.mark.parametrize(
    ("inputs", "expected"),
    [
        ({"publiclyAccessible": True}, {"db-not-public"}),
        ({"publiclyAccessible": None}, {"db-not-public"}),  # unset is not good enough
        ({"storageEncrypted": False}, {"encryption"}),
        ({"backupRetentionPeriod": 1}, {"backups"}),
        ({"backupRetentionPeriod": None}, {"backups"}),
        ({"engine": "postgress"}, {"valid-values"}),
        ({"engine": "(known after apply)"}, {"valid-values"}),  # an unknown engine fails
        ({"instanceClass": "db.t4g.mini"}, {"valid-values"}),
        ({}, set()),
    ],
)
def test_rds_public_unencrypted_without_backups_or_invalid(inputs: dict, expected: set) -> None:
    given = {k: v for k, v in (RDS | inputs).items() if v is not None}
    db = Resource("aws:rds/instance:Instance", "db", given | {"tags": TAGS}, taggable="tags")
    assert rules([db]) == expected


def test_prod_needs_deletion_protection_or_protect() -> None:
    prod_tags = {"project": "app", "stage": "prod"}
    db = Resource(
        "aws:rds/instance:Instance",
        "db",
        RDS | {"multiAz": True, "tags": prod_tags},
        taggable="tags",
    )
    assert rules([db], PROD) == {"prod-deletion-protection"}
    db.inputs["deletionProtection"] = True
    assert rules([db], PROD) == set()
    cluster = Resource(
        "digitalocean:index/databaseCluster:DatabaseCluster",
        "c",
        DO_CLUSTER | {"size": "db-s-2vcpu-4gb", "nodeCount": 2},
    )
    firewall = Resource("digitalocean:index/databaseFirewall:DatabaseFirewall", "f", {"rules": []})
    assert "prod-deletion-protection" in rules([cluster, firewall], PROD)
    cluster.protect = True
    assert "prod-deletion-protection" not in rules([cluster, firewall], PROD)


def test_https_only_for_web_apps() -> None:
    good = {"httpsOnly": True, "siteConfig": {"minTlsVersion": "1.2", "ftpsState": "Disabled"}}
    app = Resource("azure-native:web:WebApp", "app", good | {"tags": TAGS}, taggable="tags")
    assert rules([app]) == set()
    app.inputs["httpsOnly"] = False
    assert rules([app]) == {"https-only"}


def test_taggable_resources_need_project_and_stage() -> None:
    vpc = Resource("aws:ec2/vpc:Vpc", "vpc", {"tags": {"project": "app"}}, taggable="tags")
    (violation,) = policies.check([vpc], DEV)
    assert violation.rule == "tagged" and "stage=dev" in violation.message
    wrong_stage = Resource(
        "aws:ec2/vpc:Vpc", "vpc", {"tags": TAGS | {"stage": "prod"}}, taggable="tags"
    )
    assert rules([wrong_stage]) == {"tagged"}
    untaggable = Resource("aws:route53/record:Record", "r", {})
    assert rules([untaggable]) == set()


def test_recorder_knows_which_types_take_tags_or_labels() -> None:
    from deployer.plan.recorder import taggable

    run_stack("gcp-dev")  # imports the SDK modules
    run_stack("aws-dev")
    assert taggable("aws:ec2/vpc:Vpc") == "tags"
    assert taggable("aws:route53/record:Record") is None
    assert taggable("gcp:cloudrunv2/service:Service") == "labels"  # not GCP's resource-manager tags
    assert taggable("gcp:dns/recordSet:RecordSet") is None


# --- whole stacks with a bad config: the policy engine names the rule ----------------------------


def violations(stack: str, **overrides: object) -> set[str]:
    s = settings_of(stack, **overrides)
    return {
        v.rule for v in policies.check(run_stack(stack, preview=True, **overrides).resources, s)
    }


@pytest.mark.parametrize("stack", ["aws-dev", "digitalocean-dev"])
@pytest.mark.parametrize("cidrs", [["0.0.0.0/0"], ["203.0.113.7/32", "::/0"]])
def test_world_ssh_config_fails_with_rule_name(stack: str, cidrs: list) -> None:
    found = violations(stack, sshCidrs=cidrs)
    # DigitalOcean admits the operator's IPv4 ranges to the database too (for the schema grant)
    also = {"db-not-public"} if stack == "digitalocean-dev" and "0.0.0.0/0" in cidrs else set()
    assert found == {"no-world-ssh-rdp"} | also


def test_stage_mismatch_in_tags_is_caught_on_a_real_stack() -> None:
    # settings say prod, but the program tagged with the stack's dev stage: simulate by checking
    # the dev stack's resources against prod settings.
    run = run_stack("aws-dev", preview=True)
    found = {v.rule for v in policies.check(run.resources, PROD)}
    assert {"tagged", "prod-deletion-protection"} <= found
