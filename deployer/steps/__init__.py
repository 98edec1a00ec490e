"""Bootstrap steps, one module per concern.

Each step reads facts gathered in one round trip (see ``facts``), computes the desired state with
pure builders (rendered files, argv lists), and applies only what differs.
"""
