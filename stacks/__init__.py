"""Pulumi programs, one module per cloud; shared settings, naming and output contract.

``Pulumi.yaml`` runs ``stacks/__main__.py`` (``main: stacks/``); ``stacks.program.build`` builds
the resources of the cloud named by ``deployer:cloud``.
"""
