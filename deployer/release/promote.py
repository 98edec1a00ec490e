"""Promotion: run on stage DST exactly the artifact (same sha256) that stage SRC runs.

VM/SSH stages: SRC must be healthy (its current release's unit active and its public health URL
answering 200) and DST must not be locked; the artifact is fetched from SRC's host (kept under
state/artifacts/) and checked against the hash, then deployed to DST with the normal health-gated
lifecycle. Platform stages (Cloud Run, App Service) carry their artifact in stack config; what SRC
really runs is the ``artifact`` output of its deployed stack (``pulumi stack output --stack SRC``),
never the committed ``Pulumi.<SRC>.yaml``, whose values may be placeholders (CI pins the real ones
only in the throwaway checkout of the job that deployed SRC). Those values go into DST's config,
ready for ``pulumi up``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from deployer.release.lock import LockHeld
from deployer.release.state import read_state

if TYPE_CHECKING:
    from deployer.artifact import Artifact
    from deployer.release.ledger import Release
    from deployer.remote import Remote
    from deployer.target import Target


class PromotionRefused(RuntimeError):
    """SRC is not healthy, has nothing to promote, or DST is locked."""


@dataclass(frozen=True)
class SourceRelease:
    release: Release
    health: str


def check_source(remote: Remote, target: Target) -> SourceRelease:
    """The release SRC serves, after checking it is healthy; raise PromotionRefused if not."""
    from deployer.http import get

    layout = target.layout
    state = read_state(remote, layout)
    cur = state.ledger.current()
    if cur is None:
        raise PromotionRefused(f"stage {target.stage} has no current release to promote")
    unit = layout.unit(cur.id)
    active = remote.run(["systemctl", "is-active", unit], check=False).stdout.strip()
    if active != "active":
        raise PromotionRefused(f"stage {target.stage} is unhealthy: {unit} is {active}")
    try:
        answer = get(target, target.app.health_path)
    except OSError as exc:
        msg = f"stage {target.stage} is unhealthy: {target.health_url}: {exc}"
        raise PromotionRefused(msg) from None
    if answer.status != 200:
        raise PromotionRefused(
            f"stage {target.stage} is unhealthy: {target.health_url} answered {answer.status}"
        )
    return SourceRelease(cur, answer.body.strip())


def check_destination_unlocked(remote: Remote, target: Target) -> None:
    holder = read_state(remote, target.layout).holder
    if holder is not None:
        raise LockHeld(holder)


def source_artifact(remote: Remote, target: Target, release: Release, out_dir: Path) -> Artifact:
    """The artifact of ``release`` from SRC's host, verified against its sha256."""
    from deployer.artifact import Artifact
    from deployer.release.lifecycle import fetch_artifact

    path = fetch_artifact(remote, target.layout, release.sha256, out_dir)
    return Artifact(
        path=path,
        sha256=release.sha256,
        version=release.version or None,
        commit=release.commit or None,
    )


def is_platform_stage(stage: dict, stacks_dir: Path) -> bool:
    """A deployer.toml stage (as ``config.stage`` returns it) that runs on a platform: it names a
    Pulumi stack, no SSH host, and that stack's config carries artifact keys."""
    from deployer.stack_config import StackConfigError, read_artifact, stack_file

    if "stack" not in stage or "host" in stage or "outputs" in stage:
        return False
    try:
        return bool(read_artifact(stack_file(stacks_dir, stage["stack"])))
    except StackConfigError:
        return False


# The digests and hashes the example stack files carry until a build replaces them: a hex run of
# one repeated digit, or 0123456789abcdef repeated.
_PLACEHOLDER = re.compile(r"(?:^|[@:/-])(?:([0-9a-f])\1{15,}|(?:0123456789abcdef)+)(?:\.zip)?$")


def is_placeholder(value: str) -> bool:
    """Whether an artifact value is an example's placeholder, not a build's digest or hash."""
    return bool(_PLACEHOLDER.search(value))


def stack_output_argv(pulumi: str, stack: str) -> list[str]:
    """``pulumi stack output --json --stack STACK``: secrets stay masked (none are needed)."""
    return [pulumi, "stack", "output", "--json", "--stack", stack]


def deployed_artifact(stack: str) -> dict[str, str]:
    """The artifact keys ``stack`` was last deployed with: its ``artifact`` output."""
    from deployer.stack_config import StackConfigError, stack_file

    stack_file(Path("."), stack)  # checks the name
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        raise PromotionRefused(
            f"the pulumi CLI is needed to read what {stack} runs (its stack outputs)"
        )
    done = subprocess.run(
        stack_output_argv(pulumi, stack), capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise PromotionRefused(f"pulumi stack output --stack {stack}: {done.stderr.strip()[-300:]}")
    try:
        artifact = json.loads(done.stdout).get("artifact")
    except (ValueError, AttributeError):
        raise PromotionRefused(f"pulumi stack output --stack {stack}: not a JSON object") from None
    if not isinstance(artifact, dict) or not artifact:
        raise PromotionRefused(f"stack {stack} exports no artifact: deploy it first (pulumi up)")
    values = {str(key): str(value) for key, value in artifact.items()}
    for key, value in values.items():
        if is_placeholder(value):
            raise PromotionRefused(
                f"stack {stack} runs the placeholder {key}={value}, not a build: deploy a real "
                "artifact to it first"
            )
    try:
        from deployer.stack_config import validate_value

        for key, value in values.items():
            validate_value(key, value)
    except StackConfigError as exc:
        raise PromotionRefused(f"stack {stack}: {exc}") from None
    return values


def promote_platform(stacks_dir: Path, src_stack: str, dst_stack: str) -> dict[str, str]:
    """Give the next platform stack the artifact SRC's deployed stack runs (then ``pulumi up``)."""
    from deployer.stack_config import copy_artifact_keys

    return copy_artifact_keys(stacks_dir, src_stack, dst_stack, deployed_artifact(src_stack))
