"""Pulumi entry point (``main: stacks/`` in Pulumi.yaml): run the program for ``deployer:cloud``."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from stacks.program import main

main()
