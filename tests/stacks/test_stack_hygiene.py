"""The stack programs are pure resource declarations: no SSH, processes or network calls."""

import ast
from pathlib import Path

from stack_helpers import ROOT

FORBIDDEN = {"subprocess", "socket", "fabric", "paramiko", "requests", "httpx", "urllib.request"}


def imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_stacks_import_nothing_side_effecting() -> None:
    for path in (ROOT / "stacks").glob("*.py"):
        bad = {m for m in imported_modules(path) if m.split(".")[0] in FORBIDDEN or m in FORBIDDEN}
        assert not bad, f"{path.name} imports {bad}"


def test_provider_sdks_are_imported_lazily_and_by_submodule() -> None:
    for path in (ROOT / "stacks").glob("*.py"):
        tree = ast.parse(path.read_text())
        top_level = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
        # components.py subclasses pulumi.ComponentResource (the core SDK, no provider); the
        # cloud modules import it inside build(), so settings and plan start without it
        allowed = {"pulumi"} if path.name == "components.py" else set()
        for node in top_level:
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
            bad = [n for n in names if str(n).startswith("pulumi") and n not in allowed]
            assert not bad, f"{path.name}: {bad}"
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    assert alias.name not in ("pulumi_aws", "pulumi_gcp", "pulumi_azure_native")


def test_no_secrets_committed_in_example_stacks() -> None:
    for path in ROOT.glob("Pulumi.*.yaml"):
        text = path.read_text()
        assert "secure:" not in text
        for key in ("dbPassword", "secretKey", "token"):
            assert f"deployer:{key}:" not in text


def test_a_closed_event_loop_left_by_earlier_async_tests_does_not_break_runs() -> None:
    import asyncio

    from stack_helpers import example_config

    from deployer.plan.engine import run_program

    stale = asyncio.new_event_loop()
    asyncio.set_event_loop(stale)
    stale.close()  # what an earlier async test can leave behind
    run = run_program(example_config("digitalocean-dev"), (), "digitalocean-dev", preview=False)
    assert run.outputs["cloud"] == "digitalocean"
