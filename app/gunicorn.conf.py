"""gunicorn settings for production: `gunicorn -c app/gunicorn.conf.py` from the release directory.

Environment: PORT (default 8000), HOST (default 127.0.0.1, behind nginx), WEB_CONCURRENCY
(workers, default 2), GRACEFUL_TIMEOUT (seconds, default 30), MAX_REQUESTS (recycle a worker
after that many requests, default 0 = never), FORWARDED_ALLOW_IPS (default 127.0.0.1) and
LOG_LEVEL. The app's own settings are checked once in the master before any worker starts,
so a bad configuration fails fast and clearly.

Metrics: every worker writes its Prometheus values into PROMETHEUS_MULTIPROC_DIR (a fresh
private directory unless set), and /metrics on any worker reports the sum over all workers.
"""

import os
import shutil
import sys
import tempfile
from pathlib import Path

# The release directory (parent of app/) must be importable for `app.main:app` and our logging.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _env_int(name: str, default: int, low: int, high: int) -> int:
    raw = os.environ.get(name, "").strip() or str(default)
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ValueError(f"{name} must be an integer from {low} to {high}, got {raw!r}")
    return int(raw)


_log_level = os.environ.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"

wsgi_app = "app.main:app"
worker_class = "uvicorn_worker.UvicornWorker"
bind = [f"{os.environ.get('HOST', '127.0.0.1')}:{_env_int('PORT', 8000, 1, 65535)}"]
workers = _env_int("WEB_CONCURRENCY", 2, 1, 64)
graceful_timeout = _env_int("GRACEFUL_TIMEOUT", 30, 1, 3600)
timeout = 60
keepalive = 5
max_requests = _env_int("MAX_REQUESTS", 0, 0, 10_000_000)
max_requests_jitter = max_requests // 10
preload_app = False  # workers import the app after fork, so they see the metrics directory
# Trust X-Forwarded-* from the local nginx only, unless the platform says otherwise.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = None  # the app logs one JSON line per request itself
# No ~/.gunicorn/gunicorn.ctl: two release slots would fight over it, and hardened units
# cannot write to the home directory.
control_socket_disable = True
loglevel = _log_level.lower()
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "app.logs.JsonFormatter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stderr",
        }
    },
    "root": {"level": _log_level, "handlers": ["console"]},
    "loggers": {
        "gunicorn.error": {"level": _log_level, "handlers": ["console"], "propagate": False},
        "gunicorn.access": {"level": _log_level, "handlers": ["console"], "propagate": False},
    },
}

_created_metrics_dir: str | None = None


def on_starting(server: object) -> None:
    """Check the app settings and prepare an empty metrics directory, before forking workers."""
    global _created_metrics_dir
    from app.config import load_settings

    load_settings()
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if given:
        path = Path(given)
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        for stale in path.glob("*.db"):  # values from an earlier run would be added in
            stale.unlink()
    else:
        parent = os.environ.get("RUNTIME_DIRECTORY", "").split(":")[0] or None
        _created_metrics_dir = tempfile.mkdtemp(prefix="app-metrics-", dir=parent)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = _created_metrics_dir
    # The heavy libraries are imported once, here: workers fork with them already loaded and
    # boot faster (bench/release_bench.py, health wait under load: 1.45 -> 0.8 s). The app itself
    # (its engine, its metrics) is still created in each worker, after the fork.
    import fastapi  # noqa: F401
    import sqlalchemy.orm  # noqa: F401


def child_exit(server: object, worker: object) -> None:
    """Forget a dead worker's live gauges (its counters stay, so totals remain right)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]


def on_exit(server: object) -> None:
    if _created_metrics_dir:
        shutil.rmtree(_created_metrics_dir, ignore_errors=True)
