"""Target assembly: one Target from every source, validated once, before any host is touched.

Sources, weakest first: a sandbox host's outputs, a Pulumi stack's outputs (``--stack`` runs
``pulumi stack output``; ``--outputs FILE`` reads the same JSON), a ``deployer.toml`` stage, the
``[user@]host[:port]`` argument, then the command line's flags. The model and its field checks
live in `deployer.target`; this module only gathers and merges.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from deployer import config
from deployer.names import check_stack
from deployer.target import Target, TargetError, build_target, from_outputs, merge

HOST_ARG = re.compile(r"^(?:(?P<user>[^@]+)@)?(?P<host>[^:@]+)(?::(?P<port>[0-9]{1,5}))?$")


def parse_host(value: str) -> dict[str, Any]:
    """``[user@]host[:port]`` -> target fields (validated later with everything else)."""
    m = HOST_ARG.fullmatch(value)
    if not m:
        raise TargetError(f"host: expected [user@]host[:port], got {value!r}")
    out: dict[str, Any] = {"host": m["host"]}
    if m["user"]:
        out["ssh_user"] = m["user"]
    if m["port"]:
        out["ssh_port"] = int(m["port"])
    return out


def parse_env(pairs: list[str]) -> dict[str, str]:
    """``KEY=VALUE`` words -> a dict (names and values are checked by the Target)."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise TargetError(f"--env expects KEY=VALUE, got {key!r}")
        out[key] = value
    return out


def stack_outputs(stack: str) -> dict[str, Any]:
    """`pulumi stack output --json --show-secrets` for *stack* (the Pulumi CLI must exist)."""
    try:
        check_stack(stack, qualified=True)
    except ValueError as exc:
        raise TargetError(str(exc)) from None
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        raise TargetError("the pulumi CLI is not installed: export the outputs with --outputs FILE")
    proc = subprocess.run(
        [pulumi, "stack", "output", "--json", "--show-secrets", "--stack", stack],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise TargetError(f"pulumi stack output failed: {proc.stderr.strip()[-300:]}")
    return json.loads(proc.stdout)


def read_outputs(path: Path) -> dict[str, Any]:
    """A JSON file of stack outputs (the output contract)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TargetError(f"--outputs {path}: {exc}") from None
    if not isinstance(data, dict):
        raise TargetError(f"--outputs {path}: expected a JSON object")
    return data


def sandbox_host(name: str):  # -> deployer.sandbox.Host
    """The running sandbox host *name* (of this lab)."""
    from deployer import sandbox

    for host in sandbox.list_hosts():
        if host.name == name:
            return host
    raise TargetError(f"no sandbox host named {name!r} (start one: deployer sandbox up {name})")


def assemble(
    host: str | None,
    *,
    stage: str | None = None,
    config_file: Path | None = None,
    stack: str | None = None,
    outputs: Path | None = None,
    sandbox: str | None = None,
    cli: dict[str, Any] | None = None,
    app: dict[str, Any] | None = None,
    secrets: bool = True,
) -> Target:
    """Merge the sources (outputs < deployer.toml stage < command line) into a valid Target."""
    layers: list[dict[str, Any]] = []
    stage_data: dict[str, Any] = {}
    if stage:
        path = config_file or config.DEFAULT_FILE
        if not path.is_file():
            raise TargetError(f"--stage {stage}: {path} not found")
        stage_data = config.stage(config.load(path), stage, path.resolve().parent, secrets=secrets)
        stage_data.pop("hosts", None)  # a fleet's hosts: deployer.fleet.members
        stack = stack or stage_data.pop("stack", None)
        file = stage_data.pop("outputs", None)
        outputs = outputs or (Path(file) if file else None)
    if sandbox:
        layers.append(from_outputs(sandbox_host(sandbox).outputs()))
    if stack:
        layers.append(from_outputs(stack_outputs(stack)))
    if outputs:
        layers.append(from_outputs(read_outputs(outputs)))
    layers.append(stage_data)
    if host:
        layers.append(parse_host(host))
    layers.append(cli or {})
    if app:
        layers.append({"app": app})
    data = merge(*layers)
    missing = [k for k in ("host", "domain") if k not in data]
    if missing:
        raise TargetError(
            f"missing {', '.join(missing)}: give HOST and --domain, --stage, --stack or --outputs"
        )
    return build_target(data)


def for_stage(stage: str, config_file: Path | None = None, source: Path | None = None) -> Target:
    """The Target of a deployer.toml stage (secrets unresolved: release commands send none)."""
    app = {"source": str(source)} if source else None
    return assemble(None, stage=stage, config_file=config_file, app=app, secrets=False)
