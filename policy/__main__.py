"""CrossGuard entry point: `pulumi preview --policy-pack policy` enforces deployer's plan rules.

The rules live in deployer/plan/policies.py (the same code `deployer plan` runs offline); this only
puts the checkout on the path and serves them as a pack. Constructing ``PolicyPack`` starts the
analyzer the engine talks to and blocks, so nothing else belongs here.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # deployer/ and stacks/

from pulumi_policy import EnforcementLevel, PolicyPack

from deployer.plan.crossguard import policies

PolicyPack(name="deployer", enforcement_level=EnforcementLevel.MANDATORY, policies=policies())
