"""AWS stack under the mock engine (apply mode: every output resolved to fake values)."""

import pytest
from stack_contract import assert_contract, assert_host_key_installed
from stack_helpers import one, run_stack, settings_of, waits_for

SG = "aws:ec2/securityGroup:SecurityGroup"


def ingress(run, name: str) -> dict[int, dict]:
    return {rule["fromPort"]: rule for rule in one(run, SG, name).inputs["ingress"]}


def test_ssh_only_from_configured_cidrs_web_from_anywhere() -> None:
    rules = ingress(run_stack("aws-dev"), "app-dev-web")
    assert set(rules) == {22, 80, 443}
    assert rules[22]["cidrBlocks"] == ["203.0.113.7/32"]
    assert rules[22]["ipv6CidrBlocks"] == []
    for port in (80, 443):
        assert rules[port]["cidrBlocks"] == ["0.0.0.0/0"]
        assert rules[port]["ipv6CidrBlocks"] == ["::/0"]


def test_ipv6_operator_cidr_goes_to_ipv6_rules() -> None:
    run = run_stack("aws-dev", sshCidrs=["203.0.113.7/32", "2001:db8::/48"])
    rules = ingress(run, "app-dev-web")
    assert rules[22]["cidrBlocks"] == ["203.0.113.7/32"]
    assert rules[22]["ipv6CidrBlocks"] == ["2001:db8::/48"]


def test_database_private_encrypted_backed_up_reachable_from_web_only() -> None:
    run = run_stack("aws-dev")
    db = one(run, "aws:rds/instance:Instance").inputs
    assert db["publiclyAccessible"] is False
    assert db["storageEncrypted"] is True
    assert db["backupRetentionPeriod"] >= 7
    assert db["engine"] == "postgres"
    assert db["dbSubnetGroupName"] == "app-dev-db"  # the group of private subnets
    group = one(run, "aws:rds/subnetGroup:SubnetGroup").inputs
    assert group["subnetIds"] == ["app-dev-private-0-id", "app-dev-private-1-id"]
    for subnet in ("app-dev-private-0", "app-dev-private-1"):
        assert one(run, "aws:ec2/subnet:Subnet", subnet).inputs["mapPublicIpOnLaunch"] is False
    rule = ingress(run, "app-dev-db")
    assert set(rule) == {5432}
    assert rule[5432]["securityGroups"] == ["app-dev-web-id"]
    assert "cidrBlocks" not in rule[5432]
    assert db["vpcSecurityGroupIds"] == ["app-dev-db-id"]


def test_only_the_public_subnet_routes_to_the_internet() -> None:
    run = run_stack("aws-dev")
    (association,) = run.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation")
    assert association.inputs["subnetId"] == "app-dev-public-id"


def test_server_disk_encrypted_imdsv2_and_host_key_pinned() -> None:
    run = run_stack("aws-dev")
    server = one(run, "aws:ec2/instance:Instance")
    assert server.inputs["rootBlockDevice"]["encrypted"] is True
    assert server.inputs["metadataOptions"]["httpTokens"] == "required"
    assert server.inputs["subnetId"] == "app-dev-public-id"
    assert server.inputs["ami"] == "ami-0123456789abcdef0"  # looked up, not hard-coded
    assert server.inputs["userData"] == "(secret)"  # the private host key never shows in a plan
    s = settings_of("aws-dev")
    assert_host_key_installed(
        server.revealed["userData"], run.outputs["ssh_host_key"], s.ssh_public_key
    )


def test_prod_has_deletion_protection_dev_does_not() -> None:
    prod = one(run_stack("aws-prod"), "aws:rds/instance:Instance").inputs
    assert prod["deletionProtection"] is True
    assert prod["skipFinalSnapshot"] is False
    assert one(run_stack("aws-prod"), "aws:ec2/instance:Instance").inputs["disableApiTermination"]
    dev = one(run_stack("aws-dev"), "aws:rds/instance:Instance").inputs
    assert dev["deletionProtection"] is False


def test_dns_points_domain_at_elastic_ip_which_is_the_host() -> None:
    run = run_stack("aws-dev")
    record = one(run, "aws:route53/record:Record").inputs
    assert (record["name"], record["type"]) == ("api-dev.example.com", "A")
    assert record["records"] == [run.outputs["host"]] == ["198.51.100.7"]
    assert one(run, "aws:ec2/eip:Eip").inputs["instance"] == "app-dev-server-id"


@pytest.mark.parametrize("stack", ["aws-dev", "aws-prod"])
def test_output_contract(stack: str) -> None:
    run = run_stack(stack)
    s = settings_of(stack)
    assert_contract(run, "aws", s.stage, s.domain, vm=True)
    assert run.outputs["database_url"] == (
        "postgresql+psycopg://app:mockGeneratedPassw0rd@"
        f"{s.app}-{s.stage}-db.rds.internal:5432/app?sslmode=require"
    )


