"""Promotion: run on stage DST exactly the artifact (same sha256) that stage SRC runs.

VM/SSH stages: SRC must be healthy (its current release's unit active and its public health URL
answering 200) and DST must not be locked; the artifact is fetched from SRC's host (kept under
state/artifacts/) and checked against the hash, then deployed to DST with the normal health-gated
lifecycle. Platform stages (Cloud Run, App Service) carry their artifact in stack config: the
artifact keys are copied from SRC's stack to DST's (``deployer.stack_config``), ready for
``pulumi up``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from deployer.release.layout import Layout
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
    from deployer.steps.health import get

    layout = Layout(target.app.name)
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
    holder = read_state(remote, Layout(target.app.name)).holder
    if holder is not None:
        raise LockHeld(holder)


def source_artifact(remote: Remote, target: Target, release: Release, out_dir: Path) -> Artifact:
    """The artifact of ``release`` from SRC's host, verified against its sha256."""
    from deployer.artifact import Artifact
    from deployer.release.lifecycle import fetch_artifact

    path = fetch_artifact(remote, Layout(target.app.name), release.sha256, out_dir)
    return Artifact(
        path=path,
        sha256=release.sha256,
        version=release.version or None,
        commit=release.commit or None,
        root="app",
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


def promote_platform(stacks_dir: Path, src_stack: str, dst_stack: str) -> dict[str, str]:
    """Copy the artifact keys of a platform stack to the next one (then ``pulumi up`` DST)."""
    from deployer.stack_config import copy_artifact_keys

    return copy_artifact_keys(stacks_dir, src_stack, dst_stack)
