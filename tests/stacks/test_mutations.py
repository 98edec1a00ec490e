"""The mutation table: each row breaks one example program or config; `deployer plan`'s engine
and the CrossGuard pack must both name the rule that catches it.

Config mutations override the example's ``deployer:*`` keys. Program mutations replace text in
``stacks/<cloud>.py`` (each snippet must occur exactly once, so a program change that moves the
code fails here loudly instead of silently testing nothing) and run the mutated module in place of
the real one. Everything runs in preview mode in this process, reusing the SDK imports.
"""

from __future__ import annotations

import importlib
import sys
import types
from dataclasses import dataclass, field

import pytest
from crossguard_helpers import crossguard
from stack_helpers import ROOT, example_config, settings_of

from deployer.plan import policies
from deployer.plan.engine import Run, run_program


@dataclass(frozen=True)
class Mutation:
    id: str
    stack: str
    rule: str
    config: dict = field(default_factory=dict)
    edits: tuple[tuple[str, str], ...] = ()


EXTRA_VOLUME = 'ec2.InstanceEbsBlockDeviceArgs(device_name="/dev/sdf", volume_size=10)'
NINES = [f"{n}.0.0.0/9" for n in (1, 2, 3)]
UNKNOWN_CIDR = "droplet_ids[0].apply(lambda _: '203.0.113.7/32')"
MUTATIONS = [
    # world access, in several shapes
    Mutation("ssh-world", "aws-dev", "no-world-ssh-rdp", {"sshCidrs": ["0.0.0.0/0"]}),
    Mutation(
        "ssh-two-halves", "aws-dev", "no-world-ssh-rdp", {"sshCidrs": ["0.0.0.0/1", "128.0.0.0/1"]}
    ),
    Mutation("ssh-three-slash-9", "digitalocean-dev", "no-world-ssh-rdp", {"sshCidrs": NINES}),
    Mutation(
        "ssh-ipv6-world",
        "digitalocean-prod",
        "no-world-ssh-rdp",
        {"sshCidrs": ["203.0.113.7/32", "::/0"]},
    ),
    Mutation("ssh-ipv6-global-unicast", "aws-prod", "no-world-ssh-rdp", {"sshCidrs": ["2000::/3"]}),
    Mutation(
        "db-port-world",
        "aws-dev",
        "db-not-public",
        edits=(
            (
                "security_groups=[web_sg.id],",
                'security_groups=[web_sg.id], cidr_blocks=["0.0.0.0/1", "128.0.0.0/1"],',
            ),
        ),
    ),
    Mutation(
        "db-firewall-world",
        "digitalocean-dev",
        "db-not-public",
        edits=(('type="droplet", value=h.droplet.id', 'type="ip_addr", value="0.0.0.0/0"'),),
    ),
    Mutation(
        "rds-public",
        "aws-dev",
        "db-not-public",
        edits=(("publicly_accessible=False", "publicly_accessible=True"),),
    ),
    # unknown values fail closed
    Mutation(
        "ssh-cidr-after-apply",
        "digitalocean-dev",
        "no-world-ssh-rdp",
        edits=(("source_addresses=list(s.ssh_cidrs)", f"source_addresses=[{UNKNOWN_CIDR}]"),),
    ),
    Mutation(
        "ssh-cidr-list-after-apply",
        "aws-dev",
        "no-world-ssh-rdp",
        edits=(("cidr_blocks=v4,", "cidr_blocks=vpc.id.apply(lambda _: v4),"),),
    ),
    Mutation(
        "engine-after-apply",
        "aws-dev",
        "valid-values",
        edits=(('engine="postgres",', 'engine=group.name.apply(lambda _: "postgres"),'),),
    ),
    # dropped dependencies
    Mutation(
        "eip-before-gateway",
        "aws-dev",
        "ordering",
        edits=(("opts=part.child(depends_on=[gateway]),", "opts=part.child(),"),),
    ),
    Mutation(
        "db-before-dns-link",
        "azure-dev",
        "ordering",
        edits=(("depends_on=[link]", "depends_on=[]"),),
    ),
    Mutation(
        "settings-before-grant",
        "azure-prod",
        "ordering",
        edits=(("opts=pulumi.ResourceOptions(depends_on=[grant]),", ""),),
    ),
    Mutation(
        "account-before-iam-api",
        "gcp-dev",
        "ordering",
        edits=(('opts=apis.after("iam"),', ""),),
    ),
    # bad sizes, versions, engines
    Mutation(
        "do-db-size-not-a-slug", "digitalocean-prod", "valid-values", {"dbSize": "db-s-2vcpu-2gb"}
    ),
    Mutation(
        "do-standby-on-1gb",  # settings refuse this size in prod config; the program could not
        "digitalocean-prod",
        "valid-values",
        edits=(("size=s.db_size,", 'size="db-s-1vcpu-1gb",'),),
    ),
    Mutation("droplet-size", "digitalocean-dev", "valid-values", {"size": "s-1vcpu-1gbb"}),
    Mutation("do-region", "digitalocean-dev", "valid-values", {"region": "fra9"}),
    Mutation("rds-class", "aws-dev", "valid-values", {"dbSize": "db.t4g.mini"}),
    Mutation("ec2-type", "aws-dev", "valid-values", {"size": "t3.smol"}),
    Mutation("cloud-sql-custom-shape", "gcp-dev", "valid-values", {"dbSize": "db-custom-2-7000"}),
    Mutation(
        "cloud-sql-shared-core-on-plus",
        "gcp-dev",
        "valid-values",
        edits=(('edition="ENTERPRISE",', 'edition="ENTERPRISE_PLUS",'),),
    ),
    Mutation(
        "cloud-sql-version",
        "gcp-prod",
        "valid-values",
        edits=(('database_version="POSTGRES_16"', 'database_version="POSTGRES_61"'),),
    ),
    Mutation("azure-db-tier", "azure-dev", "valid-values", {"dbSize": "Standard_E2ds_v5"}),
    Mutation(
        "rds-engine",
        "aws-dev",
        "valid-values",
        edits=(('engine="postgres",', 'engine="postgresql",'),),
    ),
    # apex domains (settings refuse apex config for gcp/azure, so the program is mutated)
    Mutation(
        "gcp-cname-at-apex",
        "gcp-dev",
        "no-apex-cname",
        edits=(('name=f"{s.domain}.",', 'name=f"{s.dns_zone}.",'),),
    ),
    Mutation(
        "azure-cname-at-apex",
        "azure-dev",
        "no-apex-cname",
        edits=(("relative_record_set_name=s.subdomain,", 'relative_record_set_name="@",'),),
    ),
    Mutation(
        "azure-verify-at-apex",
        "azure-dev",
        "no-apex-cname",
        edits=(
            (
                'relative_record_set_name=f"asuid.{s.subdomain}",',
                'relative_record_set_name="asuid.@",',
            ),
        ),
    ),
    # HA off in prod
    Mutation(
        "rds-single-az", "aws-prod", "prod-ha", edits=(("multi_az=s.prod,", "multi_az=False,"),)
    ),
    Mutation(
        "cloud-sql-zonal",
        "gcp-prod",
        "prod-ha",
        edits=(
            ('availability_type="REGIONAL" if s.prod else "ZONAL"', 'availability_type="ZONAL"'),
        ),
    ),
    Mutation(
        "do-single-node",
        "digitalocean-prod",
        "prod-ha",
        edits=(("node_count=2 if s.prod else 1,", "node_count=1,"),),
    ),
    Mutation(
        "app-service-one-instance",
        "azure-prod",
        "prod-ha",
        {"instances": "1"},
    ),
    Mutation(
        "prod-no-deletion-protection",
        "aws-prod",
        "prod-deletion-protection",
        edits=(
            (
                "        deletion_protection=s.prod,\n        skip_final_snapshot",
                "        deletion_protection=False,\n        skip_final_snapshot",
            ),
        ),
    ),
    # IMDSv1, unencrypted volumes
    Mutation(
        "imdsv1", "aws-dev", "imdsv2", edits=(('http_tokens="required"', 'http_tokens="optional"'),)
    ),
    Mutation(
        "imds-hop-2",
        "aws-prod",
        "imdsv2",
        edits=(("http_put_response_hop_limit=1", "http_put_response_hop_limit=2"),),
    ),
    Mutation(
        "unencrypted-extra-volume",
        "aws-dev",
        "encryption",
        edits=(
            (
                "root_block_device=ec2.InstanceRootBlockDeviceArgs(",
                f"ebs_block_devices=[{EXTRA_VOLUME}],\n"
                "        root_block_device=ec2.InstanceRootBlockDeviceArgs(",
            ),
        ),
    ),
    Mutation(
        "unencrypted-root",
        "aws-prod",
        "encryption",
        edits=(("encrypted=True, volume_type", "encrypted=False, volume_type"),),
    ),
    # public blob, backups, Cloud Run's default URL
    Mutation(
        "public-blob-account",
        "azure-dev",
        "storage-private",
        edits=(("allow_blob_public_access=False", "allow_blob_public_access=True"),),
    ),
    Mutation(
        "public-container",
        "azure-prod",
        "storage-private",
        edits=(('public_access="None"', 'public_access="Blob"'),),
    ),
    Mutation(
        "rds-backups-1-day",
        "aws-dev",
        "backups",
        edits=(("backup_retention_period=14 if s.prod else 7", "backup_retention_period=1"),),
    ),
    Mutation(
        "cloud-sql-3-backups",
        "gcp-dev",
        "backups",
        edits=(("retained_backups=14 if s.prod else 7", "retained_backups=3"),),
    ),
    Mutation(
        "azure-backups-3-days",
        "azure-prod",
        "backups",
        edits=(("backup_retention_days=14 if s.prod else 7", "backup_retention_days=3"),),
    ),
    Mutation(
        "cloud-run-default-url",
        "gcp-prod",
        "cloud-run-domain-only",
        edits=(("default_uri_disabled=True,", "default_uri_disabled=False,"),),
    ),
    # issue 12: with a load balancer, the host still open to the world on 80/443
    Mutation(
        "host-web-beside-lb",
        "digitalocean-dev",
        "web-through-lb",
        {"hosts": "2"},
        edits=(("source_load_balancer_uids=[balancer.id]", "source_addresses=WORLD"),),
    ),
    Mutation(
        "host-web-beside-alb",
        "aws-prod",
        "web-through-lb",
        {"hosts": "3"},
        edits=(
            ("security_groups=[lb_sg.id],", "security_groups=[lb_sg.id], cidr_blocks=WORLD_V4,"),
        ),
    ),
]


