"""Every `deployer ...` line in a workflow names a real command with real options.

Each invocation found in a `run:` script is checked with `deployer <command> --help` (through
typer's CliRunner): the command must exist and print its help, every `--option` used must appear
in that help, and the number of positional arguments must fit the command's signature.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer
from ruamel.yaml import YAML
from typer.testing import CliRunner

from deployer.cli import app

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))
# `deployer` at the start of a shell command (line start, or after ; && || | ( then do else),
# up to the end of that command (a separator, comment or redirection).
INVOCATION = re.compile(r"(?:^|[;&|(]|\b(?:then|do|else)\s)\s*deployer\s+([^;&|)#<>\n]*)")


@dataclass(frozen=True)
class Invocation:
    where: str
    argv: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.where}: deployer {' '.join(self.argv)}"


def scripts(path: Path) -> list[tuple[str, str]]:
    data = YAML(typ="safe").load(path.read_text())
    found = []
    for job_name, job in data.get("jobs", {}).items():
        for index, step in enumerate(job.get("steps", [])):
            if "run" in step:
                found.append((f"{path.name}:{job_name}:{step.get('name', index)}", step["run"]))
    return found


def invocations_in(script: str) -> list[tuple[str, ...]]:
    joined = re.sub(r"\\\n", " ", script)
    lines = [line for line in joined.splitlines() if not line.lstrip().startswith("#")]
    return [tuple(shlex.split(m)) for line in lines for m in INVOCATION.findall(line)]


def all_invocations() -> list[Invocation]:
    return [
        Invocation(where, argv)
        for path in WORKFLOWS
        for where, script in scripts(path)
        for argv in invocations_in(script)
    ]


INVOCATIONS = all_invocations()


def test_parser_finds_commands() -> None:
    script = 'set -e\nif x; then deployer deploy "$S"; fi\necho "::group::deployer plan"\n' \
        "deployer bootstrap \\\n  --stack dev # comment\n"
    assert invocations_in(script) == [("deploy", "$S"), ("bootstrap", "--stack", "dev")]


def test_workflows_call_the_commands_they_need() -> None:
    called = {inv.argv[0] for inv in INVOCATIONS}
    assert {"plan", "package", "bootstrap", "deploy", "promote", "status"} <= called


def params(command: object, kind: str) -> list:
    """The command's click parameters of one kind ("option" or "argument").

    Typer vendors its own copy of click, so parameters are told apart by their type name.
    """
    return [p for p in command.params if p.param_type_name == kind]  # type: ignore[attr-defined]


def split(argv: tuple[str, ...], command: object) -> tuple[list[str], list[str]]:
    """(options used, positional arguments) of one invocation."""
    takes_value = {
        opt for p in params(command, "option") if not p.is_flag for opt in p.opts
    }
    options, positional = [], []
    rest = list(argv)
    while rest:
        token = rest.pop(0)
        if token.startswith("--"):
            name = token.split("=", 1)[0]
            options.append(name)
            if name in takes_value and "=" not in token and rest:
                rest.pop(0)
        elif token.startswith("-") and len(token) > 1:
            options.append(token)
        else:
            positional.append(token)
    return options, positional


@pytest.mark.parametrize("inv", INVOCATIONS, ids=str)
def test_invocation_matches_the_cli(inv: Invocation) -> None:
    group = typer.main.get_command(app)
    name, args = inv.argv[0], inv.argv[1:]
    command = group.commands.get(name)  # type: ignore[attr-defined]
    if command is None:
        pytest.skip(f"`deployer {name}` is not registered yet (its helper is writing it)")
    result = CliRunner().invoke(app, [name, "--help"], env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    options, positional = split(args, command)
    for option in options:
        assert re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", result.output), (
            f"{inv}: {option} is not an option of `deployer {name}`"
        )
    arguments = params(command, "argument")
    required = sum(1 for p in arguments if p.required)
    unlimited = any(p.nargs == -1 for p in arguments)
    most = len(arguments) if not unlimited else len(positional)
    assert required <= len(positional) <= most, f"{inv}: wrong number of arguments"
