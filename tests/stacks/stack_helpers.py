"""Run stack programs under the mock engine; cache runs so each config runs once per session.

``run_program`` installs a fresh event loop per run, so these tests don't depend on (or break)
loops left by async tests elsewhere in the session.
"""

from __future__ import annotations

import json
from pathlib import Path

from deployer.stack_config import stack_names

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_STACKS = stack_names(ROOT)

_cache: dict[tuple, object] = {}


def example_config(stack: str, **overrides: object) -> dict[str, str]:
    """The example stack's config with ``deployer:`` overrides (lists/dicts as JSON)."""
    from deployer.plan import stackconfig

    values = dict(stackconfig.load(ROOT, stack).values)
    for key, value in overrides.items():
        full = key if ":" in key else f"deployer:{key}"
        if value is None:
            values.pop(full, None)
        else:
            values[full] = value if isinstance(value, str) else json.dumps(value)
    return values


def run_stack(stack: str, preview: bool = False, **overrides: object):
    """The Run of an example stack (apply mode by default: every output resolved)."""
    from deployer.plan.engine import run_program

    key = (stack, preview, tuple(sorted((k, str(v)) for k, v in overrides.items())))
    if key not in _cache:
        _cache[key] = run_program(example_config(stack, **overrides), (), stack, preview=preview)
    return _cache[key]


def settings_of(stack: str, **overrides: object):
    """Validated Settings of an example stack (with overrides)."""
    from stacks import program
    from stacks.settings import load

    values = example_config(stack, **overrides)
    raw = {k.split(":", 1)[1]: v for k, v in values.items() if k.startswith("deployer:")}
    return load(raw, {k: values.get(k) for k in program.PROVIDER_KEYS})


def one(run, typ: str, name: str | None = None):
    """The single resource of a type (optionally with a logical name)."""
    found = [r for r in run.resources if r.type == typ and (name is None or r.name == name)]
    assert len(found) == 1, f"expected one {typ} {name or ''}, found {[r.name for r in found]}"
    return found[0]


def waits_for(run, resource, other: str) -> bool:
    """Whether ``resource`` (directly or through its dependencies) waits for the one named
    ``other`` (a logical name)."""
    by_urn = {r.urn: r for r in run.resources}
    seen: set[str] = set()
    todo = list(resource.dependencies)
    while todo:
        urn = todo.pop()
        if urn.rsplit("::", 1)[-1] == other:
            return True
        if urn not in seen:
            seen.add(urn)
            todo.extend(by_urn[urn].dependencies if urn in by_urn else ())
    return False
