"""The layers point one way: the import graph of deployer/ and stacks/, read from the source.

Every import counts, also those inside functions and under TYPE_CHECKING: a lazy import is still
an arrow between layers.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("deployer", "stacks")
SSH_LIBRARIES = ("fabric", "paramiko", "invoke")
SSH_MODULE = "deployer.remote"
# The OpenSSH client, run as a program, has one user: the sandbox's `Host.ssh_argv` (`deployer
# sandbox ssh NAME` opens an interactive login; image snapshots run their installer through
# it). It logs in with the sandbox's own key and pinned known_hosts file, never Fabric.
SSH_CLIENT = {"deployer.sandbox.hosts"}


def module_files() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            parts = list(path.relative_to(REPO).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


MODULES = module_files()


def imported_names(module: str, path: Path) -> Iterator[str]:
    """Every module name an import statement in ``path`` names (relative imports resolved)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            for alias in node.names:
                yield f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base


def resolve(name: str) -> str | None:
    """The module of ours that ``name`` lands in (the longest known prefix), else None."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        targets = {resolve(name) for name in imported_names(module, path)}
        edges[module] = {t for t in targets if t and t != module}
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def layer(module: str) -> str:
    """``deployer.release.lock`` -> ``deployer.release``; a top-level module is its own layer."""
    parts = module.split(".")
    if len(parts) > 1 and (REPO / parts[0] / parts[1]).is_dir():
        return ".".join(parts[:2])
    return module


def test_the_graph_is_read_from_the_source() -> None:
    edges = graph()
    assert len(MODULES) > 60
    assert "deployer.target" in edges["deployer.remote"]
    assert "deployer.names" in edges["stacks.settings"]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_imports_itself_through_others() -> None:
    assert cycles(graph()) == []


def test_layers_point_one_way() -> None:
    """No cycle between layers either (e.g. steps -> release -> steps, target -> release)."""
    layers: dict[str, set[str]] = {}
    for module, targets in graph().items():
        layers.setdefault(layer(module), set()).update(
            layer(t) for t in targets if layer(t) != layer(module)
        )
    assert cycles(layers) == []


def test_stacks_never_reach_releases_or_steps() -> None:
    """The Pulumi programs use shared names, not the deployer's host machinery (transitively)."""
    edges = graph()
    for start in (m for m in MODULES if m.startswith("stacks")):
        seen, todo = set(), [start]
        while todo:
            for nxt in edges[todo.pop()] - seen:
                seen.add(nxt)
                todo.append(nxt)
        bad = sorted(m for m in seen if layer(m) in ("deployer.release", "deployer.steps"))
        assert not bad, f"{start} reaches {bad}"


def test_only_remote_imports_the_ssh_libraries() -> None:
    users = {
        module
        for module, path in MODULES.items()
        for name in imported_names(module, path)
        if name.split(".")[0] in SSH_LIBRARIES
    }
    assert users == {SSH_MODULE}


SSH_WORD = re.compile(r"""(?<![\w-])["']ssh["']\s*,""")  # "ssh" as the first word of an argv


def test_the_ssh_program_runs_from_one_place() -> None:
    users = {m for m, path in MODULES.items() if SSH_WORD.search(path.read_text(encoding="utf-8"))}
    assert users == SSH_CLIENT
