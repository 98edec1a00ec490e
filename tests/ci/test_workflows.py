"""The GitHub Actions workflows: schema-valid, zizmor-clean, least privilege, safe for forks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))
BIN = Path(sys.executable).parent


def load(path: Path) -> dict:
    return YAML(typ="safe").load(path.read_text())  # YAML 1.2: the key `on` stays a string


def jobs(path: Path) -> dict[str, dict]:
    return load(path)["jobs"]


def steps(path: Path) -> list[dict]:
    return [step for job in jobs(path).values() for step in job.get("steps", [])]


def test_there_are_workflows() -> None:
    names = {p.name for p in WORKFLOWS}
    assert {"pr.yml", "main.yml", "stage.yml", "checks.yml"} <= names


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_schema(path: Path) -> None:
    result = subprocess.run(
        [BIN / "check-jsonschema", "--builtin-schema", "vendor.github-workflows", path],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_finds_nothing_at_medium_or_above() -> None:
    result = subprocess.run(
        [BIN / "zizmor", "--offline", "--config", ROOT / "zizmor.yml", "--format", "json",
         "--min-severity", "medium", ROOT / ".github" / "workflows"],
        capture_output=True,
        text=True,
        check=False,
    )
    findings = json.loads(result.stdout)
    summary = [
        (f["ident"], f["determinations"]["severity"], str(f["locations"][0]["symbolic"]["key"]))
        for f in findings
    ]
    assert summary == [], result.stderr[-2000:]
    assert result.returncode == 0


def test_zizmor_config_accepts_tag_pins_only_for_official_orgs() -> None:
    policies = load(ROOT / "zizmor.yml")["rules"]["unpinned-uses"]
    policies = policies["config"]["policies"]
    assert policies["*"] == "hash-pin"
    used = {
        step["uses"].split("@")[0]
        for path in WORKFLOWS
        for step in steps(path)
        if "uses" in step and not step["uses"].startswith("./")
    }
    for action in used:
        org = action.split("/")[0]
        assert policies.get(f"{org}/*") == "ref-pin", f"{action}: not an accepted official org"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_least_privilege(path: Path) -> None:
    data = load(path)
    assert data.get("permissions") == {}, "top level grants nothing; jobs widen as needed"
    allowed = {"contents": "read", "id-token": "write"}
    for name, job in data["jobs"].items():
        perms = job.get("permissions")
        assert isinstance(perms, dict), f"job {name} must state its permissions"
        for scope, level in perms.items():
            assert allowed.get(scope) == level, f"job {name}: {scope}: {level}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_checkout_never_persists_credentials(path: Path) -> None:
    checkouts = [s for s in steps(path) if s.get("uses", "").startswith("actions/checkout@")]
    for step in checkouts:
        assert step.get("with", {}).get("persist-credentials") is False


def test_pull_requests_are_safe_for_forks() -> None:
    pr = ROOT / ".github" / "workflows" / "pr.yml"
    data = load(pr)
    assert set(data["on"]) == {"pull_request"}
    text = pr.read_text() + (ROOT / ".github" / "workflows" / "checks.yml").read_text()
    assert "secrets." not in text
    assert "id-token" not in text
    plan = jobs(pr)["plan"]
    assert any(s.get("run", "").strip() == "deployer plan --all" for s in plan["steps"])


def test_no_expression_is_expanded_inside_a_script() -> None:
    """Values reach shell scripts through env (no template injection)."""
    for path in WORKFLOWS:
        for step in steps(path):
            assert "${{" not in step.get("run", ""), f"{path.name}: {step.get('name')}"


def test_main_promotes_dev_staging_prod() -> None:
    main = jobs(ROOT / ".github" / "workflows" / "main.yml")
    assert main["staging"]["needs"] == "dev"
    assert main["prod"]["needs"] == "staging"
    assert main["dev"]["with"].get("promote-from") is None
    assert main["staging"]["with"]["promote-from"] == "${{ matrix.from }}"
    assert main["prod"]["with"]["environment"] == "production"
    for stage in ("dev", "staging", "prod"):
        assert main[stage]["uses"] == "./.github/workflows/stage.yml"
        assert "inherit" not in str(main[stage].get("secrets"))
    for stage, earlier in (("staging", "dev"), ("prod", "staging")):
        for row in main[stage]["strategy"]["matrix"]["include"]:
            assert row["from"] == row["stage"].replace(stage, earlier)


def test_stage_job_is_serialised_and_authenticates_by_oidc() -> None:
    stage = ROOT / ".github" / "workflows" / "stage.yml"
    job = jobs(stage)["deploy"]
    assert job["concurrency"] == {
        "group": "deploy-${{ inputs.stage }}",
        "cancel-in-progress": False,
    }
    assert job["environment"]["name"] == "${{ inputs.environment }}"
    uses = {s.get("uses", "").split("@")[0] for s in job["steps"]}
    assert {
        "aws-actions/configure-aws-credentials",
        "google-github-actions/auth",
        "azure/login",
        "pulumi/actions",
    } <= uses
    text = stage.read_text()
    for long_lived in ("aws-secret-access-key", "credentials_json", "client-secret", "creds:"):
        assert long_lived not in text
    ups = [s for s in job["steps"] if s.get("with", {}).get("command") == "up"]
    assert ups and ups[0]["uses"].startswith("pulumi/actions@")
    smoke = next(s for s in job["steps"] if s.get("id") == "smoke")
    assert "/health" in smoke["run"]


def test_promoting_jobs_read_the_artifact_from_the_source_stack_not_from_files() -> None:
    """Only the dev run (no promote-from) pins artifact keys itself; a promoting run gets them
    from `deployer promote`, which needs the Pulumi CLI and token to read SRC's stack outputs."""
    job = jobs(ROOT / ".github" / "workflows" / "stage.yml")["deploy"]
    steps_ = job["steps"]
    artifact_keys = ("deployer:image", "deployer:appPackage", "deployer:packageSha256")
    pinning = [s for s in steps_ if any(key in s.get("run", "") for key in artifact_keys)]
    assert pinning
    for step in pinning:
        assert "inputs.promote-from == ''" in step["if"], step["name"]
    index = {id(s): i for i, s in enumerate(steps_)}
    (promote,) = [
        s
        for s in steps_
        if s.get("run", "").startswith("deployer promote") and "PLATFORM" in s.get("if", "")
    ]
    assert "inputs.promote-from != ''" in promote["if"]
    pulumi_steps = [s for s in steps_ if s.get("uses", "").startswith("pulumi/actions@")]
    cli = next(s for s in pulumi_steps if not s.get("with"))  # installs the CLI
    up = next(s for s in steps_ if s.get("with", {}).get("command") == "up")
    assert index[id(cli)] < index[id(promote)] < index[id(up)]
    assert "PULUMI_ACCESS_TOKEN" in promote["env"]
    for step in steps_:  # nothing copies stack files around behind promote's back
        assert not any(word in step.get("run", "") for word in ("cp Pulumi.", "yq ", "sed -i"))
