"""A background worker beside the web process (a `processes` role in deployer.toml):

    python -m app.worker

It uses the service's settings and database, logs a heartbeat with the release version, and
stops cleanly on SIGTERM (systemd's stop on deploy and rollback).
"""

import logging
import signal
import threading

from app.config import load_settings
from app.db import make_engine, ping
from app.logs import configure_logging

HEARTBEAT_SECONDS = 30
log = logging.getLogger("app.worker")


def main() -> None:
    settings = load_settings()
    configure_logging(settings.log_level)
    engine = make_engine(settings.database_url)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    log.info("worker started (version %s)", settings.app_version)
    while not stop.is_set():
        ping(engine)
        log.info("worker alive (version %s)", settings.app_version)
        stop.wait(HEARTBEAT_SECONDS)
    log.info("worker stopped")


if __name__ == "__main__":
    main()
