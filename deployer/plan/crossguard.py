"""The plan's policy rules as a Pulumi CrossGuard pack (``policy/``): one implementation, two
adapters. ``deployer plan`` runs ``policies.RULES`` over the mock engine's recording; this module
wraps each rule in a ``StackValidationPolicy`` that runs it over the real engine's resources, so
``pulumi preview --policy-pack policy`` enforces the same rules where the Pulumi CLI runs.

Stack validations see every resource with its URN and dependencies, which the ordering and
coverage rules need. They run at preview (blocking a bad plan before anything is created); on
``pulumi up`` the engine runs them after the update, so CI previews with the pack first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pulumi.runtime.rpc import UNKNOWN as ENGINE_UNKNOWN  # how the engine sends "unknown"
from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    ReportViolation,
    StackValidationArgs,
    StackValidationPolicy,
)

from deployer.plan.engine import Resource
from deployer.plan.policies import RULES, Rule
from deployer.plan.values import UNKNOWN, clean
from stacks.settings import Settings


def _plain(value: Any) -> Any:
    """Engine values as the recorder writes them: unknowns marked, integral floats as ints."""
    if value == ENGINE_UNKNOWN:
        return UNKNOWN
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def resource_of(p: PolicyResource) -> Resource:
    """The plan's view of one resource the engine hands a stack validation."""
    from deployer.plan.recorder import taggable

    revealed = clean(_plain(dict(p.props)), reveal=True)
    return Resource(
        type=p.resource_type,
        name=p.name,
        inputs=clean(_plain(dict(p.props))),
        protect=bool(p.opts.protect),
        taggable=taggable(p.resource_type),
        revealed=revealed,
        urn=p.urn,
        dependencies=frozenset(d.urn for d in p.dependencies),
        property_dependencies={
            prop: frozenset(d.urn for d in deps) for prop, deps in p.property_dependencies.items()
        },
        ignore_changes=tuple(p.opts.ignore_changes),
    )


def stack_settings() -> Settings:
    """The running stack's validated settings (the pack sees the stack's config)."""
    from stacks.program import read_settings

    return read_settings()


def _validator(rule: Rule, settings: Callable[[], Settings]):
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        resources = [resource_of(p) for p in args.resources]
        urns = {f"{r.type} {r.name}": r.urn for r in resources}
        for violation in rule(resources, settings()):
            report_violation(violation.message, urns.get(violation.resource))

    return validate


def policies(settings: Callable[[], Settings] = stack_settings) -> list[StackValidationPolicy]:
    """One mandatory stack policy per plan rule, named like the rule."""
    return [
        StackValidationPolicy(
            name=name,
            description=" ".join((rule.__doc__ or name).split()),
            enforcement_level=EnforcementLevel.MANDATORY,
            validate=_validator(rule, settings),
        )
        for name, rule in RULES.items()
    ]
