"""Hand recorded resources to the CrossGuard pack the way the engine would, offline.

The engine gives a stack validation ``PolicyResource`` objects (props with unknowns as the wire
sentinel, options, the resources each depends on); these are built with the SDK's own classes
from a mock-engine recording, then each policy's ``validate`` is called directly: the pack's own
gRPC server (which needs the Pulumi CLI) never starts.
"""

from __future__ import annotations

from typing import Any

from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    StackValidationArgs,
)

from deployer.plan.crossguard import ENGINE_UNKNOWN, policies
from deployer.plan.engine import Resource
from deployer.plan.values import UNKNOWN


def _wire(value: Any) -> Any:
    if value == UNKNOWN:
        return ENGINE_UNKNOWN
    if isinstance(value, dict):
        return {k: _wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_wire(v) for v in value]
    return value


def policy_resources(resources: list[Resource]) -> list[PolicyResource]:
    """The engine's view of a recording."""
    made: dict[str, PolicyResource] = {}
    for r in resources:
        options = PolicyResourceOptions(
            protect=r.protect,
            ignore_changes=list(r.ignore_changes),
            delete_before_replace=None,
            aliases=[],
            custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
            additional_secret_outputs=[],
        )
        made[r.urn] = PolicyResource(
            r.type, _wire(r.revealed or r.inputs), r.urn, r.name, options, None, None, [], {}
        )
    for r in resources:
        made[r.urn].dependencies = [made[u] for u in sorted(r.dependencies) if u in made]
        made[r.urn].property_dependencies = {
            prop: [made[u] for u in sorted(urns) if u in made]
            for prop, urns in r.property_dependencies.items()
        }
    return list(made.values())


def crossguard(resources: list[Resource], settings) -> list[tuple[str, str, str | None]]:
    """(policy, message, urn) for every violation the pack reports."""
    args = StackValidationArgs(policy_resources(resources))
    found: list[tuple[str, str, str | None]] = []
    for policy in policies(lambda: settings):
        policy.validate(
            args, lambda message, urn=None, p=policy: found.append((p.name, message, urn))
        )
    return found
