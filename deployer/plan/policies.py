"""Policy rules over a recorded plan: plain functions, one per rule, each yielding Violations.

Rules fail closed: a security flag must be set explicitly to the safe value, and a value the rule
needs that is missing, unknown until apply or unreadable (a CIDR known after apply, an unknown
engine, a port range nobody can parse) is a violation, so a provider default or a computed value
can never silently pass. The same functions run in ``deployer plan`` (over the mock engine's
recording) and in the CrossGuard pack under ``policy/`` (over the engine's resources).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from deployer.plan.coverage import coverage, flat
from deployer.plan.engine import Resource
from deployer.plan.values import UNKNOWN
from stacks.settings import Settings

ADMIN_PORTS = {22: "SSH", 3389: "RDP"}
DATABASE_PORTS = {5432: "PostgreSQL", 3306: "MySQL", 6379: "Redis", 27017: "MongoDB"}
WEB_PORTS = {80: "HTTP", 443: "HTTPS"}
ALL_PORTS = range(1, 65536)


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


def _violation(rule: str, r: Resource, message: str) -> Violation:
    return Violation(rule, f"{r.type} {r.name}", message)


def _key(r: Resource) -> str:
    return r.urn or f"{r.type}::{r.name}"


def _by_key(resources: list[Resource]) -> dict[str, Resource]:
    return {_key(r): r for r in resources}


def _closure(r: Resource, index: dict[str, Resource]) -> set[str]:
    """Keys of every resource ``r`` waits for, directly or through others."""
    seen: set[str] = set()
    todo = list(r.dependencies)
    while todo:
        urn = todo.pop()
        if urn not in seen:
            seen.add(urn)
            todo.extend(index[urn].dependencies if urn in index else ())
    return seen


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


# --- reading firewalls: which ports are open to which sources ------------------------------------


def _ports(spec: Any) -> range:
    """A port range from "22", "1-65535", "all" or a number; every port when unreadable."""
    text = str(spec).strip().lower()
    if text in ("", "none"):
        return range(0)
    low, _, high = text.partition("-")
    try:
        return range(int(float(low)), int(float(high or low)) + 1)
    except ValueError:
        return ALL_PORTS  # "all", "*", an unknown value: fail closed


def _span(protocol: Any, low: Any, high: Any) -> range:
    """Ports of an AWS-style rule (protocol -1 or an unknown protocol means every port)."""
    proto = str(protocol).lower()
    if proto in ("icmp", "1", "icmpv6", "58"):
        return range(0)
    if proto not in ("tcp", "6", "udp", "17"):
        return ALL_PORTS
    first, last = _number(low), _number(high)
    if first is None or last is None:
        return ALL_PORTS
    return range(int(first), int(last) + 1)


@dataclass(frozen=True)
class Ingress:
    """Ports a firewall-like resource opens to some sources, on behalf of a target."""

    resource: Resource
    target: str  # key of the firewall/security group the rule belongs to
    ports: range | list[int]
    sources: list[Any]


_AWS_GROUP = "aws:ec2/securityGroup:SecurityGroup"
_AWS_DEFAULT_GROUP = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
_AWS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
_AWS_OLD_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
_DO_FIREWALL = "digitalocean:index/firewall:Firewall"
_GCP_FIREWALL = "gcp:compute/firewall:Firewall"
_AZ_RULE = "azure-native:network:SecurityRule"
_AZ_GROUP = "azure-native:network:NetworkSecurityGroup"
_DO_DB_FIREWALL = "digitalocean:index/databaseFirewall:DatabaseFirewall"
_READ = {
    _AWS_GROUP,
    _AWS_DEFAULT_GROUP,
    _AWS_RULE,
    _AWS_OLD_RULE,
    _DO_FIREWALL,
    _GCP_FIREWALL,
    _AZ_RULE,
    _AZ_GROUP,
    _DO_DB_FIREWALL,
}
_NOT_INGRESS = {
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
    "aws:vpc/securityGroupVpcAssociation:SecurityGroupVpcAssociation",
    "aws:ec2/networkInterfaceSecurityGroupAttachment:NetworkInterfaceSecurityGroupAttachment",
}
_FIREWALL_LIKE = re.compile(r"firewall|ingress|securityrule|securitygroup", re.IGNORECASE)


def _parent(r: Resource, prop: str) -> str:
    """The key of the group a standalone rule belongs to: its recorded source, else the value."""
    deps = r.property_dependencies.get(prop)
    if deps:
        return sorted(deps)[0]
    return f"{prop}={r.inputs.get(prop)}"


def _ingress(r: Resource) -> Iterator[Ingress]:
    """Each ingress rule of a firewall-like resource; unknown fields read as "everything"."""
    i = r.inputs
    if r.type in (_AWS_GROUP, _AWS_DEFAULT_GROUP):
        for rule in flat(i.get("ingress")):
            if not isinstance(rule, dict):
                yield Ingress(r, _key(r), ALL_PORTS, [rule])
                continue
            span = _span(rule.get("protocol"), rule.get("fromPort"), rule.get("toPort"))
            sources = [*flat(rule.get("cidrBlocks")), *flat(rule.get("ipv6CidrBlocks"))]
            sources += flat(rule.get("prefixListIds"))  # contents unknown here: fail closed
            yield Ingress(r, _key(r), span, sources)
    elif r.type == _AWS_RULE:
        span = _span(i.get("ipProtocol"), i.get("fromPort"), i.get("toPort"))
        sources = flat(i.get("cidrIpv4")) + flat(i.get("cidrIpv6")) + flat(i.get("prefixListId"))
        yield Ingress(r, _parent(r, "securityGroupId"), span, sources)
    elif r.type == _AWS_OLD_RULE and i.get("type") != "egress":
        span = _span(i.get("protocol"), i.get("fromPort"), i.get("toPort"))
        sources = [*flat(i.get("cidrBlocks")), *flat(i.get("ipv6CidrBlocks"))]
        sources += flat(i.get("prefixListIds"))
        yield Ingress(r, _parent(r, "securityGroupId"), span, sources)
    elif r.type == _DO_FIREWALL:
        for rule in flat(i.get("inboundRules")):
            if not isinstance(rule, dict):
                yield Ingress(r, _key(r), ALL_PORTS, [rule])
            elif rule.get("protocol") != "icmp":
                span = _ports(rule.get("portRange", "all"))
                yield Ingress(r, _key(r), span, flat(rule.get("sourceAddresses")))
    elif (
        r.type == _GCP_FIREWALL and i.get("direction") != "EGRESS" and i.get("disabled") is not True
    ):
        sources = flat(i.get("sourceRanges"))
        if not sources and not i.get("sourceTags") and not i.get("sourceServiceAccounts"):
            sources = ["0.0.0.0/0"]  # GCP's documented default for an ingress rule
        for allow in flat(i.get("allows")):
            specs = flat(allow.get("ports")) if isinstance(allow, dict) else [UNKNOWN]
            if isinstance(allow, dict) and allow.get("protocol") == "icmp":
                continue
            span = [p for spec in specs or ["all"] for p in _ports(spec)]
            yield Ingress(r, _key(r), span, sources)
    elif r.type in (_AZ_RULE, _AZ_GROUP):
        rules = flat(i.get("securityRules")) if r.type == _AZ_GROUP else [i]
        target = _key(r) if r.type == _AZ_GROUP else _parent(r, "networkSecurityGroupName")
        for rule in rules:
            if not isinstance(rule, dict):
                yield Ingress(r, target, ALL_PORTS, [rule])
                continue
            if rule.get("direction") == "Outbound" or rule.get("access") == "Deny":
                continue
            specs = [
                *flat(rule.get("destinationPortRange")),
                *flat(rule.get("destinationPortRanges")),
            ]
            span = [p for spec in specs or [UNKNOWN] for p in _ports(spec)]
            sources = [
                *flat(rule.get("sourceAddressPrefix")),
                *flat(rule.get("sourceAddressPrefixes")),
            ]
            yield Ingress(r, target, span, sources)


def _exposed(
    resources: list[Resource], rule: str, known: dict[int, str], skip: set[str] = frozenset()
) -> Iterator[Violation]:
    """Targets whose rules, together, admit the world (or unknown sources) to a ``known`` port."""
    by_target: dict[str, list[Ingress]] = {}
    for r in resources:
        for entry in _ingress(r):
            if entry.target not in skip:
                by_target.setdefault(entry.target, []).append(entry)
    for entries in by_target.values():
        for port, label in known.items():
            admitting = [e for e in entries if port in e.ports]
            found = coverage(src for e in admitting for src in e.sources)
            if found:
                yield _violation(rule, admitting[0].resource, f"{label} open to {found.describe()}")


def _unreadable(resources: list[Resource], rule: str) -> Iterator[Violation]:
    """Firewall-like resource types no rule knows how to read: fail closed."""
    for r in resources:
        if r.type not in _READ and r.type not in _NOT_INGRESS and _FIREWALL_LIKE.search(r.type):
            yield _violation(rule, r, "no policy reads this firewall type's rules (fails closed)")


# --- no-world-ssh-rdp -------------------------------------------------------------------------


def no_world_ssh_rdp(resources: list[Resource], s: Settings) -> Iterator[Violation]:
    """SSH (22) and RDP (3389) are never open to more than a /8 of the internet, nor to sources
    known only after apply."""
    yield from _exposed(resources, "no-world-ssh-rdp", ADMIN_PORTS)
    yield from _unreadable(resources, "no-world-ssh-rdp")


# --- web-through-lb ----------------------------------------------------------------------------

_LOAD_BALANCERS = {
    "aws:lb/loadBalancer:LoadBalancer",
    "aws:alb/loadBalancer:LoadBalancer",
    "digitalocean:index/loadBalancer:LoadBalancer",
}


def web_through_lb(resources: list[Resource], s: Settings) -> Iterator[Violation]:
    """With a load balancer in the stack, no host takes HTTP/HTTPS from the internet directly:
    only the load balancer's own security groups may admit the world on 80/443."""
    balancers = [r for r in resources if r.type in _LOAD_BALANCERS]
    if not balancers:
        return
    own = {urn for lb in balancers for urn in lb.property_dependencies.get("securityGroups", ())}
    yield from _exposed(resources, "web-through-lb", WEB_PORTS, skip=own)


