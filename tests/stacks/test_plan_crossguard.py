"""The CrossGuard pack in policy/: the plan's rules, served to the Pulumi engine."""

import runpy

import pytest
from crossguard_helpers import crossguard
from stack_helpers import EXAMPLE_STACKS, ROOT, one, run_stack, settings_of

from deployer.plan import policies
from deployer.plan.engine import Resource


def test_the_pack_serves_every_plan_rule_as_a_mandatory_policy(monkeypatch) -> None:
    import pulumi_policy

    served = {}
    monkeypatch.setattr(pulumi_policy, "PolicyPack", lambda **kwargs: served.update(kwargs))
    runpy.run_path(str(ROOT / "policy" / "__main__.py"), run_name="__main__")
    assert [p.name for p in served["policies"]] == list(policies.RULES)
    assert served["enforcement_level"] == pulumi_policy.EnforcementLevel.MANDATORY
    assert all(
        p.enforcement_level == pulumi_policy.EnforcementLevel.MANDATORY for p in served["policies"]
    )
    assert (ROOT / "policy" / "PulumiPolicy.yaml").read_text().count("name: python") == 1


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_shipped_examples_pass_the_pack(stack: str) -> None:
    assert crossguard(run_stack(stack, preview=True).resources, settings_of(stack)) == []


def test_the_pack_names_the_resource_by_urn_and_reads_unknowns_and_dependencies() -> None:
    run = run_stack("aws-dev", preview=True)
    s = settings_of("aws-dev")
    eip = one(run, "aws:ec2/eip:Eip")
    gateway = one(run, "aws:ec2/internetGateway:InternetGateway")
    dropped = Resource(
        eip.type, eip.name, eip.inputs, urn=eip.urn, dependencies=eip.dependencies - {gateway.urn}
    )
    web = one(run, "aws:ec2/securityGroup:SecurityGroup", "app-dev-web")
    unknown = Resource(
        web.type,
        web.name,
        {
            **web.inputs,
            "ingress": [
                {
                    "protocol": "tcp",
                    "fromPort": 22,
                    "toPort": 22,
                    "cidrBlocks": ["(known after apply)"],
                }
            ],
        },
        urn=web.urn,
        dependencies=web.dependencies,
    )
    others = [r for r in run.resources if r not in (eip, web)]
    found = crossguard([*others, dropped, unknown], s)
    assert ("ordering", "must depend on the VPC's internet gateway", eip.urn) in found
    (ssh,) = [f for f in found if f[0] == "no-world-ssh-rdp"]
    assert ssh[2] == web.urn and "fails closed" in ssh[1]


def test_ci_previews_with_the_pack_before_pulumi_up() -> None:
    from ruamel.yaml import YAML

    workflow = YAML(typ="safe").load((ROOT / ".github" / "workflows" / "stage.yml").read_text())
    (job,) = workflow["jobs"].values()
    runs = [
        step.get("run", "") + str(step.get("with", {}).get("command", "")) for step in job["steps"]
    ]
    gate = next(n for n, run in enumerate(runs) if "--policy-pack policy" in run)
    up = next(n for n, run in enumerate(runs) if run == "up")
    assert gate < up and runs[gate].startswith("pulumi preview")
    requirements = (ROOT / "stacks" / "requirements.txt").read_text()
    assert "pulumi-policy" in requirements  # the workflow installs the `cloud` extra
