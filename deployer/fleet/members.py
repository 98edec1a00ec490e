"""A stage's fleet: its hosts (`hosts = [...]` in deployer.toml, or the stack's hosts list), each
assembled into a complete Target (stage settings, then the host's own fields)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from deployer import config
from deployer.fleet.roll import Member
from deployer.target import TargetError
from deployer.targets import assemble, parse_host, read_outputs, stack_outputs

HOST_FIELDS = ("host", "ssh_port", "ssh_user", "ssh_host_key", "ssh_key")


def host_entries(stage_data: dict[str, Any]) -> list[dict[str, Any]]:
    """The stage's hosts list (deployer.toml) or its outputs' (stack / outputs file); [] when
    the stage is a single host."""
    listed = stage_data.get("hosts")
    if listed is None:
        outputs = _outputs(stage_data) or {}
        listed = outputs.get("hosts")
        if len(listed or []) <= 1 and not outputs.get("load_balancer"):
            return []  # one server, TLS on it: the one-host commands
    entries = []
    for i, entry in enumerate(listed or []):
        if isinstance(entry, str):
            fields = parse_host(entry)
        elif isinstance(entry, dict):
            unknown = set(entry) - {*HOST_FIELDS, "name", "private_address"}
            if unknown:
                raise TargetError(f"hosts[{i}]: unknown keys {sorted(unknown)}")
            fields = {k: entry[k] for k in HOST_FIELDS if k in entry}
        else:
            raise TargetError(f"hosts[{i}]: expected [user@]host[:port] or a table")
        if "host" not in fields:
            raise TargetError(f"hosts[{i}]: no host")
        name = entry.get("name") if isinstance(entry, dict) else None
        entries.append({"name": name or _label(fields), "fields": fields})
    names = [e["name"] for e in entries]
    if len(set(names)) != len(names):
        raise TargetError(f"hosts: names repeat: {names}")
    return entries


def _label(fields: dict[str, Any]) -> str:
    port = fields.get("ssh_port")
    return f"{fields['host']}:{port}" if port else str(fields["host"])


def _outputs(stage_data: dict[str, Any]) -> dict[str, Any] | None:
    if stage_data.get("outputs"):
        return read_outputs(Path(stage_data["outputs"]))
    if stage_data.get("stack"):
        return stack_outputs(stage_data["stack"])
    return None


def members(
    stage: str,
    config_file: Path | None = None,
    *,
    cli: dict[str, Any] | None = None,
    app: dict[str, Any] | None = None,
    secrets: bool = False,
) -> list[Member]:
    """Every host of STAGE as a Member ([] when the stage is one host); ``cli`` and ``app``
    override the stage's settings, each host's own fields override those."""
    path = config_file or config.DEFAULT_FILE
    if not path.is_file():
        raise TargetError(f"{path} not found")
    data = config.stage(config.load(path), stage, path.resolve().parent, secrets=False)
    found = []
    for entry in host_entries(data):
        fields = {**(cli or {}), **entry["fields"]}
        t = assemble(None, stage=stage, config_file=config_file, cli=fields, app=app,
                     secrets=secrets)
        found.append(Member(entry["name"], t))
    return found