# --- db-not-public ----------------------------------------------------------------------------


def db_not_public(resources: list[Resource], s: Settings) -> Iterator[Violation]:
    """Databases have no public endpoint and no firewall rule admitting the internet."""
    rule = "db-not-public"
    yield from _exposed(resources, rule, DATABASE_PORTS)
    clusters = [
        r for r in resources if r.type == "digitalocean:index/databaseCluster:DatabaseCluster"
    ]
    firewalls = [r for r in resources if r.type == _DO_DB_FIREWALL]
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
            networks = flat(ip.get("authorizedNetworks"))
            found = coverage(n.get("value") if isinstance(n, dict) else n for n in networks)
            if found:
                yield _violation(rule, r, f"authorizedNetworks admits {found.describe()}")
        elif r.type == "azure-native:dbforpostgresql:Server":
            if _get(i, "network", "publicNetworkAccess") != "Disabled":
                yield _violation(rule, r, "network.publicNetworkAccess must be Disabled")
        elif r.type == "azure-native:dbforpostgresql:FirewallRule":
            yield _violation(rule, r, "firewall rules open the server to public addresses")
        elif r.type == _DO_DB_FIREWALL:
            for entry in flat(i.get("rules")):
                kind = entry.get("type") if isinstance(entry, dict) else UNKNOWN
                if kind in ("droplet", "k8s", "tag", "app"):
                    continue
                if kind != "ip_addr":
                    yield _violation(rule, r, f"rule of type {kind} cannot be read (fails closed)")
                elif found := coverage(flat(entry.get("value"))):
                    yield _violation(rule, r, f"admits {found.describe()}")
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


