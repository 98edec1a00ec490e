"""Stack configuration: read once, validated once, immutable afterwards.

Validation is pure (a mapping of raw strings in, ``Settings`` out) so that ``deployer plan`` can
report a missing or invalid key before the mock engine starts, with the command that fixes it.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from deployer.names import APP_NAME, DOMAIN, IMAGE_BY_DIGEST, PACKAGE_PATH, SHA256

NAMESPACE = "deployer"
CLOUDS = ("aws", "gcp", "azure", "digitalocean")
VM_CLOUDS = ("aws", "digitalocean")
CNAME_CLOUDS = ("gcp", "azure")  # custom domains point at the platform with a CNAME
PROD_STAGES = ("prod", "production")
DO_STANDBY_MIN_GB = 2  # DigitalOcean: standby nodes need plans with 2 GB of RAM or more

_STAGE = re.compile(r"^[a-z][a-z0-9-]{0,15}$")
_LOGIN_KEY = re.compile(r"^(ssh-ed25519|ecdsa-sha2-nistp\d+|ssh-rsa) [A-Za-z0-9+/=]+( .*)?$")
_SIZE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_REGION = re.compile(r"^[a-z0-9-]{2,40}$")
_MIGRATIONS = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_./-]{0,200}\.ini$")
DEFAULT_MIGRATIONS = "app/alembic.ini"
_PATH = re.compile(r"^/(?!(?:.*/)?\.\.(?:/|$))[A-Za-z0-9._~/-]{0,200}$")  # no ".." segment
MAX_HOSTS = 20
_AMI = re.compile(r"^ami-(?:[0-9a-f]{8}|[0-9a-f]{17})$")

# key -> (example value, is a list, is secret); used for error hints and the list of known keys.
KEYS: dict[str, tuple[str, bool, bool]] = {
    "cloud": ("aws", False, False),
    "stage": ("dev", False, False),
    "app": ("app", False, False),
    "domain": ("api.example.com", False, False),
    "dnsZone": ("example.com", False, False),
    "region": ("fra1", False, False),
    "sshCidrs": ("203.0.113.7/32", True, False),
    "sshPublicKey": ('"ssh-ed25519 AAAA... you@laptop"', False, False),
    "size": ("t3.small", False, False),
    "dbSize": ("db.t4g.micro", False, False),
    "image": ("europe-docker.pkg.dev/PROJECT/app/app@sha256:<digest>", False, False),
    "ami": ("ami-0123456789abcdef0", False, False),
    "migrations": ("app/alembic.ini", False, False),
    "hosts": ("3", False, False),
    "readinessPath": ("/ready", False, False),
    "instances": ("2", False, False),
    "minInstances": ("0", False, False),
    "maxInstances": ("3", False, False),
    "appPackage": ("dist/appservice-<sha16>.zip", False, False),
    "packageSha256": ("<sha256 of the zip>", False, False),
    "dnsResourceGroup": ("dns", False, False),
    "dnsManagedZone": ("example-com", False, False),
    "dbPassword": ("<password>", False, True),
    "secretKey": ("<random string>", False, True),
}


Raw = Mapping[str, str | None]


class ConfigError(ValueError):
    """A missing or invalid stack setting, with the command that sets it."""

    def __init__(self, key: str, problem: str) -> None:
        self.key = f"{NAMESPACE}:{key}" if ":" not in key else key
        self.problem = problem
        self.command = set_command(key)
        super().__init__(f"{self.key}: {problem}. Set it with: {self.command}")


def set_command(key: str) -> str:
    """The `pulumi config set` command line that sets ``key`` (secrets with --secret)."""
    full = f"{NAMESPACE}:{key}" if ":" not in key else key
    example, is_list, secret = KEYS.get(key, ("<value>", False, False))
    if is_list:
        return f"pulumi config set --path '{full}[0]' {example}"
    flag = "--secret " if secret else ""
    return f"pulumi config set {flag}{full} {example}"


@dataclass(frozen=True)
class Settings:
    """Validated settings of one stack."""

    cloud: str
    stage: str
    domain: str
    app: str = "app"
    dns_zone: str = ""
    region: str = ""
    ssh_cidrs: tuple[str, ...] = ()
    ssh_public_key: str = ""
    size: str = ""
    db_size: str = ""
    image: str = ""
    ami: str = ""  # AWS: the pinned AMI; "" = the newest Ubuntu LTS when the server is created
    min_instances: int = 0
    max_instances: int = 3
    app_package: str = ""
    migrations: str = ""  # the alembic.ini (relative to the image/package root); "" = none
    hosts: int = 1  # VM stacks: servers; more than one stand behind the cloud's load balancer
    readiness_path: str = "/ready"  # what the load balancer's health check asks
    instances: int = 1  # App Service: the plan's instance count
    dns_resource_group: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def prod(self) -> bool:
        """Production stages get deletion protection and longer backups."""
        return self.stage in PROD_STAGES

    @property
    def subdomain(self) -> str:
        """The record name of ``domain`` relative to ``dns_zone`` ("@" for the apex)."""
        if self.domain == self.dns_zone:
            return "@"
        return self.domain[: -len(self.dns_zone) - 1]


def load(raw: Raw, provider: Raw | None = None) -> Settings:
    """Validate raw ``deployer:*`` values (strings, lists as JSON); raise ConfigError."""
    cloud = _choice(raw, "cloud", CLOUDS)
    stage = _match(raw, "stage", _STAGE, "a lowercase name like dev, staging or prod")
    domain = _match(raw, "domain", DOMAIN, "a lowercase DNS name like api.example.com")
    app = _match(raw, "app", APP_NAME, "^[a-z][a-z0-9-]{0,30}$", default="app")
    zone = _match(raw, "dnsZone", DOMAIN, "a DNS zone", default=domain.split(".", 1)[1])
    if domain != zone and not domain.endswith("." + zone):
        raise ConfigError("dnsZone", f"{zone!r} does not contain the domain {domain!r}")
    if domain == zone and cloud in CNAME_CLOUDS:
        raise ConfigError(
            "domain",
            f"{domain!r} is the zone apex: {cloud} maps a custom domain with a CNAME, which DNS "
            f"forbids at the apex; use a subdomain such as api.{zone}",
        )
    values: dict = {"cloud": cloud, "stage": stage, "domain": domain, "app": app, "dns_zone": zone}
    values.update(_CLOUD_LOADERS[cloud](raw, provider or {}, zone))
    return Settings(**values)


def _vm(raw: Raw, size: str, region: str) -> dict:
    hosts = _int(raw, "hosts", 1)
    if not 1 <= hosts <= MAX_HOSTS:
        raise ConfigError("hosts", f"{hosts} is not a number of servers from 1 to {MAX_HOSTS}")
    return {
        "hosts": hosts,
        "readiness_path": _match(
            raw, "readinessPath", _PATH, "an absolute URL path like /ready", default="/ready"
        ),
        "ssh_cidrs": _cidrs(raw),
        "ssh_public_key": _match(raw, "sshPublicKey", _LOGIN_KEY, "one OpenSSH public key line"),
        "size": _size(raw, "size", size),
        "region": _match(raw, "region", _REGION, "a region name", default=region),
    }


def _aws(raw: Raw, provider: Raw, zone: str) -> dict:
    if not provider.get("aws:region"):
        raise ConfigError("aws:region", "missing (the AWS region, e.g. eu-central-1)")
    values = _vm(raw, "t3.small", str(provider["aws:region"]))
    ami = _get(raw, "ami")
    if ami is not None and not _AMI.match(ami):
        raise ConfigError("ami", f"{ami!r} is not an AMI id (ami-<8 or 17 hex digits>)")
    return values | {"db_size": _size(raw, "dbSize", "db.t4g.micro"), "ami": ami or ""}


def _digitalocean(raw: Raw, provider: Raw, zone: str) -> dict:
    values = _vm(raw, "s-1vcpu-1gb", "fra1")
    db_size = _size(raw, "dbSize", "db-s-1vcpu-1gb")
    memory = re.search(r"-(\d+)gb$", db_size)
    if _prod(raw) and memory and int(memory.group(1)) < DO_STANDBY_MIN_GB:
        raise ConfigError(
            "dbSize",
            f"{db_size!r} is too small for prod: a standby node needs a plan with at least "
            f"{DO_STANDBY_MIN_GB} GB of RAM (e.g. db-s-2vcpu-4gb)",
        )
    return values | {"db_size": db_size}


def _gcp(raw: Raw, provider: Raw, zone: str) -> dict:
    if not provider.get("gcp:project"):
        raise ConfigError("gcp:project", "missing (the Google Cloud project id)")
    low = _int(raw, "minInstances", 0)
    high = _int(raw, "maxInstances", 3)
    if high < max(low, 1):
        raise ConfigError("maxInstances", f"must be >= minInstances ({low}) and >= 1")
    return {
        "region": _match(raw, "region", _REGION, "a region name", default="europe-west1"),
        "image": _match(
            raw, "image", IMAGE_BY_DIGEST, "an image pinned by digest (...@sha256:<64 hex>)"
        ),
        "min_instances": low,
        "max_instances": high,
        "migrations": _migrations(raw),
        "db_size": _size(raw, "dbSize", "db-custom-1-3840"),
        "extra": {
            "project": str(provider["gcp:project"]),
            "managed_zone": _text(raw, "dnsManagedZone", zone.replace(".", "-")),
        },
    }


def _azure(raw: Raw, provider: Raw, zone: str) -> dict:
    package = _match(
        raw, "appPackage", PACKAGE_PATH, "a relative path to the .zip `deployer package` built"
    )
    sha = _get(raw, "packageSha256")
    if sha is not None and not SHA256.match(sha):
        raise ConfigError("packageSha256", f"{sha!r} is not a sha256 hex digest")
    instances = _int(raw, "instances", 2 if _prod(raw) else 1)
    if instances < 1:
        raise ConfigError("instances", "must be at least 1")
    return {
        "instances": instances,
        "region": _match(raw, "region", _REGION, "an Azure location", default="westeurope"),
        "size": _size(raw, "size", "B1"),
        "db_size": _size(raw, "dbSize", "Standard_B1ms"),
        "app_package": package,
        "migrations": _migrations(raw),
        "dns_resource_group": _text(raw, "dnsResourceGroup", "dns"),
        "extra": {"package_sha256": sha or ""},
    }


def _migrations(raw: Raw) -> str:
    """The alembic.ini the platform runs before traffic moves ("none" turns migrations off)."""
    value = _text(raw, "migrations", DEFAULT_MIGRATIONS)
    if value == "none":
        return ""
    if not _MIGRATIONS.match(value) or ".." in value.split("/"):
        raise ConfigError("migrations", f"{value!r} is not a relative path to an alembic .ini")
    return value


def _prod(raw: Raw) -> bool:
    return _get(raw, "stage") in PROD_STAGES


_CLOUD_LOADERS = {"aws": _aws, "gcp": _gcp, "azure": _azure, "digitalocean": _digitalocean}


def _get(raw: Mapping[str, str | None], key: str) -> str | None:
    value = raw.get(key)
    return None if value is None or str(value).strip() == "" else str(value).strip()


def _text(raw: Mapping[str, str | None], key: str, default: str | None = None) -> str:
    value = _get(raw, key)
    if value is None:
        if default is None:
            raise ConfigError(key, "missing")
        return default
    return value


def _match(raw, key: str, pattern: re.Pattern, what: str, default: str | None = None) -> str:
    value = _text(raw, key, default)
    if not pattern.match(value):
        raise ConfigError(key, f"{value!r} is not {what}")
    return value


def _size(raw: Raw, key: str, default: str) -> str:
    return _match(raw, key, _SIZE, "a machine/instance size name", default=default)


def _choice(raw: Mapping[str, str | None], key: str, choices: tuple[str, ...]) -> str:
    value = _text(raw, key)
    if value not in choices:
        raise ConfigError(key, f"{value!r} is not one of {', '.join(choices)}")
    return value


def _int(raw: Mapping[str, str | None], key: str, default: int) -> int:
    value = _text(raw, key, str(default))
    if not value.isdigit() or int(value) > 100:
        raise ConfigError(key, f"{value!r} is not a whole number from 0 to 100")
    return int(value)


def _cidrs(raw: Mapping[str, str | None]) -> tuple[str, ...]:
    value = _text(raw, "sshCidrs")
    try:
        items = json.loads(value)
    except json.JSONDecodeError:
        items = [value]
    if not isinstance(items, list) or not items or not all(isinstance(i, str) for i in items):
        raise ConfigError("sshCidrs", "must be a non-empty list of CIDRs")
    for item in items:
        try:
            ipaddress.ip_network(item, strict=True)
        except ValueError as exc:
            raise ConfigError("sshCidrs", f"{item!r} is not a CIDR ({exc})") from None
    return tuple(items)