def mutated_run(m: Mutation) -> Run:
    """Run the example stack with the mutation applied (preview mode)."""
    cloud = settings_of(m.stack).cloud
    module_name = f"stacks.{cloud}"
    real = importlib.import_module(module_name)
    path = ROOT / "stacks" / f"{cloud}.py"
    source = path.read_text()
    for old, new in m.edits:
        assert source.count(old) == 1, f"{m.id}: {old!r} is not in {path.name} exactly once"
        source = source.replace(old, new)
    module = types.ModuleType(module_name)
    module.__file__ = str(path)
    exec(compile(source, str(path), "exec"), module.__dict__)  # noqa: S102 (our own program)
    sys.modules[module_name] = module
    try:
        return run_program(example_config(m.stack, **m.config), (), m.stack, preview=True)
    finally:
        sys.modules[module_name] = real


def test_the_table_has_at_least_30_mutations_with_unique_ids() -> None:
    assert len(MUTATIONS) >= 30
    assert len({m.id for m in MUTATIONS}) == len(MUTATIONS)
    assert {m.rule for m in MUTATIONS} == set(policies.RULES) - {"https-only", "tagged"}


@pytest.mark.parametrize("m", MUTATIONS, ids=lambda m: m.id)
def test_mutation_is_caught_by_the_plan_and_by_the_pack(m: Mutation) -> None:
    run = mutated_run(m)
    s = settings_of(m.stack, **m.config)
    engine = {v.rule for v in policies.check(run.resources, s)}
    assert m.rule in engine, f"deployer plan missed {m.id}: {sorted(engine)}"
    pack = {name for name, _, _ in crossguard(run.resources, s)}
    assert m.rule in pack, f"CrossGuard missed {m.id}: {sorted(pack)}"
    assert pack == engine


