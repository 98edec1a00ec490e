"""DigitalOcean stack under the mock engine (apply mode)."""

import pytest
from stack_contract import assert_contract, assert_host_key_installed
from stack_helpers import one, run_stack, settings_of, waits_for

WORLD = ["0.0.0.0/0", "::/0"]
RESERVED_IP = "digitalocean:index/reservedIp:ReservedIp"


def inbound(run) -> dict[str, dict]:
    rules = one(run, "digitalocean:index/firewall:Firewall").inputs["inboundRules"]
    return {rule.get("portRange", rule["protocol"]): rule for rule in rules}


def test_firewall_ssh_from_operator_web_from_anywhere_applied_to_the_droplet() -> None:
    run = run_stack("digitalocean-dev")
    rules = inbound(run)
    assert set(rules) == {"22", "80", "443", "icmp"}
    assert rules["22"]["sourceAddresses"] == ["203.0.113.7/32"]
    assert rules["80"]["sourceAddresses"] == rules["443"]["sourceAddresses"] == WORLD
    firewall = one(run, "digitalocean:index/firewall:Firewall").inputs
    droplet_id = int(one(run, "digitalocean:index/reservedIp:ReservedIp").inputs["dropletId"])
    assert firewall["dropletIds"] == [droplet_id]


def test_database_admits_only_the_droplet_and_lives_in_the_vpc() -> None:
    run = run_stack("digitalocean-dev")
    cluster = one(run, "digitalocean:index/databaseCluster:DatabaseCluster")
    assert cluster.inputs["privateNetworkUuid"] == "app-dev-vpc-id"
    assert cluster.inputs["engine"] == "pg"
    firewall = one(run, "digitalocean:index/databaseFirewall:DatabaseFirewall").inputs
    assert firewall["clusterId"] == "app-dev-db-id"
    droplet_id = one(run, "digitalocean:index/reservedIp:ReservedIp").inputs["dropletId"]
    assert firewall["rules"] == [
        {"type": "droplet", "value": str(droplet_id)},
        {"type": "ip_addr", "value": "203.0.113.7/32"},  # the operator, for the grant below
    ]
    assert "private-app-dev-db" in run.outputs["database_url"]  # private host, not public


def test_droplet_in_vpc_with_pinned_host_key() -> None:
    run = run_stack("digitalocean-dev")
    droplet = one(run, "digitalocean:index/droplet:Droplet")
    assert droplet.inputs["vpcUuid"] == "app-dev-vpc-id"
    assert droplet.inputs["image"].startswith("ubuntu-24-04")
    s = settings_of("digitalocean-dev")
    assert_host_key_installed(
        droplet.revealed["userData"], run.outputs["ssh_host_key"], s.ssh_public_key
    )


def test_reserved_ip_is_host_and_dns_target() -> None:
    run = run_stack("digitalocean-dev")
    record = one(run, "digitalocean:index/dnsRecord:DnsRecord").inputs
    assert (record["domain"], record["name"], record["type"]) == ("example.com", "api-dev", "A")
    assert record["value"] == run.outputs["host"] == "203.0.113.50"


def test_prod_database_is_protected() -> None:
    prod = one(run_stack("digitalocean-prod"), "digitalocean:index/databaseCluster:DatabaseCluster")
    dev = one(run_stack("digitalocean-dev"), "digitalocean:index/databaseCluster:DatabaseCluster")
    assert (prod.protect, dev.protect) == (True, False)


@pytest.mark.parametrize("stack", ["digitalocean-dev", "digitalocean-prod"])
def test_output_contract(stack: str) -> None:
    s = settings_of(stack)
    assert_contract(run_stack(stack), "digitalocean", s.stage, s.domain, vm=True)


@pytest.mark.parametrize("stack", ["digitalocean-dev", "digitalocean-staging", "digitalocean-prod"])
def test_database_size_is_a_postgres_slug_the_sdk_knows(stack: str) -> None:
    from pulumi_digitalocean import DatabaseSlug

    cluster = one(run_stack(stack), "digitalocean:index/databaseCluster:DatabaseCluster").inputs
    assert cluster["size"] in {slug.value for slug in DatabaseSlug}
    if cluster["nodeCount"] > 1:  # standby nodes need a plan with 2 GB of RAM or more
        assert cluster["size"] not in (DatabaseSlug.D_B_1_VPCU1_GB,)


