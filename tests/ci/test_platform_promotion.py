"""Platform promotion end to end, offline: `deployer promote` gives the destination stack the
source's artifact in its config, and `deployer plan` of the destination then deploys exactly it."""

from __future__ import annotations

import hashlib
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
# What the dev job builds: real-looking digests (never a placeholder's repeated digits).
NEW_BUILD = {
    "gcp": {
        "deployer:image": "europe-docker.pkg.dev/example-project/app/app@sha256:"
        + hashlib.sha256(b"image").hexdigest()
    },
    "azure": {
        "deployer:appPackage": f"dist/appservice-{hashlib.sha256(b'zip').hexdigest()[:16]}.zip",
        "deployer:packageSha256": hashlib.sha256(b"zip bytes").hexdigest(),
    },
}
# A stand-in for the Pulumi CLI: `pulumi stack output --json --stack S` prints $OUTPUTS/S.json
# (what `pulumi up` of S exported); every call is logged to $OUTPUTS/calls.
FAKE_PULUMI = """#!/bin/sh
echo "$*" >> "$OUTPUTS/calls"
[ "$1 $2 $3 $4" = "stack output --json --stack" ] || exit 2
cat "$OUTPUTS/$5.json"
"""


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


def deployed_outputs(root: Path, stack: str) -> dict:
    """The outputs `pulumi up` of ``stack`` would export: its program run under the mocks."""
    from deployer.plan import stackconfig
    from deployer.plan.engine import run_program

    return run_program(stackconfig.load(root, stack).values, (), stack, preview=False).outputs


def promote(root: Path, src: str, dst: str, outputs: dict[str, dict] | None) -> tuple[int, str]:
    """`deployer promote SRC DST` in ``root`` with the stand-in CLI answering ``outputs``
    (None: no pulumi CLI at all). The destination's file is edited (DEPLOYER_PULUMI_CLI=0)."""
    (root / "deployer.toml").write_text(
        f'[stages.{src}]\nstack = "{src}"\n\n[stages.{dst}]\nstack = "{dst}"\n'
    )
    bin_dir = root / "bin"
    bin_dir.mkdir(exist_ok=True)
    path = [os.path.dirname(sys.executable), "/usr/bin", "/bin"]
    if outputs is not None:
        (bin_dir / "pulumi").write_text(FAKE_PULUMI)
        (bin_dir / "pulumi").chmod(0o755)
        for stack, values in outputs.items():
            (root / f"{stack}.json").write_text(json.dumps(values))
        path.insert(0, str(bin_dir))
    env = {
        **os.environ,
        "PATH": os.pathsep.join(path),
        "OUTPUTS": str(root),
        "DEPLOYER_PULUMI_CLI": "0",
    }
    done = subprocess.run(
        [sys.executable, "-m", "deployer", "promote", "--stacks-dir", str(root),
         "--config", str(root / "deployer.toml"), src, dst],
        capture_output=True, text=True, check=False, cwd=root, env=env,
    )  # fmt: skip
    return done.returncode, done.stdout + done.stderr


def copy_stacks(root: Path, *stacks: str) -> None:
    for name in ("Pulumi.yaml", *(f"Pulumi.{stack}.yaml" for stack in stacks)):
        shutil.copy(ROOT / name, root / name)


@pytest.mark.skipif(not PAIRS, reason="no example platform stacks (Pulumi.<cloud>-dev.yaml) yet")
@pytest.mark.parametrize(("src", "dst"), PAIRS)
def test_promote_then_plan_shows_the_artifact(tmp_path: Path, src: str, dst: str) -> None:
    copy_stacks(tmp_path, src, dst)
    cloud = platform_cloud(tmp_path, src)
    assert cloud is not None
    build = NEW_BUILD[cloud]
    # The dev job pins the build in its own throwaway checkout, then `pulumi up` exports it.
    pinned = tmp_path / "dev-job"
    pinned.mkdir()
    copy_stacks(pinned, src)
    set_values(pinned, src, build, use_cli=False)
    outputs = deployed_outputs(pinned, src)
    assert outputs["artifact"] == build
    # The promoting job's checkout has only the committed file, placeholders and all.
    committed = read_artifact(tmp_path / f"Pulumi.{src}.yaml")
    assert committed != build

    code, said = promote(tmp_path, src, dst, {src: outputs})
    assert code == 0, said
    assert read_artifact(tmp_path / f"Pulumi.{dst}.yaml") == build
    assert (tmp_path / "calls").read_text().splitlines() == [f"stack output --json --stack {src}"]
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


@pytest.mark.skipif(not PAIRS, reason="no example platform stacks (Pulumi.<cloud>-dev.yaml) yet")
@pytest.mark.parametrize(("src", "dst"), PAIRS)
def test_staging_cannot_pick_up_a_placeholder(tmp_path: Path, src: str, dst: str) -> None:
    copy_stacks(tmp_path, src, dst)
    before = (tmp_path / f"Pulumi.{dst}.yaml").read_text()
    # SRC deployed the committed example as it is: its outputs carry the placeholders
    placeholder = deployed_outputs(tmp_path, src)
    for outputs in (
        None,  # no CLI: nothing tells what SRC runs (the committed file must not stand in)
        {src: placeholder},
        {src: {k: v for k, v in placeholder.items() if k != "artifact"}},  # never deployed
    ):
        code, said = promote(tmp_path, src, dst, outputs)
        assert code == 5, said
        assert "refused" in said
        assert (tmp_path / f"Pulumi.{dst}.yaml").read_text() == before