def _volumes(r: Resource) -> Iterator[tuple[str, Any]]:
    """(label, block device) for every EBS volume an instance or launch template attaches."""
    if r.type == "aws:ec2/instance:Instance":
        for n, device in enumerate(flat(r.inputs.get("ebsBlockDevices"))):
            yield f"ebsBlockDevices[{n}]", device
    elif r.type == "aws:ec2/launchTemplate:LaunchTemplate":
        for n, mapping in enumerate(flat(r.inputs.get("blockDeviceMappings"))):
            ebs = mapping.get("ebs") if isinstance(mapping, dict) else UNKNOWN
            if ebs is not None:
                yield f"blockDeviceMappings[{n}].ebs", ebs


def encryption(resources: list[Resource], s: Settings) -> Iterator[Violation]:
    """Disks (every EBS volume), databases and storage are encrypted at rest; database
    connections need TLS."""
    yield from _required("encryption", _ENCRYPTION, resources)
    for r in resources:
        for label, device in _volumes(r):
            if _get(device, "encrypted") is not True:
                yield _violation("encryption", r, f"{label}.encrypted must be true")


# --- imdsv2 -----------------------------------------------------------------------------------

_METADATA = {"aws:ec2/instance:Instance", "aws:ec2/launchTemplate:LaunchTemplate"}


