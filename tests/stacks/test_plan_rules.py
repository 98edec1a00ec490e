"""The planner's recorded dependencies, address coverage, failing closed, and the newer rules."""

import pytest
from stack_helpers import one, run_stack, settings_of

from deployer.plan import policies
from deployer.plan.coverage import coverage
from deployer.plan.engine import Resource
from deployer.plan.values import UNKNOWN

DEV = settings_of("aws-dev")
PROD = settings_of("aws-prod")


def rules(resources: list[Resource], s=DEV) -> set[str]:
    return {v.rule for v in policies.check(resources, s)}


@pytest.mark.parametrize(
    ("sources", "world"),
    [
        (["0.0.0.0/0"], True),
        (["0.0.0.0/1", "128.0.0.0/1"], True),
        ([f"{n}.0.0.0/9" for n in (10, 20)], False),  # two /9s: exactly a /8's worth
        ([f"{n}.0.0.0/9" for n in (10, 20, 30)], True),  # three: more than a /8
        (["10.0.0.0/9", "10.128.0.0/9", "10.0.0.0/9"], False),  # overlap counted once: one /8
        (["10.0.0.0/8"], False),
        (["11.0.0.0/8", "12.0.0.0/8"], True),
        (["203.0.113.7/32", "::/0"], True),
        (["2000::/3"], True),
        (["2001:db8::/32"], False),
        (["*"], True),
        (["Internet"], True),
        (["VirtualNetwork"], False),
        ([], False),
    ],
)
def test_coverage_counts_anything_beyond_a_slash_8_as_the_world(sources, world) -> None:
    found = coverage(sources)
    assert bool(found.world) is world
    assert found.unknown == []


@pytest.mark.parametrize("source", [UNKNOWN, "prefix-list", "10.0.0.300/32"])
def test_unreadable_sources_fail_closed(source) -> None:
    assert coverage(["203.0.113.7/32", source]).unknown == [source]


def sg(*ingress: dict, name: str = "sg") -> Resource:
    return Resource(
        "aws:ec2/securityGroup:SecurityGroup", name, {"ingress": list(ingress)}, urn=f"urn:{name}"
    )


def ssh(**rule) -> dict:
    return {"protocol": "tcp", "fromPort": 22, "toPort": 22} | rule


