"""`deployer plan`: every example stack passes; bad config fails naming the rule or the key."""

import json
import shutil
from pathlib import Path

from stack_helpers import EXAMPLE_STACKS, ROOT
from typer.testing import CliRunner

from deployer.cli import app

runner = CliRunner()


def plan(*args: str):
    return runner.invoke(app, ["plan", *args])


def test_there_are_dev_and_prod_examples_for_every_cloud() -> None:
    for cloud in ("aws", "gcp", "azure", "digitalocean"):
        assert {f"{cloud}-dev", f"{cloud}-prod"} <= set(EXAMPLE_STACKS)


def test_every_example_stack_has_no_violations() -> None:
    result = plan("--all", "--json", "--root", str(ROOT))
    assert result.exit_code == 0, result.output
    documents = json.loads(result.stdout)
    assert [d["stack"] for d in documents] == EXAMPLE_STACKS
    for document in documents:
        assert document["violations"] == [], document["stack"]
        assert len(document["resources"]) >= 8
        assert document["outputs"]["url"].startswith("https://")
        assert document["outputs"]["database_url"] == "(known after apply)"
        urns = {r["urn"] for r in document["resources"]}
        waits = [d for r in document["resources"] for d in r["dependencies"]]
        assert waits and set(waits) <= urns  # every dependency is a resource of the plan


def test_several_stacks_report_each_and_exit_with_the_worst(tmp_path: Path) -> None:
    root = copy_example(tmp_path, "aws-dev", lambda t: t.replace("203.0.113.7/32", "0.0.0.0/0"))
    copy_example(root, "digitalocean-dev", lambda t: t)
    result = plan("digitalocean-dev", "aws-dev", "--json", "--root", str(root))
    assert result.exit_code == 1
    documents = json.loads(result.stdout)
    assert [d["stack"] for d in documents] == ["digitalocean-dev", "aws-dev"]
    assert documents[0]["violations"] == []
    assert {v["rule"] for v in documents[1]["violations"]} == {"no-world-ssh-rdp"}
    assert "policy violations in aws-dev: no-world-ssh-rdp" in result.stderr
    with_missing = plan("aws-dev", "nope-dev", "--root", str(root))
    assert with_missing.exit_code == 2 and "nope-dev" in with_missing.stderr
    assert "Plan for stack aws-dev" in with_missing.stdout


def test_no_stack_named_exits_2() -> None:
    result = plan("--root", str(ROOT))
    assert result.exit_code == 2 and "--all" in result.stderr


def test_garbage_collector_is_restored_after_planning() -> None:
    import gc

    assert gc.isenabled()
    assert plan("digitalocean-dev", "--json", "--root", str(ROOT)).exit_code == 0
    assert gc.isenabled()
    gc.disable()
    try:
        plan("digitalocean-dev", "--json", "--root", str(ROOT))
        assert not gc.isenabled()  # a caller's choice is kept too
    finally:
        gc.enable()


def test_table_output_shows_unknowns_and_masks_secrets() -> None:
    result = plan("aws-dev", "--root", str(ROOT))
    assert result.exit_code == 0
    assert "aws:rds/instance:Instance" in result.stdout
    assert "(known after apply)" in result.stdout
    assert 'password="(secret)"' in result.stdout
    assert "0 violations" in result.stdout


def copy_example(tmp_path: Path, stack: str, edit) -> Path:
    text = (ROOT / f"Pulumi.{stack}.yaml").read_text()
    (tmp_path / f"Pulumi.{stack}.yaml").write_text(edit(text))
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    return tmp_path


def test_world_ssh_exits_1_naming_the_rule(tmp_path: Path) -> None:
    root = copy_example(tmp_path, "aws-dev", lambda t: t.replace("203.0.113.7/32", "0.0.0.0/0"))
    result = plan("aws-dev", "--root", str(root))
    assert result.exit_code == 1
    assert "no-world-ssh-rdp" in result.stdout
    assert "policy violations in aws-dev: no-world-ssh-rdp" in result.stderr


def test_missing_config_exits_2_naming_key_and_command(tmp_path: Path) -> None:
    def drop(text: str) -> str:
        return "\n".join(line for line in text.splitlines() if "deployer:domain" not in line)

    root = copy_example(tmp_path, "digitalocean-prod", drop)
    result = plan("digitalocean-prod", "--root", str(root))
    assert result.exit_code == 2
    assert "deployer:domain: missing" in result.stderr
    assert "pulumi config set deployer:domain api.example.com" in result.stderr


def test_invalid_config_and_unknown_stack_exit_2(tmp_path: Path) -> None:
    root = copy_example(tmp_path, "aws-dev", lambda t: t.replace("203.0.113.7/32", "300.1.1.1/32"))
    result = plan("aws-dev", "--root", str(root))
    assert result.exit_code == 2 and "deployer:sshCidrs" in result.stderr
    missing = plan("nope-dev", "--json", "--root", str(root))
    assert missing.exit_code == 2 and "Pulumi.nope-dev.yaml" in missing.stderr
    assert missing.stdout == ""  # no JSON document for a stack that could not be planned
    traversal = plan("../aws-dev", "--root", str(root))
    assert traversal.exit_code == 2 and "invalid stack name" in traversal.stderr


def test_encrypted_values_in_stack_file_are_treated_as_secrets(tmp_path: Path) -> None:
    root = copy_example(
        tmp_path,
        "aws-dev",
        lambda t: t + "  deployer:dbPassword:\n    secure: v1:AAAAexampleciphertext\n",
    )
    result = plan("aws-dev", "--json", "--root", str(root))
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    types = [r["type"] for r in document["resources"]]
    assert "random:index/randomPassword:RandomPassword" not in types  # the given secret is used
    (db,) = [r for r in document["resources"] if r["type"] == "aws:rds/instance:Instance"]
    assert db["inputs"]["password"] == "(secret)"


def test_project_root_is_found_from_a_subdirectory() -> None:
    from deployer.cli.plan import project_root

    assert project_root(ROOT / "stacks") == ROOT
    assert project_root(ROOT) == ROOT


def test_reports_never_contain_secret_values(capsys) -> None:
    """Even when every value is known (apply mode), secrets stay masked in JSON and table."""
    from stack_helpers import run_stack

    from deployer.plan import report

    run = run_stack("aws-dev", dbPassword="TopSecretGiven1")
    text = json.dumps(report.as_dict("aws-dev", run, []))
    report.print_plan("aws-dev", run, [])
    text += capsys.readouterr().out
    for secret in ("TopSecretGiven1", "PRIVATE KEY", "postgresql+psycopg"):
        assert secret not in text
    assert (
        json.loads(json.dumps(report.as_dict("aws-dev", run, [])))["outputs"]["database_url"]
        == "(secret)"
    )
