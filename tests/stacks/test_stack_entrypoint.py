"""The Pulumi entry point (`main: stacks/`) exports the contract and refuses bad config."""

import runpy

import pulumi
import pytest
from stack_helpers import ROOT, example_config

from deployer.plan.engine import install_mocks, run_to_completion


def run_entrypoint(config: dict[str, str]) -> dict:
    from pulumi.runtime.settings import get_root_resource

    install_mocks(config, (), "aws-dev", preview=False)
    run_to_completion(lambda: runpy.run_path(str(ROOT / "stacks"), run_name="__main__"))
    return dict(get_root_resource().outputs)


def test_entrypoint_exports_the_output_contract() -> None:
    outputs = run_entrypoint(example_config("aws-dev"))
    assert set(outputs) == {
        "cloud", "stage", "domain", "url", "host", "ssh_port", "ssh_user", "ssh_host_key",
        "hosts", "load_balancer", "database_url",
    }  # fmt: skip
    assert outputs["cloud"] == "aws"


def test_entrypoint_reports_missing_config_as_a_run_error() -> None:
    with pytest.raises(pulumi.RunError, match=r"deployer:domain: missing.*pulumi config set"):
        run_entrypoint(example_config("aws-dev", domain=None))


def test_pulumi_project_file_points_at_the_program() -> None:
    import yaml

    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project["name"] == "deployer"
    assert project["runtime"] == {"name": "python", "options": {"virtualenv": ".venv"}}
    assert (ROOT / project["main"] / "__main__.py").is_file()


def test_vm_stack_outputs_make_a_valid_bootstrap_target() -> None:
    """The consumer side of the contract: `deployer bootstrap --outputs` accepts our outputs."""
    from stack_helpers import run_stack

    from deployer.target import build_target, from_outputs

    for stack in ("aws-prod", "digitalocean-dev"):
        outputs = run_stack(stack).outputs
        target = build_target(from_outputs(outputs))
        assert (target.host, target.ssh_user) == (outputs["host"], "deploy")
        assert target.ssh_host_key.line == outputs["ssh_host_key"]
        assert target.url == outputs["url"]