def test_given_db_password_secret_is_used_instead_of_a_generated_one() -> None:
    run = run_stack("aws-dev", dbPassword="s3cret/with@chars")
    assert not run.of_type("random:index/randomPassword:RandomPassword")
    assert "app:s3cret%2Fwith%40chars@" in run.outputs["database_url"]
    assert one(run, "aws:rds/instance:Instance").inputs["password"] == "(secret)"


def test_elastic_ip_waits_for_the_internet_gateway() -> None:
    run = run_stack("aws-dev")
    assert waits_for(run, one(run, "aws:ec2/eip:Eip"), "app-dev-igw")


def test_zones_come_from_the_region_not_from_letters(monkeypatch) -> None:
    from stack_helpers import example_config

    from deployer.plan import fakes
    from deployer.plan.engine import run_program

    # an account whose region has no zone "a" available (it happens: zone letters are per account)
    monkeypatch.setitem(
        fakes.INVOKES,
        "aws:index/getAvailabilityZones:getAvailabilityZones",
        {"names": ["eu-central-1b", "eu-central-1c"], "zoneIds": ["euc1-az3", "euc1-az1"]},
    )
    run = run_program(example_config("aws-dev"), (), "aws-dev", preview=False)
    zones = {r.name: r.inputs["availabilityZone"] for r in run.of_type("aws:ec2/subnet:Subnet")}
    assert zones["app-dev-private-0"] != zones["app-dev-private-1"]
    assert set(zones.values()) == {"eu-central-1b", "eu-central-1c"}


def test_looked_up_ami_is_kept_a_pinned_one_replaces() -> None:
    looked_up = one(run_stack("aws-prod"), "aws:ec2/instance:Instance")
    assert looked_up.ignore_changes == ("ami",)  # a newer image never replaces the server
    pinned = one(run_stack("aws-dev", ami="ami-0fedcba9876543210"), "aws:ec2/instance:Instance")
    assert pinned.inputs["ami"] == "ami-0fedcba9876543210"
    assert pinned.ignore_changes == ()


def test_cloud_init_guards_the_metadata_service_before_anything_runs() -> None:
    from stack_contract import cloud_config

    from stacks.hostkey import metadata_guard_command

    server = one(run_stack("aws-dev"), "aws:ec2/instance:Instance")
    doc = cloud_config(server.revealed["userData"])
    assert doc["bootcmd"][0] == metadata_guard_command()
    assert "169.254.169.254 meta skuid != 0 reject" in doc["bootcmd"][0][3]


FLEET = {"hosts": "3"}


def test_three_hosts_spread_over_zones_behind_one_alb() -> None:
    run = run_stack("aws-dev", **FLEET)
    servers = run.of_type("aws:ec2/instance:Instance")
    assert sorted(r.name for r in servers) == [
        "app-dev-server",
        "app-dev-server-1",
        "app-dev-server-2",
    ]
    subnets = {f"{r.name}-id": r.inputs for r in run.of_type("aws:ec2/subnet:Subnet")}
    zones = {subnets[r.inputs["subnetId"]]["availabilityZone"] for r in servers}
    assert len(zones) >= 2
    lb = one(run, "aws:lb/loadBalancer:LoadBalancer").inputs
    assert (lb["loadBalancerType"], lb["internal"]) == ("application", False)
    assert len({subnets[i]["availabilityZone"] for i in lb["subnets"]}) >= 2
    assert {r.inputs["subnetId"] for r in servers} <= set(lb["subnets"])
    assert lb["securityGroups"] == ["app-dev-lb-id"]
    assert lb["dropInvalidHeaderFields"] is True


def test_target_group_checks_readiness_drains_like_deployer_and_has_every_server() -> None:
    from deployer.names import DRAIN_TIMEOUT

    run = run_stack("aws-dev", **FLEET)
    group = one(run, "aws:lb/targetGroup:TargetGroup").inputs
    assert (group["port"], group["protocol"], group["targetType"]) == (80, "HTTP", "instance")
    assert group["deregistrationDelay"] == DRAIN_TIMEOUT
    check = group["healthCheck"]
    assert (check["path"], check["matcher"], check["protocol"]) == ("/ready", "200", "HTTP")
    attached = run.of_type("aws:lb/targetGroupAttachment:TargetGroupAttachment")
    servers = run.of_type("aws:ec2/instance:Instance")
    assert sorted(a.inputs["targetId"] for a in attached) == sorted(f"{r.name}-id" for r in servers)
    assert {(a.inputs["targetGroupArn"], a.inputs["port"]) for a in attached} == {
        ("arn:aws:elasticloadbalancing:eu-central-1:123456789012:targetgroup/app-dev-web", 80)
    }
    other = run_stack("aws-dev", hosts="2", readinessPath="/healthz")
    assert one(other, "aws:lb/targetGroup:TargetGroup").inputs["healthCheck"]["path"] == "/healthz"


