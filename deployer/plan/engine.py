"""Run a stack's program under Pulumi's mock engine and record what it would create."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from deployer.plan.values import Resource, clean


@dataclass
class Run:
    """Everything a program run produced."""

    resources: list[Resource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)  # raw values (secrets unmasked)
    secret_outputs: set[str] = field(default_factory=set)
    unknown_outputs: set[str] = field(default_factory=set)

    def of_type(self, typ: str) -> list[Resource]:
        """Resources with exactly this type token."""
        return [r for r in self.resources if r.type == typ]

    def shown_outputs(self) -> dict[str, Any]:
        """Outputs as printed: secrets masked, unknowns shown as such."""
        from deployer.plan.values import SECRET, UNKNOWN

        def show(key: str, value: Any) -> Any:
            if key in self.unknown_outputs:
                return UNKNOWN
            return SECRET if key in self.secret_outputs else value

        return {key: show(key, value) for key, value in self.outputs.items()}


def install_mocks(
    config: dict[str, str], secret_keys: tuple[str, ...] | list[str], stack: str, preview: bool
) -> Any:
    """Point the Pulumi runtime at a fresh recording mock engine; return the Recorder."""
    import asyncio

    import pulumi
    from pulumi.runtime import settings as runtime_settings

    from deployer.plan.recorder import Recorder, RecordingMonitor

    asyncio.set_event_loop(asyncio.new_event_loop())
    runtime_settings.set_root_resource(None)
    pulumi.runtime.set_all_config(dict(config), list(secret_keys))
    recorder = Recorder(preview)
    monitor = RecordingMonitor(recorder)
    pulumi.runtime.set_mocks(recorder, "deployer", stack, preview, monitor=monitor)
    return recorder


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while planning; freeze what planning allocated.

    Planning imports provider SDK modules: hundreds of thousands of long-lived objects that each
    collection triggered by the allocations would scan again, and again at every later one and at
    exit. Paused, then frozen (never scanned again), `deployer plan --all` went from 4.5 s to
    2.5 s (bench/plan_bench.py). The price: a run's own cyclic leftovers, about 2 MB a stack,
    are not reclaimed in a long-lived caller.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()


def run_to_completion(program: Any) -> None:
    """Run ``program`` (sync, or async def) and wait for every registration it started."""
    from pulumi.runtime import stack as runtime_stack
    from pulumi.runtime.sync_await import _sync_await

    _sync_await(runtime_stack.run_pulumi_func(program))


def run_program(
    config: dict[str, str],
    secret_keys: tuple[str, ...] | list[str] = (),
    stack: str = "plan",
    preview: bool = True,
) -> Run:
    """Run stacks.program for ``config`` (``ns:key`` -> str) under mocks; return the Run.

    ``preview=True`` behaves like ``pulumi preview``: computed values stay unknown.
    ``preview=False`` resolves them with fakes so tests can check every output.
    A fresh event loop is installed for each run (mock runs must not share a loop).
    """
    import pulumi

    from stacks.program import build, read_settings

    recorder = install_mocks(config, secret_keys, stack, preview)
    run = Run()

    async def program() -> None:
        outputs = build(read_settings())
        for key, value in outputs.items():
            output = pulumi.Output.from_input(value)
            run.outputs[key] = await output.future(with_unknowns=True)
            if await output.is_secret():
                run.secret_outputs.add(key)
            if not await output.is_known():
                run.unknown_outputs.add(key)

    run_to_completion(program)
    run.resources = recorder.resources
    if not preview and run.unknown_outputs:
        raise RuntimeError(f"outputs unresolved under mocks: {sorted(run.unknown_outputs)}")
    run.outputs = {
        k: None if k in run.unknown_outputs else clean(v) for k, v in run.outputs.items()
    }
    return run