def imdsv2(resources: list[Resource], s: Settings) -> Iterator[Violation]:
    """EC2 hosts answer the metadata service only with session tokens (IMDSv2), one hop away,
    or have the endpoint switched off."""
    for r in resources:
        if r.type not in _METADATA:
            continue
        options = r.inputs.get("metadataOptions")
        if _get(options, "httpEndpoint") == "disabled":
            continue
        if _get(options, "httpTokens") != "required":
            yield _violation("imdsv2", r, "metadataOptions.httpTokens must be required (IMDSv2)")
        hops = _number(_get(options, "httpPutResponseHopLimit"))
        if hops is None or hops > 1:
            yield _violation("imdsv2", r, "metadataOptions.httpPutResponseHopLimit must be 1")


# --- backups ----------------------------------------------------------------------------------

MIN_BACKUP_DAYS = 7
_RETENTION = {
    "aws:rds/instance:Instance": ("backupRetentionPeriod",),
    "aws:rds/cluster:Cluster": ("backupRetentionPeriod",),
    "azure-native:dbforpostgresql:Server": ("backup", "backupRetentionDays"),
    "gcp:sql/databaseInstance:DatabaseInstance": (
        "settings",
        "backupConfiguration",
        "backupRetentionSettings",
        "retainedBackups",
    ),
}


def backups(resources: list[Resource], s: Settings) -> Iterator[Violation]:
    """Databases keep automated backups for at least 7 days (set explicitly; Cloud SQL keeps
    one backup a day, so 7 retained backups are 7 days)."""
    for r in resources:
        path = _RETENTION.get(r.type)
        if path is None:
            continue
        if r.type.startswith("gcp:"):
            config = _get(r.inputs, "settings", "backupConfiguration")
            if _get(config, "enabled") is not True:
                yield _violation("backups", r, "settings.backupConfiguration.enabled must be true")
            unit = _get(config, "backupRetentionSettings", "retentionUnit")
            if unit not in (None, "COUNT"):
                yield _violation("backups", r, f"retentionUnit {unit} cannot be read")
        days = _number(_get(r.inputs, *path))
        if days is None or days < MIN_BACKUP_DAYS:
            yield _violation("backups", r, f"{'.'.join(path)} must be >= {MIN_BACKUP_DAYS}")


# --- prod-ha ----------------------------------------------------------------------------------

# Zone redundancy needs a Premium v2 or v3 plan (learn.microsoft.com, App Service reliability).
_ZONE_REDUNDANT_SKU = re.compile(r"^P\d+m?v[23]$")


def zone_redundant_sku(sku: Any) -> bool:
    """Whether an App Service plan SKU can be zone redundant."""
    return bool(_ZONE_REDUNDANT_SKU.match(str(sku)))


