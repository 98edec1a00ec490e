"""The Target: where to deploy and what, validated once before any host is touched.

A Target is built from CLI arguments, a ``deployer.toml`` stage, a Pulumi stack's outputs (the
output contract) or a sandbox host's outputs. Every field that ends up in a shell command or a
file on the host is checked here against a strict pattern, so nothing user-supplied can smuggle
shell syntax, newlines or path traversal into a host. Instances are immutable.
"""

from __future__ import annotations

import base64
import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from deployer.layout import Layout
from deployer.names import LABEL, check_app, check_domain, check_job, check_role
from deployer.project import Dependencies, Project, dependencies

LETS_ENCRYPT = "https://acme-v02.api.letsencrypt.org/directory"
LETS_ENCRYPT_STAGING = "https://acme-staging-v02.api.letsencrypt.org/directory"

USER_NAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
HOST_LABEL = re.compile(rf"^{LABEL}$")
IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
ASGI_PATH = re.compile(rf"^{IDENT}(\.{IDENT})*:{IDENT}$")
URL_PATH = re.compile(r"^/[A-Za-z0-9._~/-]*$")
REL_PATH = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._/-]*$")
ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
HOST_KEY_TYPES = (
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "ssh-rsa",
)
SAFE_URL_CHARS = re.compile(r"^[A-Za-z0-9._~:/?#\[\]@!&'()*+,;=%-]+$")


class TargetError(ValueError):
    """The target description is invalid; the message says which field and why."""


def check_host(value: str) -> str:
    """An IP address or a DNS name (single-label names such as ssh-config aliases allowed)."""
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        pass
    name = value.lower().rstrip(".")
    if not name or len(name) > 253 or not all(HOST_LABEL.fullmatch(lb) for lb in name.split(".")):
        raise ValueError(f"not a valid host name or IP address: {value!r}")
    return name


def check_rel_path(value: str) -> str:
    """A relative POSIX path inside the project: no '..', no absolute path, plain characters."""
    if value.startswith("/") or ".." in value.split("/"):
        raise ValueError(f"{value} is outside the project (paths are relative to its root)")
    if not REL_PATH.fullmatch(value) or "//" in value:
        raise ValueError(f"not a safe relative path: {value!r}")
    return value


def check_url_path(value: str) -> str:
    if not URL_PATH.fullmatch(value) or ".." in value.split("/"):
        raise ValueError(f"not a safe URL path: {value!r}")
    return value


def check_url(value: str) -> str:
    """An http(s) URL without whitespace, quotes or shell metacharacters that matter."""
    if not SAFE_URL_CHARS.fullmatch(value) or any(c in value for c in "'();!*"):
        raise ValueError(f"not a safe URL: {value!r}")
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {value!r}")
    return value


@dataclass(frozen=True)
class HostKey:
    """A pinned SSH host key, parsed once from its OpenSSH line ``TYPE BASE64 [comment]``."""

    kind: str
    blob: bytes

    @classmethod
    def parse(cls, value: str) -> HostKey:
        """Check and parse one key line (the comment is dropped); raise ValueError."""
        fields = value.strip().split()
        if len(fields) < 2 or fields[0] not in HOST_KEY_TYPES or "\n" in value.strip():
            raise ValueError(f"not an OpenSSH host key line: {value[:40]!r}")
        try:
            blob = base64.b64decode(fields[1], validate=True)
        except ValueError as exc:
            raise ValueError("host key is not valid base64") from exc
        if fields[0].encode() not in blob[:40]:
            raise ValueError("host key type does not match its data")
        return cls(fields[0], blob)

    @property
    def line(self) -> str:
        """``TYPE BASE64``, as known_hosts and the stacks' ``ssh_host_key`` output write it."""
        return f"{self.kind} {base64.b64encode(self.blob).decode()}"

    def __str__(self) -> str:
        return self.line


def check_env_value(value: str) -> str:
    if any(c in value for c in "\n\r\x00"):
        raise ValueError("environment values cannot contain newlines or NUL bytes")
    return value


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=False)