@pytest.mark.parametrize(
    "resources",
    [
        [sg(ssh(cidrBlocks=["0.0.0.0/1", "128.0.0.0/1"]))],
        [sg(ssh(cidrBlocks=["0.0.0.0/1"]), ssh(cidrBlocks=["128.0.0.0/1"]))],
        [sg(ssh(cidrBlocks=[f"{n}.0.0.0/9" for n in (1, 2, 3)]))],
        [sg(ssh(cidrBlocks=UNKNOWN))],  # the whole list known only after apply
        [sg(ssh(cidrBlocks=[UNKNOWN]))],
        [sg(ssh(protocol=UNKNOWN, cidrBlocks=["0.0.0.0/1", "128.0.0.0/1"]))],
        [sg({"protocol": "tcp", "fromPort": UNKNOWN, "toPort": 443, "cidrBlocks": ["::/0"]})],
        [sg(ssh(prefixListIds=["pl-0123"]))],
        [  # standalone rules add up per security group (their recorded securityGroupId)
            sg(name="web"),
            *[
                Resource(
                    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
                    f"r{n}",
                    {"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "cidrIpv4": f"{n}.0.0.0/9"},
                    property_dependencies={"securityGroupId": frozenset({"urn:web"})},
                )
                for n in (1, 2, 3)
            ],
        ],
        [Resource("aws:ec2/networkAclIngressFirewall:Future", "x", {})],  # unread type
    ],
)
def test_ssh_open_in_any_shape_is_a_violation(resources) -> None:
    assert "no-world-ssh-rdp" in rules(resources)


def test_two_slash_9s_on_different_groups_are_separate_and_fine() -> None:
    a = sg(ssh(cidrBlocks=["1.0.0.0/9"]), name="a")
    b = sg(ssh(cidrBlocks=["1.128.0.0/9"]), name="b")
    assert rules([a, b]) == set()
    assert rules([sg(ssh(cidrBlocks=["1.0.0.0/9", "1.128.0.0/9"]))]) == set()  # exactly a /8


def test_gcp_firewall_without_sources_is_open_to_everyone() -> None:
    fw = Resource("gcp:compute/firewall:Firewall", "fw", {"allows": [{"protocol": "tcp"}]})
    assert {"no-world-ssh-rdp", "db-not-public"} <= rules([fw])


def test_do_database_firewall_fails_closed_on_unknown_rule_types() -> None:
    cluster = Resource(
        "digitalocean:index/databaseCluster:DatabaseCluster",
        "db",
        {"engine": "pg", "size": "db-s-1vcpu-1gb", "region": "fra1"},
    )
    odd = Resource(
        "digitalocean:index/databaseFirewall:DatabaseFirewall",
        "f",
        {"rules": [{"type": UNKNOWN, "value": "x"}]},
    )
    assert rules([cluster, odd]) == {"db-not-public"}


def test_planner_records_dependencies_by_urn() -> None:
    run = run_stack("aws-prod", preview=True)
    eip = one(run, "aws:ec2/eip:Eip")
    server = one(run, "aws:ec2/instance:Instance")
    gateway = one(run, "aws:ec2/internetGateway:InternetGateway")
    assert server.urn.endswith("$aws:ec2/instance:Instance::app-prod-server")
    assert eip.property_dependencies["instance"] == {server.urn}  # its input came from there
    assert gateway.urn in eip.dependencies  # depends_on
    assert gateway.urn not in eip.property_dependencies["instance"]


def test_dropped_dependency_is_an_ordering_violation() -> None:
    run = run_stack("aws-prod", preview=True)
    eip = one(run, "aws:ec2/eip:Eip")
    gateway = one(run, "aws:ec2/internetGateway:InternetGateway")
    assert "ordering" not in rules(run.resources, PROD)
    dropped = Resource(
        eip.type, eip.name, eip.inputs, urn=eip.urn, dependencies=eip.dependencies - {gateway.urn}
    )
    others = [r for r in run.resources if r is not eip]
    assert "ordering" in rules([*others, dropped], PROD)


def test_web_ports_only_through_the_load_balancer() -> None:
    lb_sg = sg(
        {"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": ["0.0.0.0/0"]}, name="lb"
    )
    host = sg(
        {"protocol": "tcp", "fromPort": 443, "toPort": 443, "securityGroups": ["lb-id"]},
        name="host",
    )
    lb = Resource(
        "aws:lb/loadBalancer:LoadBalancer",
        "lb",
        {"securityGroups": [UNKNOWN]},
        property_dependencies={"securityGroups": frozenset({"urn:lb"})},
    )
    assert "web-through-lb" not in rules([lb_sg, host, lb])
    host.inputs["ingress"].append(
        {"protocol": "tcp", "fromPort": 80, "toPort": 80, "cidrBlocks": ["0.0.0.0/0"]}
    )
    assert "web-through-lb" in rules([lb_sg, host, lb])
    assert "web-through-lb" not in rules([lb_sg, host])  # a single host serves the web itself


@pytest.mark.parametrize(
    ("options", "ok"),
    [
        ({"httpTokens": "required", "httpPutResponseHopLimit": 1}, True),
        ({"httpEndpoint": "disabled"}, True),
        ({"httpTokens": "optional", "httpPutResponseHopLimit": 1}, False),
        ({"httpPutResponseHopLimit": 1}, False),
        ({"httpTokens": "required", "httpPutResponseHopLimit": 2}, False),
        (None, False),
    ],
)
def test_imdsv2(options, ok: bool) -> None:
    inputs = {"instanceType": "t3.small", "rootBlockDevice": {"encrypted": True}}
    host = Resource("aws:ec2/instance:Instance", "h", inputs | {"metadataOptions": options})
    assert ("imdsv2" not in rules([host])) is ok


def test_every_ebs_volume_encrypted() -> None:
    inputs = {
        "instanceType": "t3.small",
        "rootBlockDevice": {"encrypted": True},
        "metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 1},
        "ebsBlockDevices": [{"deviceName": "/dev/sdf", "encrypted": True}],
    }
    host = Resource("aws:ec2/instance:Instance", "h", inputs)
    assert rules([host]) == set()
    inputs["ebsBlockDevices"].append({"deviceName": "/dev/sdg"})
    (violation,) = policies.check([host], DEV)
    assert violation.rule == "encryption" and "ebsBlockDevices[1]" in violation.message


def test_public_blob_and_open_containers() -> None:
    account = Resource(
        "azure-native:storage:StorageAccount",
        "a",
        {
            "enableHttpsTrafficOnly": True,
            "minimumTlsVersion": "TLS1_2",
            "encryption": {"services": {"blob": {"enabled": True}}},
            "allowBlobPublicAccess": True,
        },
    )
    assert rules([account]) == {"storage-private"}
    container = Resource("azure-native:storage:BlobContainer", "c", {"publicAccess": "Blob"})
    assert rules([container]) == {"storage-private"}


@pytest.mark.parametrize(
    ("stack", "zone_record"),
    [
        ("gcp-dev", lambda r: r.inputs.update(name="example.com.")),
        ("azure-dev", lambda r: r.inputs.update(relativeRecordSetName="@")),
    ],
)
def test_cname_at_the_apex(stack: str, zone_record) -> None:
    run = run_stack(stack, preview=True)
    s = settings_of(stack)
    (record,) = [
        r for r in run.resources if r.inputs.get("type", r.inputs.get("recordType")) == "CNAME"
    ]
    assert "no-apex-cname" not in rules(run.resources, s)
    bad = Resource(record.type, record.name, dict(record.inputs))
    zone_record(bad)
    others = [r for r in run.resources if r is not record]
    assert "no-apex-cname" in rules([*others, bad], s)


@pytest.mark.parametrize(
    ("size", "nodes", "ok"),
    [("db-s-2vcpu-4gb", 2, True), ("db-s-1vcpu-1gb", 2, False), ("db-s-2vcpu-2gb", 1, False)],
)
def test_digitalocean_database_sizes(size: str, nodes: int, ok: bool) -> None:
    cluster = Resource(
        "digitalocean:index/databaseCluster:DatabaseCluster",
        "db",
        {"engine": "pg", "size": size, "region": "fra1", "nodeCount": nodes},
    )
    assert ("valid-values" not in rules([cluster])) is ok


@pytest.mark.parametrize(
    ("settings", "version", "ok"),
    [
        ({"tier": "db-custom-2-7680", "edition": "ENTERPRISE"}, "POSTGRES_16", True),
        ({"tier": "db-custom-2-7680"}, "POSTGRES_16", False),  # defaults to ENTERPRISE_PLUS
        ({"tier": "db-custom-2-7680"}, "POSTGRES_15", True),
        ({"tier": "db-custom-2-7000", "edition": "ENTERPRISE"}, "POSTGRES_16", False),
        ({"tier": "db-custom-1-8192", "edition": "ENTERPRISE"}, "POSTGRES_16", False),
        ({"tier": "db-custom-2-7680", "edition": "ENTERPRISE"}, "POSTGRES_99", False),
        ({"tier": "db-perf-optimized-N-2", "edition": "ENTERPRISE_PLUS"}, "POSTGRES_17", True),
    ],
)
def test_cloud_sql_versions_and_tiers(settings: dict, version: str, ok: bool) -> None:
    db = Resource(
        "gcp:sql/databaseInstance:DatabaseInstance",
        "db",
        {"databaseVersion": version, "settings": settings},
    )
    found = {v.rule: v for v in policies.check([db], DEV)}
    assert ("valid-values" not in found) is ok


@pytest.mark.parametrize(
    ("plan", "ok"),
    [
        ({"sku": {"name": "P1v3", "capacity": 2}}, True),
        ({"sku": {"name": "P1v3", "capacity": 1}, "zoneRedundant": True}, True),
        ({"sku": {"name": "P1v3", "capacity": 1}}, False),
        ({"sku": {"name": "S1"}}, False),
        ({"sku": {"name": "S1", "capacity": 1}, "zoneRedundant": True}, False),
    ],
)
def test_app_service_ha_in_prod(plan: dict, ok: bool) -> None:
    s = settings_of("azure-prod")
    resource = Resource("azure-native:web:AppServicePlan", "plan", plan)
    assert (not {"prod-ha", "valid-values"} & rules([resource], s)) is ok
    assert "prod-ha" not in rules([resource], settings_of("azure-dev"))
