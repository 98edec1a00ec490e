"""Stack config edits for platform promotion: values change, comments and secrets survive."""

from __future__ import annotations

from pathlib import Path

import pytest

from deployer.stack_config import (
    StackConfigError,
    cli_wanted,
    copy_artifact_keys,
    platform_cloud,
    pulumi_config_set_argv,
    read_artifact,
    read_config,
    set_values,
    set_values_in_file,
    stack_file,
)

DIGEST_A = "a" * 64
DIGEST_B = "b" * 64
IMAGE_A = f"europe-docker.pkg.dev/proj/app/app@sha256:{DIGEST_A}"
IMAGE_B = f"europe-docker.pkg.dev/proj/app/app@sha256:{DIGEST_B}"

GCP_DEV = f"""\
# Cloud Run, dev stage
config:
  gcp:project: example-project  # the GCP project id
  deployer:cloud: gcp
  deployer:stage: dev
  # the image every stage after dev gets by promotion
  deployer:image: {IMAGE_A}
  deployer:secretKey:
    secure: AAABAHxK0vF1c2VjcmV0LWNpcGhlcnRleHQ=
"""

GCP_STAGING = f"""\
# Cloud Run, staging stage
config:
  gcp:project: example-project
  deployer:cloud: gcp
  deployer:stage: staging
  deployer:image: {IMAGE_B}  # replaced by `deployer promote dev staging`
  deployer:domains:
    - staging.example.com
"""


def write(dir_: Path, stack: str, text: str) -> Path:
    path = dir_ / f"Pulumi.{stack}.yaml"
    path.write_text(text)
    return path


def test_round_trip_keeps_comments_order_and_secrets(tmp_path: Path) -> None:
    path = write(tmp_path, "gcp-dev", GCP_DEV)
    assert set_values_in_file(path, {"deployer:image": IMAGE_B}) is True
    assert path.read_text() == GCP_DEV.replace(IMAGE_A, IMAGE_B)
    assert read_config(path)["deployer:secretKey"] == {
        "secure": "AAABAHxK0vF1c2VjcmV0LWNpcGhlcnRleHQ="
    }


def test_unchanged_value_does_not_rewrite(tmp_path: Path) -> None:
    path = write(tmp_path, "gcp-dev", GCP_DEV)
    before = path.stat().st_mtime_ns
    assert set_values_in_file(path, {"deployer:image": IMAGE_A}) is False
    assert path.stat().st_mtime_ns == before


def test_new_key_is_added_at_the_end(tmp_path: Path) -> None:
    path = write(tmp_path, "az-dev", "config:\n  deployer:cloud: azure  # App Service\n")
    values = {"deployer:appPackage": "dist/appservice-aaaa.zip", "deployer:packageSha256": DIGEST_A}
    set_values_in_file(path, values)
    assert path.read_text() == (
        "config:\n  deployer:cloud: azure  # App Service\n"
        "  deployer:appPackage: dist/appservice-aaaa.zip\n"
        f"  deployer:packageSha256: {DIGEST_A}\n"
    )
    assert read_artifact(path) == values


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("deployer:image", "europe-docker.pkg.dev/proj/app/app:1.0.0"),  # tag: it moves
        ("deployer:image", f"app@sha256:{DIGEST_A}\nother: 1"),
        ("deployer:packageSha256", "abc"),
        ("deployer:appPackage", "/etc/app.zip"),
        ("deployer:appPackage", "dist/../../app.zip"),
        ("deployer:appPackage", "dist/app.tar"),
    ],
)
def test_bad_values_are_refused(tmp_path: Path, key: str, value: str) -> None:
    path = write(tmp_path, "gcp-dev", GCP_DEV)
    with pytest.raises(StackConfigError, match="invalid value"):
        set_values_in_file(path, {key: value})
    assert path.read_text() == GCP_DEV


