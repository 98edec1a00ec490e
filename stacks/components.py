"""Component resources: the architecture's parts (a server, a database, a load balancer) as one
node each in `pulumi preview`/`up`, with their cloud resources as children.

Children carry ``aliases=[Alias(parent=ROOT_STACK_RESOURCE)]``: stacks created before the
components existed had them at the top level, and the alias makes Pulumi move each one under
its component instead of replacing it (same type, same name).
"""

from __future__ import annotations

from typing import Any

import pulumi


class Component(pulumi.ComponentResource):
    """A named part of the stack; ``child(...)`` is the options of a resource inside it."""

    def __init__(self, kind: str, name: str) -> None:
        super().__init__(f"deployer:{kind}", name)

    def child(self, **options: Any) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(
            parent=self, aliases=[pulumi.Alias(parent=pulumi.ROOT_STACK_RESOURCE)], **options
        )

    def done(self, outputs: dict[str, Any]) -> None:
        """Register the outputs that describe the part (shown by Pulumi)."""
        self.register_outputs(outputs)