def test_app_user_may_create_tables_in_schema_public() -> None:
    run = run_stack("digitalocean-dev")
    grant = one(run, "postgresql:index/grant:Grant")
    assert grant.inputs == {
        "database": "app",
        "schema": "public",
        "objectType": "schema",
        "role": "app",
        "privileges": ["CREATE", "USAGE"],
    }
    admin = one(run, "pulumi:providers:postgresql").inputs
    assert admin["host"] == "app-dev-db.db.ondigitalocean.com"  # the cluster, as its admin
    assert (admin["username"], admin["password"]) == ("doadmin", "(secret)")
    assert admin["sslmode"] == "require"
    for name in ("app-dev-db-app", "app-dev-db-user", "app-dev-db-firewall"):
        assert waits_for(run, grant, name)


FLEET = {"hosts": "3"}
LB = "digitalocean:index/loadBalancer:LoadBalancer"


def test_three_droplets_behind_a_load_balancer_with_a_managed_certificate() -> None:
    run = run_stack("digitalocean-dev", **FLEET)
    droplets = run.of_type("digitalocean:index/droplet:Droplet")
    assert len(droplets) == 3
    ids = sorted(int(r.inputs["dropletId"]) for r in run.of_type(RESERVED_IP))
    lb = one(run, LB).inputs
    assert sorted(lb["dropletIds"]) == ids  # every Droplet
    assert lb["vpcUuid"] == "app-dev-vpc-id" and lb["region"] == "fra1"
    rules = {r["entryPort"]: r for r in lb["forwardingRules"]}
    assert rules[443] == {
        "entryProtocol": "https",
        "entryPort": 443,
        "targetProtocol": "http",
        "targetPort": 80,
        "certificateName": "app-dev-cert",
    }
    assert (rules[80]["entryProtocol"], rules[80]["targetPort"]) == ("http", 80)
    assert lb["redirectHttpToHttps"] is True
    check = lb["healthcheck"]
    assert (check["protocol"], check["port"], check["path"]) == ("http", 80, "/ready")
    certificate = one(run, "digitalocean:index/certificate:Certificate").inputs
    assert certificate["type"] == "lets_encrypt"
    assert certificate["domains"] == ["api-dev.example.com"]
    record = one(run, "digitalocean:index/dnsRecord:DnsRecord").inputs
    assert (record["name"], record["value"]) == ("api-dev", "203.0.113.80")  # the LB's address


def test_behind_the_lb_droplets_take_http_from_it_only() -> None:
    run = run_stack("digitalocean-dev", **FLEET)
    rules = inbound(run)
    assert set(rules) == {"22", "80", "icmp"}  # no 443: TLS ends at the load balancer
    assert rules["80"]["sourceLoadBalancerUids"] == ["app-dev-lb-id"]
    assert "sourceAddresses" not in rules["80"]
    firewall = one(run, "digitalocean:index/firewall:Firewall").inputs
    ids = sorted(int(r.inputs["dropletId"]) for r in run.of_type(RESERVED_IP))
    assert sorted(firewall["dropletIds"]) == ids
    db_rules = one(run, "digitalocean:index/databaseFirewall:DatabaseFirewall").inputs["rules"]
    assert sorted(int(r["value"]) for r in db_rules if r["type"] == "droplet") == ids


def test_fleet_outputs_list_every_droplet_and_the_load_balancer() -> None:
    run = run_stack("digitalocean-dev", **FLEET)
    s = settings_of("digitalocean-dev", **FLEET)
    assert_contract(run, "digitalocean", s.stage, s.domain, vm=True)
    out = run.outputs
    assert [h["host"] for h in out["hosts"]] == ["203.0.113.50", "203.0.113.51", "203.0.113.52"]
    private = ["10.30.0.20", "10.30.0.21", "10.30.0.22"]
    assert [h["private_address"] for h in out["hosts"]] == private
    assert out["load_balancer"] == {
        "name": "app-dev-lb",
        "dns_name": "api-dev.example.com",
        "address": "203.0.113.80",
        "tls": "lb",
        "source_range": "10.30.0.0/20",
    }
    droplets = {r.name: r for r in run.of_type("digitalocean:index/droplet:Droplet")}
    for entry in out["hosts"]:
        user_data = droplets[entry["name"]].revealed["userData"]
        assert_host_key_installed(user_data, entry["ssh_host_key"], s.ssh_public_key)


def test_plan_flags_a_fleet_droplet_open_to_the_world_on_80() -> None:
    import copy

    from deployer.plan import policies

    run = run_stack("digitalocean-dev", preview=True, **FLEET)
    s = settings_of("digitalocean-dev", **FLEET)
    assert not [v for v in policies.check(run.resources, s) if v.rule == "web-through-lb"]
    resources = copy.deepcopy(run.resources)
    firewall = next(r for r in resources if r.type == "digitalocean:index/firewall:Firewall")
    firewall.inputs["inboundRules"].append(
        {"protocol": "tcp", "portRange": "80", "sourceAddresses": ["0.0.0.0/0"]}
    )
    assert "web-through-lb" in {v.rule for v in policies.check(resources, s)}
