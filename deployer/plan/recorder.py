"""The mocks: record each registered resource (its ``protect`` option, URN and dependencies) and
fake the cloud."""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import pulumi
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs

from deployer.plan import fakes
from deployer.plan.values import Resource, clean


class Recorder(pulumi.runtime.Mocks):
    """Answer resource registrations and invokes; keep the list of resources."""

    def __init__(self, preview: bool) -> None:
        self.preview = preview
        self.resources: list[Resource] = []
        self.protected: set[tuple[str, str]] = set()
        self.registrations: dict[tuple[str, str], Registration] = {}

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict]:
        seen = self.registrations.get((args.typ, args.name), Registration())
        self.resources.append(
            Resource(
                type=args.typ,
                name=args.name,
                inputs=clean(args.inputs),
                protect=(args.typ, args.name) in self.protected,
                taggable=taggable(args.typ),
                revealed=clean(args.inputs, reveal=True),
                urn=seen.urn,
                dependencies=seen.dependencies,
                property_dependencies=seen.property_dependencies,
                ignore_changes=seen.ignore_changes,
                aliases=seen.aliases,
            )
        )
        if self.preview:  # like `pulumi preview`: ids and computed outputs are unknown
            return "", dict(args.inputs)
        outputs = dict(args.inputs) | fakes.computed(args.typ, args.name, args.inputs)
        return fakes.resource_id(args.typ, args.name), outputs

    def call(self, args: MockCallArgs) -> tuple[dict, list]:
        return dict(fakes.INVOKES.get(args.token, {})), []


@dataclass(frozen=True)
class Registration:
    """What the engine is told about a resource besides its inputs."""

    urn: str = ""
    dependencies: frozenset[str] = frozenset()
    property_dependencies: dict[str, frozenset[str]] = field(default_factory=dict)
    ignore_changes: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()


class RecordingMonitor(MockMonitor):
    """A mock monitor that also notes each resource's URN, dependencies, ``protect``,
    ``ignore_changes`` and ``aliases`` options.

    The SDK sends ``dependencies`` (``depends_on`` plus every resource an input's value came
    from) and ``propertyDependencies`` (the same per input) with each registration: exactly
    what the engine orders creation by.
    """

    root = ""  # the stack's URN: the parent of every top-level resource

    def RegisterResource(self, request: Any) -> Any:
        if request.type == "pulumi:pulumi:Stack":
            self.root = self.make_urn(request.parent, request.type, request.name)
        key = (request.type, request.name)
        if getattr(request, "protect", False):
            self.mocks.protected.add(key)
        self.mocks.registrations[key] = Registration(
            urn=self.make_urn(request.parent, request.type, request.name),
            dependencies=frozenset(request.dependencies),
            property_dependencies={
                prop: frozenset(deps.urns) for prop, deps in request.propertyDependencies.items()
            },
            ignore_changes=tuple(request.ignoreChanges),
            aliases=tuple(self.alias_urns(request)),
        )
        return super().RegisterResource(request)

    def alias_urns(self, request: Any) -> list[str]:
        """The URNs ``aliases`` say the resource had before (so Pulumi moves, not replaces it)."""
        urns = []
        for alias in request.aliases:
            if alias.urn:
                urns.append(alias.urn)
                continue
            spec = alias.spec
            parent = self.root if spec.noParent else (spec.parentUrn or request.parent)
            typ, name = spec.type or request.type, spec.name or request.name
            urns.append(self.make_urn(parent, typ, name))
        return urns


@cache
def taggable(typ: str) -> str | None:
    """ "tags"/"labels" if the SDK class for ``typ`` accepts that argument, else None."""
    cls = sdk_class(typ)
    if cls is None:
        return None
    params = inspect.signature(getattr(cls, "_internal_init", cls.__init__)).parameters
    wanted = ("labels",) if typ.startswith("gcp:") else ("tags",)
    return next((p for p in wanted if p in params), None)


def sdk_class(typ: str) -> type | None:
    """The Python class for a type token like ``aws:ec2/vpc:Vpc`` (already imported)."""
    try:
        package, module, cls = typ.split(":")
    except ValueError:
        return None
    module = module.split("/")[0]
    name = "pulumi_" + package.replace("-", "_")
    if module != "index":
        name += "." + module
    try:
        return getattr(importlib.import_module(name), cls)
    except (ImportError, AttributeError):
        return None
