"""Fleets: a stage of many hosts behind a load balancer, rolled in batches.

`plan` holds the decisions (batches, lock order, run-once work, revert, drift) as pure
functions; `roll` runs them over SSH, one health-gated release lifecycle per host.
"""