class AppSpec(Frozen):
    """What to run: any ASGI app of a project, with its dependencies, health path and settings.

    ``source`` is the project root (it becomes the release root on the host); ``include``
    optionally narrows what ships to some of its top-level entries; every other path is
    relative to the root and must be a file the artifact holds (``deployer.project``).
    """

    name: str = "app"
    source: Path = Path(".")
    include: tuple[str, ...] = ()
    asgi: str = "app.main:app"
    requirements: str | None = None  # None: pyproject.toml (+ uv.lock) or requirements.txt
    version_file: str | None = None  # None: VERSION, when the project ships one
    health_path: str = "/health"
    # After the health path, the switch waits for this one (200) on the new release itself:
    # the sample's /ready answers 503 while its database is unreachable.
    ready_path: str | None = None
    workers: int = Field(2, ge=1, le=64)
    # Seconds the release a deploy retires stays running without traffic: a rollback inside
    # the window is a switch, not a boot (costs one more instance's memory meanwhile; 0: off).
    keep_warm: int = Field(600, ge=0, le=86_400)
    env: dict[str, str] = Field(default_factory=dict)
    secrets: dict[str, SecretStr] = Field(default_factory=dict)
    migrations: str | None = None  # alembic ini, relative to the project root
    max_body_size: str = "10m"
    # "local": the unit may only talk to localhost (best isolation); "any": outbound allowed
    # (e.g. a managed database); "auto": local unless a DATABASE_URL secret is set.
    network: Literal["auto", "local", "any"] = "auto"
    # Roles beside the web process, each its own unit from the release: {"worker": "cmd"}.
    processes: dict[str, str] = Field(default_factory=dict)
    # Jobs run by systemd timers in the current release: {"nightly": {"cmd": .., "on": "daily"}}.
    schedule: dict[str, dict[str, str]] = Field(default_factory=dict)
    # Shell commands run on the host as the app user in the new release (deploy/rollback).
    hooks: dict[Literal["pre_switch", "post_switch", "post_rollback"], str] = Field(
        default_factory=dict
    )

    @property
    def local_network_only(self) -> bool:
        if self.network == "auto":
            return "DATABASE_URL" not in self.secrets
        return self.network == "local"

    @property
    def project(self) -> Project:
        return Project(self.source, self.include)

    def dependencies(self, project: Project | None = None) -> Dependencies:
        return dependencies(project or self.project, self.requirements)

    def required_files(self, project: Project | None = None) -> list[tuple[str, str]]:
        """The files the app names (what, project path); each must be in the artifact."""
        deps = self.dependencies(project)
        out = [(f"dependencies file ({deps.kind})", f) for f in deps.files]
        if self.migrations:
            out.append(("migrations config", self.migrations))
        if self.version_file:
            out.append(("version file", self.version_file))
        return out

    def gunicorn_config(self, project: Project | None = None) -> str | None:
        """The project's gunicorn.conf.py: at its root, else beside the ASGI module's package."""
        project = project or self.project
        package = self.asgi.split(".")[0].split(":")[0]
        for rel in ("gunicorn.conf.py", f"{package}/gunicorn.conf.py"):
            if project.has(rel):
                return rel
        return None

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return check_app(v)

    @field_validator("asgi")
    @classmethod
    def _asgi(cls, v: str) -> str:
        if not ASGI_PATH.fullmatch(v):
            raise ValueError(f"invalid ASGI path {v!r}: expected module.path:attribute")
        return v

    @field_validator("requirements", "migrations", "version_file")
    @classmethod
    def _rel(cls, v: str | None) -> str | None:
        return None if v is None else check_rel_path(v)

    @field_validator("include")
    @classmethod
    def _include(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for name in v:
            if "/" in check_rel_path(name):
                raise ValueError(f"include names top-level entries of the project: {name!r}")
        return v

    @field_validator("health_path")
    @classmethod
    def _health(cls, v: str) -> str:
        return check_url_path(v)

    @field_validator("ready_path")
    @classmethod
    def _ready(cls, v: str | None) -> str | None:
        return None if v is None else check_url_path(v)

    @property
    def gate_paths(self) -> tuple[str, ...]:
        """What a new release must answer 200 on, in order, before it takes traffic."""
        return (self.health_path, self.ready_path) if self.ready_path else (self.health_path,)

    @field_validator("source")
    @classmethod
    def _source(cls, v: Path) -> Path:
        if ".." in v.parts:
            raise ValueError(f"source path must not contain '..': {v}")
        return v

    @field_validator("max_body_size")
    @classmethod
    def _body(cls, v: str) -> str:
        if not re.fullmatch(r"^[0-9]{1,6}[kKmMgG]?$", v):
            raise ValueError(f"invalid body size {v!r} (nginx size, e.g. 10m)")
        return v

    @field_validator("processes")
    @classmethod
    def _processes(cls, v: dict[str, str]) -> dict[str, str]:
        for role, command in v.items():
            check_role(role, command)
        return v

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, v: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        for name, job in v.items():
            check_job(name, job)
        return v

    @field_validator("hooks")
    @classmethod
    def _hooks(cls, v: dict[str, str]) -> dict[str, str]:
        for name, cmd in v.items():
            if not cmd.strip() or any(c in cmd for c in "\n\r\x00"):
                raise ValueError(f"hook {name}: one non-empty line of shell expected")
        return v

    @field_validator("env", "secrets")
    @classmethod
    def _env(cls, v: dict[str, Any]) -> dict[str, Any]:
        for key, val in v.items():
            if not ENV_NAME.fullmatch(key):
                raise ValueError(f"invalid environment variable name {key!r}")
            raw = val.get_secret_value() if isinstance(val, SecretStr) else val
            check_env_value(raw)
        return v

    @model_validator(mode="after")
    def _no_overlap(self) -> AppSpec:
        both = set(self.env) & set(self.secrets)
        if both:
            raise ValueError(f"variables given both as setting and secret: {sorted(both)}")
        reserved = {"PORT", "WEB_CONCURRENCY"} & (set(self.env) | set(self.secrets))
        if reserved:
            raise ValueError(f"variables set by deployer itself: {sorted(reserved)}")
        return self


class Notify(Frozen):
    """A webhook told of every release outcome; the signing secret is named, read at use."""

    url: str
    secret_from_env: str | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        return check_url(v)

    @field_validator("secret_from_env")
    @classmethod
    def _secret_name(cls, v: str | None) -> str | None:
        if v is not None and not ENV_NAME.fullmatch(v):
            raise ValueError(f"invalid environment variable name {v!r}")
        return v


S3_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
S3_PREFIX = re.compile(r"^(?!/)[A-Za-z0-9._/-]{0,200}$")
S3_REGION = re.compile(r"^[a-z0-9-]{1,32}$")


class S3Backup(Frozen):
    """An S3-compatible bucket that ``deployer backup`` copies each fetched backup to.
    Credentials come from the local environment (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY,
    AWS_PROFILE, ...), never from deployer.toml."""

    bucket: str
    prefix: str = ""
    endpoint_url: str | None = None  # None: AWS S3 itself
    region: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_credentials(cls, data: Any) -> Any:
        if isinstance(data, dict):
            named = sorted(k for k in data if re.search(r"key|secret|token|password", str(k)))
            if named:
                raise ValueError(
                    f"{', '.join(named)}: S3 credentials come from the local environment "
                    "(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_PROFILE), never deployer.toml"
                )
        return data

    @field_validator("bucket")
    @classmethod
    def _bucket(cls, v: str) -> str:
        if not S3_BUCKET.fullmatch(v) or ".." in v:
            raise ValueError(f"invalid S3 bucket name {v!r}")
        return v

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, v: str) -> str:
        if not S3_PREFIX.fullmatch(v) or ".." in v.split("/"):
            raise ValueError(f"invalid S3 key prefix {v!r} (letters, digits, ._/-)")
        return v

    @field_validator("endpoint_url")
    @classmethod
    def _endpoint(cls, v: str | None) -> str | None:
        return None if v is None else check_url(v)

    @field_validator("region")
    @classmethod
    def _region(cls, v: str | None) -> str | None:
        if v is not None and not S3_REGION.fullmatch(v):
            raise ValueError(f"invalid region {v!r}")
        return v


