"""Offline plan: run a stack's Pulumi program under the mock engine, record, check policies.

No Pulumi CLI, credentials or network: ``deployer plan STACK`` loads ``Pulumi.<STACK>.yaml``,
runs ``stacks.program`` with mocks that record every resource, and evaluates plain-Python rules
(``deployer.plan.policies``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from deployer.plan.engine import Run
from deployer.plan.policies import Violation


@dataclass
class Plan:
    """A stack's recorded resources and outputs plus the policy verdicts."""

    stack: str
    run: Run
    violations: list[Violation]


def plan_stack(stack: str, root: Path = Path("."), preview: bool = True) -> Plan:
    """Validate ``Pulumi.<stack>.yaml`` (ConfigError/StackConfigError), run it, check policies."""
    from deployer.plan import policies, stackconfig
    from deployer.plan.engine import run_program
    from stacks import program
    from stacks.settings import NAMESPACE, load

    config = stackconfig.load(root, stack)
    provider = {key: config.values.get(key) for key in program.PROVIDER_KEYS}
    settings = load(config.namespace(NAMESPACE), provider)  # fail fast, before the engine
    run = run_program(config.values, config.secret_keys, stack, preview=preview)
    return Plan(stack, run, policies.check(run.resources, settings))
