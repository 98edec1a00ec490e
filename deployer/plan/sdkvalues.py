"""The values the provider SDKs themselves list for an input: enums and documented choices.

A typo'd size or an engine version the provider does not offer passes the mock engine but fails
``pulumi up``; these tables let the ``valid-values`` rule catch it offline. Values come from the
installed SDKs: their ``Enum`` classes, or the backticked list in an argument's docstring where
the SDK documents the choices without an enum.
"""

from __future__ import annotations

import importlib
import re
from functools import cache

# (type token, input path) -> (module, Enum class) or (module, Args class, parameter) for a
# docstring list.
Source = tuple[str, str] | tuple[str, str, str]

CHOICES: dict[str, dict[tuple[str, ...], Source]] = {
    "digitalocean:index/databaseCluster:DatabaseCluster": {
        ("size",): ("pulumi_digitalocean", "DatabaseSlug"),
        ("region",): ("pulumi_digitalocean", "Region"),
        ("engine",): ("pulumi_digitalocean", "DatabaseClusterArgs", "engine"),
    },
    "digitalocean:index/droplet:Droplet": {
        ("size",): ("pulumi_digitalocean", "DropletSlug"),
        ("region",): ("pulumi_digitalocean", "Region"),
    },
    "digitalocean:index/vpc:Vpc": {("region",): ("pulumi_digitalocean", "Region")},
    "digitalocean:index/reservedIp:ReservedIp": {("region",): ("pulumi_digitalocean", "Region")},
    "aws:rds/instance:Instance": {
        ("instanceClass",): ("pulumi_aws.rds", "InstanceType"),
        ("engine",): ("pulumi_aws.rds", "EngineType"),
        ("storageType",): ("pulumi_aws.rds", "StorageType"),
    },
    "aws:ec2/instance:Instance": {("instanceType",): ("pulumi_aws.ec2", "InstanceType")},
    "gcp:sql/databaseInstance:DatabaseInstance": {
        ("databaseVersion",): ("pulumi_gcp.sql", "DatabaseInstanceArgs", "database_version"),
    },
    "azure-native:dbforpostgresql:Server": {
        ("version",): ("pulumi_azure_native.dbforpostgresql", "PostgresMajorVersion"),
        ("sku", "tier"): ("pulumi_azure_native.dbforpostgresql", "SkuTier"),
        ("highAvailability", "mode"): (
            "pulumi_azure_native.dbforpostgresql",
            "PostgreSqlFlexibleServerHighAvailabilityMode",
        ),
    },
}

_BACKTICKED = re.compile(r"`([A-Za-z0-9_.-]+)`")


@cache
def choices(source: Source) -> frozenset[str]:
    """The accepted values of one SDK enum or documented list."""
    module = importlib.import_module(source[0])
    if len(source) == 2:
        return frozenset(member.value for member in getattr(module, source[1]))
    doc = getattr(module, source[1]).__init__.__doc__ or ""
    _, _, rest = doc.partition(f" {source[2]}:")
    paragraph = rest.split(":param", 1)[0]
    return frozenset(_BACKTICKED.findall(paragraph))


def describe(source: Source) -> str:
    """Where a list of choices comes from, for messages."""
    return ".".join(source[:2]) + (f"({source[2]})" if len(source) == 3 else "")