CONFIG_MUTATIONS = [m for m in MUTATIONS if m.config and not m.edits]


@pytest.mark.parametrize("m", CONFIG_MUTATIONS, ids=lambda m: m.id)
def test_config_mutation_fails_the_plan_command(m: Mutation, tmp_path) -> None:
    """The same config mutations through `deployer plan` itself: exit 1 naming the rule."""
    import json
    import shutil

    import yaml
    from typer.testing import CliRunner

    from deployer.cli import app

    document = yaml.safe_load((ROOT / f"Pulumi.{m.stack}.yaml").read_text())
    document["config"].update({f"deployer:{k}": v for k, v in m.config.items()})
    (tmp_path / f"Pulumi.{m.stack}.yaml").write_text(yaml.safe_dump(document))
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    result = CliRunner().invoke(app, ["plan", m.stack, "--json", "--root", str(tmp_path)])
    assert result.exit_code == 1, result.output
    plan = json.loads(result.stdout)  # one stack: one document
    assert m.rule in {v["rule"] for v in plan["violations"]}


@pytest.mark.parametrize("stack", ["aws-dev", "aws-prod", "digitalocean-prod"])
def test_fleets_behind_their_load_balancer_pass(stack: str) -> None:
    """The unmutated fleet (hosts: 3): the load balancer's own group may take the world on 443."""
    m = Mutation(f"fleet-{stack}", stack, "", {"hosts": "3"})
    run = mutated_run(m)
    s = settings_of(stack, hosts="3")
    assert any(r.type.endswith(":LoadBalancer") for r in run.resources)
    assert policies.check(run.resources, s) == []
    assert crossguard(run.resources, s) == []