class Backup(Frozen):
    """``[stages.X.backup]``: where backups go besides the host and the local directory."""

    s3: S3Backup | None = None


class Target(Frozen):
    """Where to deploy (SSH host, domain, ACME) and what (the app)."""

    stage: str = "default"
    cloud: Literal["aws", "gcp", "azure", "digitalocean", "sandbox", "ssh"] = "ssh"
    host: str
    ssh_port: int | None = Field(None, ge=1, le=65535)  # None: ~/.ssh/config or 22
    ssh_user: str | None = None  # None: ~/.ssh/config or the local user name
    ssh_key: Path | None = None
    ssh_host_key: HostKey | None = None
    domain: str
    address: str | None = None  # where clients reach HTTPS (sandbox); None: resolve domain
    acme_server: str = LETS_ENCRYPT
    acme_email: str | None = None
    acme_ca: Path | None = None  # CA bundle signing the ACME server's HTTPS (uploaded)
    acme_root: Path | None = None  # root that issues site certificates (local health check)
    firewall: bool = True
    # "host": nginx serves HTTPS with a certificate from acme_server (one host); "lb": a load
    # balancer terminates TLS and is the only client of the host's plain HTTP (from lb_source)
    tls: Literal["host", "lb"] = "host"
    lb_source: str | None = None  # the CIDR the load balancer connects from (tls = "lb")
    app: AppSpec = Field(default_factory=AppSpec)
    notify: Notify | None = None
    backup: Backup = Field(default_factory=Backup)

    @field_validator("stage")
    @classmethod
    def _stage(cls, v: str) -> str:
        if not re.fullmatch(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$", v):
            raise ValueError(f"invalid stage name {v!r}")
        return v

    @field_validator("host")
    @classmethod
    def _host(cls, v: str) -> str:
        return check_host(v)

    @field_validator("address")
    @classmethod
    def _address(cls, v: str | None) -> str | None:
        return None if v is None else check_host(v)

    @field_validator("lb_source")
    @classmethod
    def _lb_source(cls, v: str | None) -> str | None:
        return None if v is None else str(ipaddress.ip_network(v, strict=True))

    @model_validator(mode="after")
    def _tls_mode(self) -> Target:
        if (self.tls == "lb") != (self.lb_source is not None):
            raise ValueError('lb_source (the load balancer\'s CIDR) goes with tls = "lb" only')
        return self

    @field_validator("ssh_user")
    @classmethod
    def _user(cls, v: str | None) -> str | None:
        if v is not None and not USER_NAME.fullmatch(v):
            raise ValueError(f"invalid SSH user name {v!r}")
        return v

    @field_validator("domain")
    @classmethod
    def _domain(cls, v: str) -> str:
        return check_domain(v)

    @field_validator("acme_server")
    @classmethod
    def _acme(cls, v: str) -> str:
        check_url(v)
        if not v.startswith("https://"):
            raise ValueError(f"ACME directory must be an https URL: {v!r}")
        return v

    @field_validator("acme_email")
    @classmethod
    def _email(cls, v: str | None) -> str | None:
        if v is not None and not EMAIL.fullmatch(v):
            raise ValueError(f"invalid e-mail address {v!r}")
        return v

    @field_validator("ssh_host_key", mode="before")
    @classmethod
    def _host_key(cls, v: str | HostKey | None) -> HostKey | None:
        return HostKey.parse(v) if isinstance(v, str) else v

    @field_validator("ssh_key", "acme_ca", "acme_root")
    @classmethod
    def _local_file(cls, v: Path | None) -> Path | None:
        if v is not None and not v.expanduser().is_file():
            raise ValueError(f"file not found: {v}")
        return None if v is None else v.expanduser()

    @property
    def layout(self) -> Layout:
        """Where this target's app lives on the host."""
        return Layout(self.app.name)

    @property
    def url(self) -> str:
        return f"https://{self.domain}"

    @property
    def health_url(self) -> str:
        return f"https://{self.domain}{self.app.health_path}"


def format_errors(exc: ValidationError) -> str:
    """One line per invalid field, without echoing secret values."""
    lines = []
    for err in exc.errors(include_input=False, include_url=False):
        where = ".".join(str(p) for p in err["loc"]) or "target"
        lines.append(f"{where}: {err['msg'].removeprefix('Value error, ')}")
    return "\n".join(lines)


def build_target(data: dict[str, Any]) -> Target:
    """Validate *data* into a Target, raising TargetError with readable messages."""
    try:
        return Target.model_validate(data)
    except ValidationError as exc:
        raise TargetError(format_errors(exc)) from None


CONTRACT_KEYS = {
    "cloud",
    "stage",
    "host",
    "ssh_port",
    "ssh_user",
    "ssh_host_key",
    "ssh_key",
    "domain",
    "address",
    "acme_server",
    "acme_ca",
    "acme_root",
}


def from_outputs(outputs: dict[str, Any]) -> dict[str, Any]:
    """Target fields from the output contract (stack outputs or a sandbox host's outputs).

    ``database_url`` becomes the app secret DATABASE_URL; ``url`` is derived, unknown keys are
    ignored (stacks may export more than the contract).
    """
    data: dict[str, Any] = {k: v for k, v in outputs.items() if k in CONTRACT_KEYS}
    if "host" not in data and "address" in data:
        data["host"] = data["address"]
    balancer = outputs.get("load_balancer")
    if balancer:  # a fleet: TLS at the balancer, which clients reach (the hosts list: fleet)
        data |= {"tls": "lb", "lb_source": balancer["source_range"]}
        data.setdefault("domain", balancer["dns_name"])
        if balancer.get("address"):
            data["address"] = balancer["address"]
    if outputs.get("database_url"):
        data["app"] = {"secrets": {"DATABASE_URL": outputs["database_url"]}}
    return data


def merge(*layers: dict[str, Any]) -> dict[str, Any]:
    """Merge target dictionaries; later layers win, ``app`` (and its env/secrets) merged deeply."""
    out: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.items():
            if value is None:
                continue
            if isinstance(value, dict):
                out[key] = merge(out.get(key) or {}, value)
            else:
                out[key] = value
    return out