def test_promotion_copies_the_image_and_keeps_the_rest(tmp_path: Path) -> None:
    write(tmp_path, "gcp-dev", GCP_DEV)
    staging = write(tmp_path, "gcp-staging", GCP_STAGING)
    deployed = read_artifact(tmp_path / "Pulumi.gcp-dev.yaml")
    copied = copy_artifact_keys(tmp_path, "gcp-dev", "gcp-staging", deployed, use_cli=False)
    assert copied == {"deployer:image": IMAGE_A}
    assert staging.read_text() == GCP_STAGING.replace(IMAGE_B, IMAGE_A)
    assert read_artifact(staging) == read_artifact(tmp_path / "Pulumi.gcp-dev.yaml")


def test_promotion_refuses_incomplete_or_missing_artifacts(tmp_path: Path) -> None:
    write(tmp_path, "none", "config:\n  deployer:cloud: aws\n")
    write(tmp_path, "half", f"config:\n  deployer:packageSha256: {DIGEST_A}\n")
    dst = write(tmp_path, "dst", "config: {}\n")
    with pytest.raises(StackConfigError, match="no artifact keys"):
        copy_artifact_keys(tmp_path, "none", "dst", {}, use_cli=False)
    with pytest.raises(StackConfigError, match="lacks deployer:appPackage"):
        half = read_artifact(tmp_path / "Pulumi.half.yaml")
        copy_artifact_keys(tmp_path, "half", "dst", half, use_cli=False)
    assert dst.read_text() == "config: {}\n"


def test_promotion_refuses_a_package_with_other_bytes(tmp_path: Path) -> None:
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "appservice-aaaa.zip").write_bytes(b"not the recorded bytes")
    write(
        tmp_path,
        "az-dev",
        "config:\n  deployer:appPackage: dist/appservice-aaaa.zip\n"
        f"  deployer:packageSha256: {DIGEST_A}\n",
    )
    dst = write(tmp_path, "az-prod", "config:\n  deployer:cloud: azure\n")
    with pytest.raises(StackConfigError, match="does not have sha256"):
        values = read_artifact(tmp_path / "Pulumi.az-dev.yaml")
        copy_artifact_keys(tmp_path, "az-dev", "az-prod", values, use_cli=False)
    assert dst.read_text() == "config:\n  deployer:cloud: azure\n"


def test_promotion_refuses_another_cloud(tmp_path: Path) -> None:
    write(tmp_path, "gcp-dev", GCP_DEV)
    write(tmp_path, "az-prod", "config:\n  deployer:cloud: azure\n")
    with pytest.raises(StackConfigError, match="cannot promote gcp"):
        values = read_artifact(tmp_path / "Pulumi.gcp-dev.yaml")
        copy_artifact_keys(tmp_path, "gcp-dev", "az-prod", values, use_cli=False)


def test_platform_cloud(tmp_path: Path) -> None:
    write(tmp_path, "gcp-dev", GCP_DEV)
    write(tmp_path, "aws-dev", "config:\n  deployer:cloud: aws\n")
    assert platform_cloud(tmp_path, "gcp-dev") == "gcp"
    assert platform_cloud(tmp_path, "aws-dev") is None


def test_stack_names_are_checked(tmp_path: Path) -> None:
    with pytest.raises(StackConfigError, match="invalid stack name"):
        stack_file(tmp_path, "../../etc/passwd")
    with pytest.raises(StackConfigError, match="not found"):
        set_values(tmp_path, "missing", {"deployer:image": IMAGE_A}, use_cli=False)


def test_pulumi_cli_argv() -> None:
    argv = pulumi_config_set_argv("gcp-prod", "deployer:image", IMAGE_A, Path("stacks"))
    assert argv == [
        "pulumi",
        "config",
        "set",
        "--stack",
        "gcp-prod",
        "--cwd",
        "stacks",
        "--",
        "deployer:image",
        IMAGE_A,
    ]


def test_cli_choice_can_be_forced(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no pulumi here
    monkeypatch.delenv("DEPLOYER_PULUMI_CLI", raising=False)
    assert cli_wanted() is False
    monkeypatch.setenv("DEPLOYER_PULUMI_CLI", "1")
    assert cli_wanted() is True
    fake = tmp_path / "pulumi"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv("DEPLOYER_PULUMI_CLI", "0")
    assert cli_wanted() is False
    monkeypatch.delenv("DEPLOYER_PULUMI_CLI")
    assert cli_wanted() is True
