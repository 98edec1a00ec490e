"""Releases on a host: artifacts installed into releases/<id>/, a health-gated switch between
them, the deploy lock, the ledger (releases.json), the audit log, rollback and promotion.

Host layout (see the contracts): /srv/<app>/releases/<id>/, /srv/<app>/current (for humans),
/srv/<app>/state/{releases.json,audit.log,deploy.lock/}.
"""