def prod_ha(resources: list[Resource], s: Settings) -> Iterator[Violation]:
    """In prod nothing has a single point of failure: RDS Multi-AZ, regional Cloud SQL, a
    DigitalOcean cluster with a standby node, App Service on 2+ instances or zone redundant."""
    if not s.prod:
        return
    rule = "prod-ha"
    for r in resources:
        i = r.inputs
        if r.type == "aws:rds/instance:Instance" and i.get("multiAz") is not True:
            yield _violation(rule, r, "multiAz must be true in prod")
        elif r.type == "gcp:sql/databaseInstance:DatabaseInstance":
            if _get(i, "settings", "availabilityType") != "REGIONAL":
                yield _violation(rule, r, "settings.availabilityType must be REGIONAL in prod")
        elif r.type == "digitalocean:index/databaseCluster:DatabaseCluster":
            nodes = _number(i.get("nodeCount"))
            if nodes is None or nodes < 2:
                yield _violation(rule, r, "nodeCount must be >= 2 (a standby node) in prod")
        elif r.type == "azure-native:web:AppServicePlan":
            sku = i.get("sku") or {}
            zoned = i.get("zoneRedundant") is True and zone_redundant_sku(sku.get("name"))
            instances = _number(sku.get("capacity"))
            if not zoned and (instances is None or instances < 2):
                yield _violation(
                    rule, r, "needs sku.capacity >= 2 or zoneRedundant (Premium v2/v3) in prod"
                )


# --- storage-private --------------------------------------------------------------------------

_STORAGE = {
    "azure-native:storage:StorageAccount": [
        (("allowBlobPublicAccess",), (False,), "allowBlobPublicAccess must be false")
    ],
    "azure-native:storage:BlobContainer": [
        (("publicAccess",), ("None",), "publicAccess must be None")
    ],
    "gcp:storage/bucket:Bucket": [
        (("publicAccessPrevention",), ("enforced",), "publicAccessPrevention must be enforced")
    ],
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": [
        ((flag,), (True,), f"{flag} must be true")
        for flag in (
            "blockPublicAcls",
            "blockPublicPolicy",
            "ignorePublicAcls",
            "restrictPublicBuckets",
        )
    ],
}


def storage_private(resources: list[Resource], s: Settings) -> Iterator[Violation]:
    """Object storage is never readable anonymously (no public blobs, buckets or containers)."""
    yield from _required("storage-private", _STORAGE, resources)


# --- cloud-run-domain-only --------------------------------------------------------------------


def cloud_run_domain_only(resources: list[Resource], s: Settings) -> Iterator[Violation]:
    """A Cloud Run service with a mapped domain does not also answer on its default run.app URL
    (which bypasses whatever the domain's front adds)."""
    if not any(r.type == "gcp:cloudrun/domainMapping:DomainMapping" for r in resources):
        return
    for r in resources:
        if (
            r.type == "gcp:cloudrunv2/service:Service"
            and r.inputs.get("defaultUriDisabled") is not True
        ):
            yield _violation(
                "cloud-run-domain-only", r, "defaultUriDisabled must be true with a mapped domain"
            )


# --- no-apex-cname ----------------------------------------------------------------------------


def _record(r: Resource, zone: str) -> tuple[str, str] | None:
    """(record type, name relative to the zone, "@" for the apex) of a DNS record resource."""
    i = r.inputs
    if r.type == "gcp:dns/recordSet:RecordSet":
        fqdn = str(i.get("name", "")).rstrip(".")
        return str(i.get("type")), "@" if fqdn == zone else fqdn.removesuffix("." + zone)
    if r.type == "azure-native:dns:RecordSet":
        return str(i.get("recordType")), str(i.get("relativeRecordSetName") or "@")
    if r.type == "digitalocean:index/dnsRecord:DnsRecord":
        return str(i.get("type")), str(i.get("name"))
    if r.type == "aws:route53/record:Record":
        fqdn = str(i.get("name", "")).rstrip(".")
        return str(i.get("type")), "@" if fqdn == zone else fqdn.removesuffix("." + zone)
    return None


