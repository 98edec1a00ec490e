"""The mocks: record each registered resource (with its ``protect`` option) and fake the cloud."""

from __future__ import annotations

import importlib
import inspect
from functools import cache
from typing import Any

import pulumi
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs

from deployer.plan import fakes
from deployer.plan.engine import Resource
from deployer.plan.values import clean


class Recorder(pulumi.runtime.Mocks):
    """Answer resource registrations and invokes; keep the list of resources."""

    def __init__(self, preview: bool) -> None:
        self.preview = preview
        self.resources: list[Resource] = []
        self.protected: set[tuple[str, str]] = set()
        self.options: dict[tuple[str, str], dict[str, tuple[str, ...]]] = {}

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict]:
        self.resources.append(
            Resource(
                type=args.typ,
                name=args.name,
                inputs=clean(args.inputs),
                protect=(args.typ, args.name) in self.protected,
                **self.options.get((args.typ, args.name), {}),
                taggable=taggable(args.typ),
                revealed=clean(args.inputs, reveal=True),
            )
        )
        if self.preview:  # like `pulumi preview`: ids and computed outputs are unknown
            return "", dict(args.inputs)
        outputs = dict(args.inputs) | fakes.computed(args.typ, args.name, args.inputs)
        return fakes.resource_id(args.typ, args.name), outputs

    def call(self, args: MockCallArgs) -> tuple[dict, list]:
        return dict(fakes.INVOKES.get(args.token, {})), []


class RecordingMonitor(MockMonitor):
    """A mock monitor that also notes each resource's ``protect``, dependencies, ignore_changes."""

    def RegisterResource(self, request: Any) -> Any:
        key = (request.type, request.name)
        if getattr(request, "protect", False):
            self.mocks.protected.add(key)
        names = {urn.rsplit("::", 1)[-1] for urn in request.dependencies}
        self.mocks.options[key] = {
            "dependencies": tuple(sorted(names)),
            "ignore_changes": tuple(request.ignoreChanges),
        }
        return super().RegisterResource(request)


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
