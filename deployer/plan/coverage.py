"""How much of the internet a set of traffic sources admits.

Any set of sources that together cover more than a /8 of an address family counts as the whole
world: ``0.0.0.0/1`` + ``128.0.0.0/1`` is ``0.0.0.0/0`` in two pieces, and three ``/9``s are more
than a ``/8``. Overlap is counted once. A source that cannot be read (a CIDR known only after
apply, a list of addresses that is itself unknown, a tag no rule knows) fails closed: it is
reported as unknown and the rule that asked treats it as a violation.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from deployer.plan.values import UNKNOWN

WORLD_TAGS = frozenset({"*", "any", "internet"})  # Azure service tags / wildcards for "anywhere"
PRIVATE_TAGS = frozenset({"virtualnetwork", "azureloadbalancer"})  # Azure: not the internet
WORLD_SHARE = 8  # more than a /8 of the family's address space is "the world"


@dataclass
class Coverage:
    """The verdict on one set of sources."""

    world: list[str] = field(default_factory=list)  # the sources that add up to the world
    unknown: list[str] = field(default_factory=list)  # sources that could not be read

    def __bool__(self) -> bool:
        return bool(self.world or self.unknown)

    def describe(self) -> str:
        """ "0.0.0.0/1, 128.0.0.0/1" or "(known after apply) (unknown, fails closed)"."""
        parts = []
        if self.world:
            parts.append(", ".join(self.world))
        if self.unknown:
            parts.append(f"{', '.join(self.unknown)} (unknown, fails closed)")
        return "; ".join(parts)


def flat(sources: Any) -> list[Any]:
    """A list of sources from a list, a single value or an unknown list; None entries dropped."""
    if sources is None:
        return []
    items = sources if isinstance(sources, list | tuple) else [sources]
    return [item for item in items if item is not None and item != ""]


def coverage(sources: Iterable[Any]) -> Coverage:
    """Which of ``sources`` make up more than a /8 of IPv4 or IPv6, and which are unreadable."""
    result = Coverage()
    networks: dict[int, list] = {4: [], 6: []}
    shown: dict[int, list[str]] = {4: [], 6: []}
    for source in sources:
        text = str(source).strip()
        if text.lower() in WORLD_TAGS:
            result.world.append(text)
            continue
        if text.lower() in PRIVATE_TAGS:
            continue
        try:
            network = ipaddress.ip_network(text, strict=False)
        except ValueError:
            result.unknown.append(UNKNOWN if text == UNKNOWN else text)
            continue
        networks[network.version].append(network)
        shown[network.version].append(text)
    for version, nets in networks.items():
        if not nets:
            continue
        bits = 32 if version == 4 else 128
        covered = sum(n.num_addresses for n in ipaddress.collapse_addresses(nets))
        if covered > 2 ** (bits - WORLD_SHARE):
            result.world.extend(shown[version])
    return result