def no_apex_cname(resources: list[Resource], s: Settings) -> Iterator[Violation]:
    """No CNAME at the zone apex (RFC 1034: a CNAME cannot sit beside the zone's SOA/NS; Cloud
    DNS, Azure DNS and Route 53 refuse it) and no record name with "@" inside it."""
    for r in resources:
        record = _record(r, s.dns_zone)
        if record is None:
            continue
        kind, relative = record
        if kind == "CNAME" and relative == "@":
            yield _violation("no-apex-cname", r, f"CNAME at the zone apex {s.dns_zone}")
        elif "@" in relative and relative != "@":
            yield _violation("no-apex-cname", r, f"record name {relative!r} is not a DNS name")


# --- ordering ---------------------------------------------------------------------------------


def _waits_for(
    r: Resource, typ: str, index: dict[str, Resource], resources: list[Resource]
) -> list[Resource]:
    before = _closure(r, index)
    return [other for other in resources if other.type == typ and _key(other) in before]


# The API a GCP resource module needs enabled (cloud.google.com/service-usage).
GCP_APIS = {
    "compute": "compute.googleapis.com",
    "servicenetworking": "servicenetworking.googleapis.com",
    "sql": "sqladmin.googleapis.com",
    "serviceaccount": "iam.googleapis.com",
    "secretmanager": "secretmanager.googleapis.com",
    "cloudrun": "run.googleapis.com",
    "cloudrunv2": "run.googleapis.com",
    "dns": "dns.googleapis.com",
    "storage": "storage.googleapis.com",
}


def _gcp_api(r: Resource, index: dict[str, Resource]) -> Iterator[str]:
    """Problems with a GCP resource's wait for the API it uses."""
    module = r.type.split(":")[1].split("/")[0]
    if module == "projects":
        return
    api = GCP_APIS.get(module)
    if api is None:
        yield f"no rule knows which API gcp module {module!r} needs (fails closed)"
        return
    enabled = [
        index[u].inputs.get("service")
        for u in _closure(r, index)
        if u in index and index[u].type == "gcp:projects/service:Service"
    ]
    if api not in enabled:
        yield f"must depend on the projects.Service enabling {api}"


def ordering(resources: list[Resource], s: Settings) -> Iterator[Violation]:
    """Resources wait for what the provider needs to exist first (recorded dependencies):
    an Elastic IP for the VPC's internet gateway, an Azure database for its private DNS zone's
    VNet link, app settings that point at a package for the role grant that lets the app read it,
    every GCP resource for the API it uses.
    """
    rule = "ordering"
    index = _by_key(resources)
    for r in resources:
        if r.type.startswith("gcp:"):
            for problem in _gcp_api(r, index):
                yield _violation(rule, r, problem)
        if r.type == "aws:ec2/eip:Eip":
            if not _waits_for(r, "aws:ec2/internetGateway:InternetGateway", index, resources):
                yield _violation(rule, r, "must depend on the VPC's internet gateway")
        elif r.type == "azure-native:dbforpostgresql:Server" and _get(
            r.inputs, "network", "privateDnsZoneArmResourceId"
        ):
            zones = r.property_dependencies.get("network", frozenset())
            links = _waits_for(r, "azure-native:privatedns:VirtualNetworkLink", index, resources)
            if not any(link.dependencies & zones for link in links):
                yield _violation(rule, r, "must depend on its private DNS zone's VNet link")
        elif r.type == "azure-native:web:WebAppApplicationSettings" and _get(
            r.revealed or r.inputs, "properties", "WEBSITE_RUN_FROM_PACKAGE"
        ):
            grants = [
                g
                for g in resources
                if g.type == "azure-native:authorization:RoleAssignment"
                and any(
                    index[u].type == "azure-native:storage:StorageAccount"
                    for u in g.property_dependencies.get("scope", ())
                    if u in index
                )
            ]
            before = _closure(r, index)
            if not grants or any(_key(g) not in before for g in grants):
                yield _violation(rule, r, "must depend on the role grant to read the package")


# --- valid-values -----------------------------------------------------------------------------

_CUSTOM_TIER = re.compile(r"^db-custom-(\d+)-(\d+)$")
_SHARED_TIERS = ("db-f1-micro", "db-g1-small")
_RAM = re.compile(r"-(\d+)gb$")
_AZURE_DB_TIERS = {
    "Standard_B": "Burstable",
    "Standard_D": "GeneralPurpose",
    "Standard_E": "MemoryOptimized",
}


