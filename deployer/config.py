"""deployer.toml: named stages describing targets, so a deploy needs no long command line.

    [stages.prod]
    host = "203.0.113.10"          # or: outputs = "prod.json" / stack = "aws-prod"
    ssh_user = "deploy"
    domain = "api.example.com"
    acme = "production"            # "production" | "staging" | an ACME directory URL
    acme_email = "ops@example.com"

    [stages.prod.app]
    source = "."                   # the project root: it becomes the release root on the host
    asgi = "svc.api:app"           # requirements/pyproject.toml/alembic.ini: relative to it
    env = { ENVIRONMENT = "production" }
    secrets_from_env = ["SECRET_KEY"]   # read from the local environment, never from the file
    secrets_file = ".secrets/prod.env"  # or a local KEY=VALUE file (keep it out of git)
    hooks = { pre_switch = "alembic -c app/alembic.ini current" }  # post_switch, post_rollback
    processes = { worker = "python -m app.worker" }  # beside the web process, one unit each
    schedule = { nightly = { cmd = "python -m app.manage stats", on = "daily" } }  # timers

Relative paths are resolved against the file's directory. Secrets never live in deployer.toml.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from deployer.target import LETS_ENCRYPT, LETS_ENCRYPT_STAGING, TargetError

DEFAULT_FILE = Path("deployer.toml")
STAGE_KEYS = {
    "cloud", "host", "ssh_port", "ssh_user", "ssh_key", "ssh_host_key", "domain", "address",
    "acme", "acme_server", "acme_email", "acme_ca", "acme_root", "firewall", "app", "outputs",
    "stack", "notify", "tls", "lb_source", "hosts", "backup",
}  # fmt: skip
APP_KEYS = {
    "name", "source", "include", "asgi", "requirements", "version_file", "health_path",
    "ready_path", "workers", "keep_warm", "env", "migrations", "max_body_size", "network",
    "secrets_from_env", "secrets_file", "hooks", "processes", "schedule",
}  # fmt: skip
PATH_KEYS = ("ssh_key", "acme_ca", "acme_root", "outputs")


def load(path: Path = DEFAULT_FILE) -> dict[str, Any]:
    """Parse deployer.toml; raise TargetError with the file name on syntax errors."""
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise TargetError(f"{path}: {exc}") from None


def acme_url(value: str) -> str:
    return {"production": LETS_ENCRYPT, "staging": LETS_ENCRYPT_STAGING}.get(value, value)


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines (optionally quoted); comments and blank lines skipped."""
    out = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.removeprefix("export ").partition("=")
        if not sep:
            raise TargetError(f"{path}: not a KEY=VALUE line: {key[:20]!r}")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        out[key.strip()] = value
    return out


def resolve_secrets(
    names: list[str], file: Path | None, environ: dict[str, str] | None = None
) -> dict[str, str]:
    """Secrets from a local file and/or from the local environment (by name)."""
    environ = dict(os.environ) if environ is None else environ
    secrets = read_env_file(file) if file else {}
    missing = [n for n in names if n not in environ]
    if missing:
        raise TargetError(f"secrets not set in the environment: {', '.join(missing)}")
    secrets.update({n: environ[n] for n in names})
    return secrets


def stage(
    config: dict[str, Any], name: str, base: Path, *, secrets: bool = True
) -> dict[str, Any]:
    """Target fields for stage *name* (``outputs``/``stack`` keys left for the caller).

    With ``secrets=False`` the stage's secrets are not read: commands that never write the
    host's ``.env`` (deploy, rollback, status, ...) do not need them in the environment.
    """
    stages = config.get("stages", {})
    if name not in stages:
        known = ", ".join(sorted(stages)) or "none"
        raise TargetError(f"stage {name!r} not found in deployer.toml (stages: {known})")
    data = dict(stages[name])
    unknown = set(data) - STAGE_KEYS
    if unknown:
        raise TargetError(f"stage {name}: unknown keys {sorted(unknown)}")
    for key in PATH_KEYS:
        if key in data:
            data[key] = str(base / Path(data[key]).expanduser())
    if "acme" in data:
        data["acme_server"] = acme_url(data.pop("acme"))
    app = dict(data.pop("app", {}))
    unknown = set(app) - APP_KEYS
    if unknown:
        raise TargetError(f"stage {name}.app: unknown keys {sorted(unknown)}")
    if "source" in app:
        app["source"] = str(base / app["source"])
    names = list(app.pop("secrets_from_env", []))
    file = app.pop("secrets_file", None)
    if secrets and (names or file):
        app["secrets"] = resolve_secrets(names, base / file if file else None)
    data["stage"] = name
    if app:
        data["app"] = app
    return data
