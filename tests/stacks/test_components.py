"""Component resources: each server and database is one node of the stack, and every resource
moved under one keeps the identity it had at the top level (an alias), so `pulumi up` of an
existing stack moves it instead of replacing it."""

import pytest
from stack_helpers import run_stack

STACK_TYPE = "pulumi:pulumi:Stack"


def top_level_urn(stack: str, typ: str, name: str) -> str:
    """The URN a resource had before it moved under a component (as the mock engine spells it)."""
    return f"urn:pulumi:{stack}::deployer::{STACK_TYPE}${typ}::{name}"


def parents(r) -> list[str]:
    """The types of the resource's parents, outermost first (from its URN)."""
    return r.urn.split("::")[2].split("$")[:-1]


@pytest.mark.parametrize(
    ("stack", "hosts", "database"),
    [
        ("aws-dev", "1", "aws:rds/instance:Instance"),
        ("aws-prod", "3", "aws:rds/instance:Instance"),
        ("digitalocean-dev", "1", "digitalocean:index/databaseCluster:DatabaseCluster"),
        ("digitalocean-prod", "3", "digitalocean:index/databaseCluster:DatabaseCluster"),
    ],
)
def test_servers_and_database_are_components_whose_children_keep_their_urns(
    stack: str, hosts: str, database: str
) -> None:
    run = run_stack(stack, hosts=hosts)
    cloud = stack.split("-")[0]
    parts = {r.name: r for r in run.resources if r.type.startswith("deployer:")}
    vm_hosts = sorted(n for n, r in parts.items() if r.type == f"deployer:{cloud}:VmHost")
    assert len(vm_hosts) == int(hosts)
    assert [r.type for r in parts.values()].count(f"deployer:{cloud}:ManagedDatabase") == 1
    children = [r for r in run.resources if any(t.startswith("deployer:") for t in parents(r))]
    assert any(r.type == database for r in children)
    servers = ("aws:ec2/instance:Instance", "digitalocean:index/droplet:Droplet")
    assert sum(r.type in servers for r in children) == int(hosts)
    for r in children:
        assert top_level_urn(stack, r.type, r.name) in r.aliases, f"{r.name} would be replaced"
    for r in run.resources:  # nothing else moved
        if r not in children:
            assert r.urn == top_level_urn(stack, r.type, r.name)