def _documented(r: Resource) -> Iterator[str]:
    """Problems with values the providers document beyond the SDK enums."""
    i = r.inputs
    if r.type == "digitalocean:index/databaseCluster:DatabaseCluster":
        ram = _RAM.search(str(i.get("size")))
        nodes = _number(i.get("nodeCount")) or 1
        if nodes > 1 and (ram is None or int(ram.group(1)) < 2):
            yield f"standby nodes need a plan with 2 GB of RAM or more, not {i.get('size')}"
    elif r.type == "gcp:sql/databaseInstance:DatabaseInstance":
        tier = str(_get(i, "settings", "tier"))
        edition = _get(i, "settings", "edition")
        version = str(i.get("databaseVersion"))
        if edition is None and version.startswith("POSTGRES_") and _number(version[9:]) is not None:
            edition = "ENTERPRISE_PLUS" if float(version[9:]) >= 16 else "ENTERPRISE"
        custom = _CUSTOM_TIER.match(tier)
        if edition == "ENTERPRISE_PLUS" and not tier.startswith("db-perf-optimized-N-"):
            yield f"edition ENTERPRISE_PLUS takes only db-perf-optimized-N-* tiers, not {tier}"
        if (custom or tier in _SHARED_TIERS) and edition != "ENTERPRISE":
            yield f"tier {tier} needs settings.edition ENTERPRISE"
        if not (custom or tier in _SHARED_TIERS or tier.startswith("db-perf-optimized-N-")):
            yield f"settings.tier {tier} is not a Cloud SQL machine type this rule knows"
        elif custom:
            cpus, memory = int(custom.group(1)), int(custom.group(2))
            if (
                not (cpus == 1 or cpus % 2 == 0)
                or memory % 256
                or not 0.9 <= memory / 1024 / cpus <= 6.5
            ):
                yield f"tier {tier}: 1 or an even number of vCPUs, 0.9-6.5 GB a vCPU, 256 MB steps"
    elif r.type == "azure-native:dbforpostgresql:Server":
        name, tier = str(_get(i, "sku", "name")), _get(i, "sku", "tier")
        want = next((t for prefix, t in _AZURE_DB_TIERS.items() if name.startswith(prefix)), None)
        if want != tier:
            yield f"sku {name} belongs to tier {want or 'none this rule knows'}, not {tier}"
    elif r.type == "azure-native:web:AppServicePlan":
        sku = _get(i, "sku", "name")
        if i.get("zoneRedundant") is True and not zone_redundant_sku(sku):
            yield f"zoneRedundant needs a Premium v2/v3 plan, not {sku}"


def valid_values(resources: list[Resource], s: Settings) -> Iterator[Violation]:
    """Sizes, regions, engines and versions are values the provider SDK lists (its enums or
    documented choices) and combinations the provider documents as valid; unknown fails."""
    from deployer.plan import sdkvalues

    for r in resources:
        for path, source in sdkvalues.CHOICES.get(r.type, {}).items():
            value = _get(r.inputs, *path)
            if value is None and path != ("engine",) and path != ("size",):
                continue
            if str(value) not in sdkvalues.choices(source):
                yield _violation(
                    "valid-values",
                    r,
                    f"{'.'.join(path)}={value} is not in {sdkvalues.describe(source)}",
                )
        for problem in _documented(r):
            yield _violation("valid-values", r, problem)


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
    "web-through-lb": web_through_lb,
    "db-not-public": db_not_public,
    "encryption": encryption,
    "imdsv2": imdsv2,
    "backups": backups,
    "prod-deletion-protection": prod_deletion_protection,
    "prod-ha": prod_ha,
    "storage-private": storage_private,
    "https-only": https_only,
    "cloud-run-domain-only": cloud_run_domain_only,
    "no-apex-cname": no_apex_cname,
    "ordering": ordering,
    "valid-values": valid_values,
    "tagged": tagged,
}


def check(resources: list[Resource], s: Settings) -> list[Violation]:
    """Run every rule; return all violations in rule order."""
    return [v for rule in RULES.values() for v in rule(resources, s)]
