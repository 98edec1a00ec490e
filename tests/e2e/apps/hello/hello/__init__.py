"""A second, different ASGI app: deployed by configuration only (see test_bootstrap_second_app)."""
