"""Platform promotion end to end, offline: `deployer promote` gives the destination stack the
source's artifact in its config, and `deployer plan` of the destination then deploys exactly it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from deployer.stack_config import (
    ARTIFACT_KEYS,
    platform_cloud,
    read_artifact,
    read_config,
    set_values,
    stack_of,
)

ROOT = Path(__file__).resolve().parents[2]
NEW_BUILD = {
    "gcp": {"deployer:image": "europe-docker.pkg.dev/example-project/app/app@sha256:" + "c" * 64},
    "azure": {
        "deployer:appPackage": "dist/appservice-0123456789abcdef.zip",
        "deployer:packageSha256": "d" * 64,
    },
}


def promotion_pairs() -> list[tuple[str, str]]:
    """(dev, next stage) pairs of the example platform stacks."""
    pairs = []
    for dev in sorted(ROOT.glob("Pulumi.*-dev.yaml")):
        stack = stack_of(dev)
        if platform_cloud(ROOT, stack) is None:
            continue
        prefix = stack.removesuffix("-dev")
        for nxt in ("staging", "prod"):
            if (ROOT / f"Pulumi.{prefix}-{nxt}.yaml").is_file():
                pairs.append((stack, f"{prefix}-{nxt}"))
                break
    return pairs


PAIRS = promotion_pairs()


def test_artifact_keys_cover_the_platform_clouds() -> None:
    assert set(NEW_BUILD) == set(ARTIFACT_KEYS)


@pytest.mark.skipif(not PAIRS, reason="no example platform stacks (Pulumi.<cloud>-dev.yaml) yet")
@pytest.mark.parametrize(("src", "dst"), PAIRS)
def test_promote_then_plan_shows_the_artifact(tmp_path: Path, src: str, dst: str) -> None:
    for name in ("Pulumi.yaml", f"Pulumi.{src}.yaml", f"Pulumi.{dst}.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    cloud = platform_cloud(tmp_path, src)
    assert cloud is not None
    build = NEW_BUILD[cloud]
    set_values(tmp_path, src, build, use_cli=False)  # what the main workflow does on dev
    assert read_artifact(tmp_path / f"Pulumi.{dst}.yaml") != build

    (tmp_path / "deployer.toml").write_text(
        f'[stages.{src}]\nstack = "{src}"\n\n[stages.{dst}]\nstack = "{dst}"\n'
    )
    env = {**os.environ, "DEPLOYER_PULUMI_CLI": "0"}  # edit the files; no backend here
    promoted = subprocess.run(
        [sys.executable, "-m", "deployer", "promote", "--stacks-dir", str(tmp_path),
         "--config", str(tmp_path / "deployer.toml"), src, dst],
        capture_output=True, text=True, check=False, cwd=tmp_path, env=env,
    )
    assert promoted.returncode == 0, promoted.stdout + promoted.stderr
    assert read_artifact(tmp_path / f"Pulumi.{dst}.yaml") == build
    assert read_config(tmp_path / f"Pulumi.{dst}.yaml")["deployer:stage"] != (
        read_config(tmp_path / f"Pulumi.{src}.yaml")["deployer:stage"]
    )

    result = subprocess.run(
        [sys.executable, "-m", "deployer", "plan", dst, "--root", str(tmp_path), "--json"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode in (0, 1), result.stderr[-3000:]  # 1: policy findings, not ours
    planned = json.dumps(json.loads(result.stdout)["resources"])
    for value in build.values():
        value = value.split("@sha256:")[1] if "@sha256:" in value else value
        assert value in planned, f"{dst}: plan does not deploy {value}"
