"""Releases on a host: artifacts installed into releases/<id>/, a health-gated switch between
them, the deploy lock, the ledger (releases.json), the audit log, rollback and promotion.

Where each of those lives on the host: `deployer.layout`.
"""
