"""Policy rules over a recorded plan: plain functions, one per rule, each yielding Violations.

Security flags must be set explicitly to the safe value: a missing or unknown value is a
violation, so a provider default can never silently pass.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from deployer.plan.engine import Resource
from stacks.settings import Settings

ADMIN_PORTS = {22: "SSH", 3389: "RDP"}
DATABASE_PORTS = {5432: "PostgreSQL", 3306: "MySQL", 6379: "Redis", 27017: "MongoDB"}


@dataclass(frozen=True)
class Violation:
    """One broken rule on one resource."""

    rule: str
    resource: str
    message: str


Rule = Callable[[list[Resource], Settings], Iterable[Violation]]


def _get(data: Any, *path: str) -> Any:
    for key in path:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def _is_world(cidr: Any) -> bool:
    if cidr in ("*", "Internet", "Any", "any"):
        return True
    try:
        return ipaddress.ip_network(str(cidr), strict=False).prefixlen == 0
    except ValueError:
        return False


def _ports(spec: Any) -> range:
    """A port range from "22", "1-65535", "all" or a number; empty for anything else."""
    text = str(spec).strip().lower()
    if text in ("all", "*", "", "none"):
        return range(1, 65536) if text in ("all", "*") else range(0)
    low, _, high = text.partition("-")
    try:
        return range(int(float(low)), int(float(high or low)) + 1)
    except ValueError:
        return range(0)


def _services(ports: range | list[int], known: dict[int, str]) -> list[str]:
    return [label for port, label in known.items() if port in ports]


def _world_open(resources: list[Resource], rule: str, known: dict[int, str]) -> Iterator[Violation]:
    """Ingress rules admitting the whole internet to any of the ``known`` ports."""
    for r in resources:
        for ports, sources in _ingress(r):
            services = _services(ports, known)
            world = [str(src) for src in sources if _is_world(src)]
            if services and world:
                yield _violation(rule, r, f"{'/'.join(services)} open to {', '.join(world)}")


def _violation(rule: str, r: Resource, message: str) -> Violation:
    return Violation(rule, f"{r.type} {r.name}", message)


# --- no-world-ssh-rdp -------------------------------------------------------------------------


def _span(protocol: Any, low: Any, high: Any) -> range:
    """Ports of an AWS-style rule (protocol -1 means every port)."""
    if str(protocol) in ("-1", "all"):
        return range(1, 65536)
    return range(int(low or 0), int(high if high is not None else -1) + 1)


def _ingress(r: Resource) -> Iterator[tuple[range | list[int], list]]:
    """(ports, source ranges) for each ingress rule of a firewall-like resource."""
    i = r.inputs
    if r.type == "aws:ec2/securityGroup:SecurityGroup":
        for rule in i.get("ingress") or []:
            span = _span(rule.get("protocol"), rule.get("fromPort"), rule.get("toPort"))
            sources = [*(rule.get("cidrBlocks") or []), *(rule.get("ipv6CidrBlocks") or [])]
            yield span, sources
    elif r.type == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
        span = _span(i.get("ipProtocol"), i.get("fromPort"), i.get("toPort"))
        yield span, [i.get("cidrIpv4"), i.get("cidrIpv6")]
    elif r.type == "aws:ec2/securityGroupRule:SecurityGroupRule" and i.get("type") == "ingress":
        span = _span(i.get("protocol"), i.get("fromPort"), i.get("toPort"))
        yield span, [*(i.get("cidrBlocks") or []), *(i.get("ipv6CidrBlocks") or [])]
    elif r.type == "digitalocean:index/firewall:Firewall":
        for rule in i.get("inboundRules") or []:
            if rule.get("protocol") in ("tcp", "udp"):
                span = _ports(rule.get("portRange", "all"))
                yield span, rule.get("sourceAddresses") or []
    elif r.type == "gcp:compute/firewall:Firewall" and i.get("direction", "INGRESS") == "INGRESS":
        for allow in i.get("allows") or []:
            span = [p for spec in allow.get("ports") or ["all"] for p in _ports(spec)]
            yield span, i.get("sourceRanges") or []
    elif r.type in (
        "azure-native:network:SecurityRule",
        "azure-native:network:NetworkSecurityGroup",
    ):
        for rule in i.get("securityRules") or [] if "securityRules" in i else [i]:
            if rule.get("direction") == "Inbound" and rule.get("access") == "Allow":
                specs = [
                    rule.get("destinationPortRange"),
                    *(rule.get("destinationPortRanges") or []),
                ]
                span = [p for spec in specs if spec for p in _ports(spec)]
                sources = [
                    rule.get("sourceAddressPrefix"),
                    *(rule.get("sourceAddressPrefixes") or []),
                ]
                yield span, sources


def no_world_ssh_rdp(resources: list[Resource], s: Settings) -> Iterator[Violation]:
    """SSH (22) and RDP (3389) must never be open to 0.0.0.0/0 or ::/0."""
    yield from _world_open(resources, "no-world-ssh-rdp", ADMIN_PORTS)


# --- db-not-public ----------------------------------------------------------------------------


def db_not_public(resources: list[Resource], s: Settings) -> Iterator[Violation]:
    """Databases have no public endpoint and no firewall rule admitting the internet."""
    rule = "db-not-public"
    yield from _world_open(resources, rule, DATABASE_PORTS)
    clusters = [
        r for r in resources if r.type == "digitalocean:index/databaseCluster:DatabaseCluster"
    ]
    firewalls = [
        r for r in resources if r.type == "digitalocean:index/databaseFirewall:DatabaseFirewall"
    ]
    for r in resources:
        i = r.inputs
        if r.type in ("aws:rds/instance:Instance", "aws:rds/clusterInstance:ClusterInstance"):
            if i.get("publiclyAccessible") is not False:
                yield _violation(rule, r, "publiclyAccessible must be false")
        elif r.type == "gcp:sql/databaseInstance:DatabaseInstance":
            ip = _get(i, "settings", "ipConfiguration") or {}
            if ip.get("ipv4Enabled") is not False:
                yield _violation(rule, r, "settings.ipConfiguration.ipv4Enabled must be false")
            if not ip.get("privateNetwork"):
                yield _violation(rule, r, "needs a private network (private IP)")
            for network in ip.get("authorizedNetworks") or []:
                if _is_world(network.get("value")):
                    yield _violation(rule, r, f"authorizedNetworks admits {network.get('value')}")
        elif r.type == "azure-native:dbforpostgresql:Server":
            if _get(i, "network", "publicNetworkAccess") != "Disabled":
                yield _violation(rule, r, "network.publicNetworkAccess must be Disabled")
        elif r.type == "azure-native:dbforpostgresql:FirewallRule":
            yield _violation(rule, r, "firewall rules open the server to public addresses")
        elif r.type == "digitalocean:index/databaseFirewall:DatabaseFirewall":
            for entry in i.get("rules") or []:
                if entry.get("type") == "ip_addr" and _is_world(entry.get("value")):
                    yield _violation(rule, r, f"admits {entry.get('value')}")
    if len(firewalls) < len(clusters):
        for r in clusters:
            yield _violation(rule, r, "a database cluster needs a DatabaseFirewall (droplet only)")


# --- encryption -------------------------------------------------------------------------------


def _required(
    rule: str,
    checks: dict[str, list[tuple[tuple[str, ...], tuple, str]]],
    resources: list[Resource],
) -> Iterator[Violation]:
    """Violations for every (path, accepted values, message) a resource of that type fails."""
    for r in resources:
        for path, accepted, message in checks.get(r.type, []):
            if _get(r.inputs, *path) not in accepted:
                yield _violation(rule, r, message)


_ENCRYPTION = {
    "aws:rds/instance:Instance": [
        (("storageEncrypted",), (True,), "storageEncrypted must be true")
    ],
    "aws:ec2/instance:Instance": [
        (("rootBlockDevice", "encrypted"), (True,), "rootBlockDevice.encrypted must be true")
    ],
    "aws:ebs/volume:Volume": [(("encrypted",), (True,), "encrypted must be true")],
    "gcp:sql/databaseInstance:DatabaseInstance": [
        (
            ("settings", "ipConfiguration", "sslMode"),
            ("ENCRYPTED_ONLY", "TRUSTED_CLIENT_CERTIFICATE_REQUIRED"),
            "settings.ipConfiguration.sslMode must require TLS",
        )
    ],
    "azure-native:storage:StorageAccount": [
        (
            ("encryption", "services", "blob", "enabled"),
            (True,),
            "encryption.services.blob.enabled must be true",
        )
    ],
    "azure-native:dbforpostgresql:Server": [
        (("dataEncryption", "type"), ("SystemAssigned", "AzureKeyVault"), "dataEncryption.type")
    ],
}


def encryption(resources: list[Resource], s: Settings) -> Iterator[Violation]:
    """Disks, databases and storage are encrypted at rest; database connections need TLS."""
    yield from _required("encryption", _ENCRYPTION, resources)


# --- prod-deletion-protection -----------------------------------------------------------------

_DELETION_FLAGS: dict[str, tuple[tuple[str, ...], ...]] = {
    "aws:rds/instance:Instance": (("deletionProtection",),),
    "aws:ec2/instance:Instance": (("disableApiTermination",),),
    "gcp:sql/databaseInstance:DatabaseInstance": (
        ("deletionProtection",),
        ("settings", "deletionProtectionEnabled"),
    ),
    "gcp:cloudrunv2/service:Service": (("deletionProtection",),),
    "digitalocean:index/databaseCluster:DatabaseCluster": (),
    "azure-native:dbforpostgresql:Server": (),
}


def prod_deletion_protection(resources: list[Resource], s: Settings) -> Iterator[Violation]:
    """In prod, stateful resources cannot be deleted by accident (provider flag or protect)."""
    if not s.prod:
        return
    rule = "prod-deletion-protection"
    for r in resources:
        if r.type not in _DELETION_FLAGS:
            continue
        flags = _DELETION_FLAGS[r.type]
        missing = [".".join(path) for path in flags if _get(r.inputs, *path) is not True]
        if missing:
            yield _violation(rule, r, f"{', '.join(missing)} must be true in prod")
        elif not flags and not r.protect:
            yield _violation(rule, r, "needs the `protect` resource option in prod")
    if s.cloud == "azure":
        locks = [
            r
            for r in resources
            if r.type == "azure-native:authorization:ManagementLockAtResourceGroupLevel"
            and r.inputs.get("level") == "CanNotDelete"
        ]
        if not locks:
            yield Violation(rule, "azure resource group", "needs a CanNotDelete management lock")


# --- https-only -------------------------------------------------------------------------------


_HTTPS = {
    "azure-native:web:WebApp": [
        (("httpsOnly",), (True,), "httpsOnly must be true"),
        (("siteConfig", "minTlsVersion"), ("1.2", "1.3"), "siteConfig.minTlsVersion >= 1.2"),
        (("siteConfig", "ftpsState"), ("Disabled",), "siteConfig.ftpsState must be Disabled"),
    ],
    "azure-native:storage:StorageAccount": [
        (("enableHttpsTrafficOnly",), (True,), "enableHttpsTrafficOnly must be true"),
        (("minimumTlsVersion",), ("TLS1_2",), "minimumTlsVersion must be TLS1_2"),
    ],
    "gcp:compute/targetHttpProxy:TargetHttpProxy": [
        (("never",), ("set",), "plain-HTTP proxies are not allowed; redirect at the edge")
    ],
}


def https_only(resources: list[Resource], s: Settings) -> Iterator[Violation]:
    """Platform services serve HTTPS only, TLS 1.2 or newer, no plain FTP."""
    yield from _required("https-only", _HTTPS, resources)


# --- tagged -----------------------------------------------------------------------------------

_NOT_LABELS = {"digitalocean:index/firewall:Firewall"}  # its `tags` select droplets


def _labels(r: Resource) -> Any:
    if r.type == "gcp:sql/databaseInstance:DatabaseInstance":
        return _get(r.inputs, "settings", "userLabels")
    if r.taggable is None or r.type in _NOT_LABELS:
        return None
    return r.inputs.get(r.taggable)


def tagged(resources: list[Resource], s: Settings) -> Iterator[Violation]:
    """Every taggable resource carries project=<app> and stage=<stage>."""
    want = {"project": s.app, "stage": s.stage}
    for r in resources:
        if r.taggable is None and r.type != "gcp:sql/databaseInstance:DatabaseInstance":
            continue
        if r.type in _NOT_LABELS:
            continue
        labels = _labels(r)
        if isinstance(labels, list):  # DigitalOcean "key:value" tags
            labels = dict(item.split(":", 1) for item in labels if ":" in str(item))
        if not isinstance(labels, dict):
            labels = {}
        wrong = [f"{k}={v}" for k, v in want.items() if labels.get(k) != v]
        if wrong:
            yield _violation("tagged", r, f"missing tag/label {', '.join(wrong)}")


RULES: dict[str, Rule] = {
    "no-world-ssh-rdp": no_world_ssh_rdp,
    "db-not-public": db_not_public,
    "encryption": encryption,
    "prod-deletion-protection": prod_deletion_protection,
    "https-only": https_only,
    "tagged": tagged,
}


def check(resources: list[Resource], s: Settings) -> list[Violation]:
    """Run every rule; return all violations in rule order."""
    return [v for rule in RULES.values() for v in rule(resources, s)]