def test_https_listener_with_a_dns_validated_certificate_and_http_redirects() -> None:
    run = run_stack("aws-dev", **FLEET)
    listeners = {r.inputs["port"]: r for r in run.of_type("aws:lb/listener:Listener")}
    https, http = listeners[443], listeners[80]
    assert https.inputs["protocol"] == "HTTPS"
    assert https.inputs["sslPolicy"].startswith("ELBSecurityPolicy-TLS13-")
    (forward,) = https.inputs["defaultActions"]
    assert forward["type"] == "forward" and forward["targetGroupArn"].endswith("/app-dev-web")
    (redirect,) = http.inputs["defaultActions"]
    assert redirect["type"] == "redirect"
    assert redirect["redirect"] == {"port": "443", "protocol": "HTTPS", "statusCode": "HTTP_301"}
    certificate = one(run, "aws:acm/certificate:Certificate").inputs
    assert (certificate["domainName"], certificate["validationMethod"]) == (
        "api-dev.example.com",
        "DNS",
    )
    records = {r.name: r.inputs for r in run.of_type("aws:route53/record:Record")}
    validation_record = records["app-dev-cert-validation"]
    assert validation_record["name"] == "_x1.api-dev.example.com."
    assert validation_record["records"] == ["_x2.acm-validations.aws."]
    validation = one(run, "aws:acm/certificateValidation:CertificateValidation")
    assert validation.inputs["validationRecordFqdns"] == ["_x1.api-dev.example.com"]
    assert https.inputs["certificateArn"] == validation.inputs["certificateArn"]
    assert waits_for(run, https, validation.name)  # the listener waits for the issued certificate
    alias = records["app-dev-dns"]
    assert alias["aliases"] == [
        {
            "name": "app-dev-lb-123456789.eu-central-1.elb.amazonaws.com",
            "zoneId": "Z215JYRZR1TBD5",
            "evaluateTargetHealth": True,
        }
    ]


def test_behind_the_alb_servers_take_http_from_its_security_group_only() -> None:
    run = run_stack("aws-dev", **FLEET)
    rules = ingress(run, "app-dev-web")
    assert set(rules) == {22, 80}  # no 443: TLS ends at the load balancer
    assert rules[80]["securityGroups"] == ["app-dev-lb-id"]
    assert "cidrBlocks" not in rules[80] and "ipv6CidrBlocks" not in rules[80]
    assert rules[22]["cidrBlocks"] == ["203.0.113.7/32"]
    for server in run.of_type("aws:ec2/instance:Instance"):
        assert server.inputs["vpcSecurityGroupIds"] == ["app-dev-web-id"]
    lb_rules = ingress(run, "app-dev-lb")
    assert set(lb_rules) == {80, 443}
    assert all(r["cidrBlocks"] == ["0.0.0.0/0"] for r in lb_rules.values())


def test_fleet_outputs_list_every_server_and_the_load_balancer() -> None:
    run = run_stack("aws-dev", **FLEET)
    s = settings_of("aws-dev", **FLEET)
    assert_contract(run, "aws", s.stage, s.domain, vm=True)
    out = run.outputs
    assert [h["host"] for h in out["hosts"]] == ["198.51.100.7", "198.51.100.8", "198.51.100.9"]
    private = ["10.20.0.10", "10.20.0.11", "10.20.0.12"]
    assert [h["private_address"] for h in out["hosts"]] == private
    assert out["load_balancer"] == {
        "name": "app-dev-lb",
        "dns_name": "app-dev-lb-123456789.eu-central-1.elb.amazonaws.com",
        "address": None,
        "tls": "lb",
        "source_range": "10.20.0.0/22",
    }
    servers = {r.name: r for r in run.of_type("aws:ec2/instance:Instance")}
    for entry in out["hosts"]:  # each server installs exactly the key its entry pins
        user_data = servers[entry["name"]].revealed["userData"]
        assert_host_key_installed(user_data, entry["ssh_host_key"], s.ssh_public_key)


def test_plan_flags_a_fleet_server_open_to_the_world_on_80() -> None:
    import copy

    from deployer.plan import policies

    run = run_stack("aws-dev", preview=True, **FLEET)
    s = settings_of("aws-dev", **FLEET)
    assert not [v for v in policies.check(run.resources, s) if v.rule == "web-through-lb"]
    resources = copy.deepcopy(run.resources)
    web = next(r for r in resources if r.name == "app-dev-web" and r.type == SG)
    web.inputs["ingress"].append(
        {"protocol": "tcp", "fromPort": 80, "toPort": 80, "cidrBlocks": ["0.0.0.0/0"]}
    )
    assert "web-through-lb" in {v.rule for v in policies.check(resources, s)}
