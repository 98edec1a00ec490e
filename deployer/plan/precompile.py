"""Byte-compile the Pulumi SDK modules the stacks import: ``python -m deployer.plan.precompile``.

The provider SDKs are huge (pulumi_aws.ec2's inputs module alone is 1.3 MB of source). Without
``.pyc`` files (``pip install --no-compile`` or ``PYTHONDONTWRITEBYTECODE=1``) every plan compiles
them again, several seconds per cloud. This runs every example stack once and byte-compiles
exactly the modules that were loaded, instead of all 1 GB of provider code.
"""

from __future__ import annotations

import compileall
import sys
import sysconfig
from pathlib import Path


def loaded_sdk_files() -> list[Path]:
    """Source files of loaded modules that live in site-packages."""
    site = Path(sysconfig.get_paths()["purelib"]).resolve()
    files = []
    for module in list(sys.modules.values()):
        source = getattr(module, "__file__", None)
        if source and source.endswith(".py") and Path(source).resolve().is_relative_to(site):
            files.append(Path(source))
    return files


def main(root: Path = Path(".")) -> int:
    """Plan every ``Pulumi.*.yaml`` under ``root``, then compile what got imported."""
    from deployer.plan import plan_stack
    from deployer.plan.engine import gc_paused
    from deployer.stack_config import stack_names

    with gc_paused():
        for stack in stack_names(root):
            plan_stack(stack, root)
    files = loaded_sdk_files()
    for source in files:  # skips files whose bytecode is already up to date
        compileall.compile_file(str(source), quiet=2)
    print(f"bytecode up to date for {len(files)} SDK modules")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(".")))
