"""The real servers: gunicorn with app/gunicorn.conf.py (several workers) and `python -m app`."""

import json
import runpy
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from app_testkit import REPO, SECRET, clean_env, free_port, wait_until_serving
from prometheus_client.parser import text_string_to_metric_families

GUNICORN_CONF = str(REPO / "app" / "gunicorn.conf.py")


@contextmanager
def serving(args: list[str], env: dict[str, str], cwd: Path) -> Iterator[subprocess.Popen[str]]:
    """Run a server process; stop it by PID (SIGTERM, then SIGKILL) when done."""
    log = (cwd / "server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, *args], env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, text=True
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()


def server_log(cwd: Path) -> list[dict]:
    """Every line the server wrote must be a JSON object."""
    lines = (cwd / "server.log").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


TIMEOUT = 30  # seconds; generous, the machine may be busy with other tests


def health_count(base: str) -> float:
    text = httpx.get(f"{base}/metrics", timeout=TIMEOUT).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "http_requests_total" and sample.labels["route"] == "/health":
                return sample.value
    return 0.0


def send_until_both_workers_answered(base: str, cwd: Path, at_most: int = 500) -> int:
    """GET /health on new connections until the access log shows two worker PIDs."""
    for sent in range(1, at_most + 1):
        response = httpx.get(f"{base}/health", timeout=TIMEOUT)
        assert response.json() == {"status": "ok", "version": "9.9.9-test"}
        if sent % 10 == 0 and len(health_pids(cwd)) == 2:
            return sent
    raise AssertionError(f"one worker answered all {at_most} requests: {health_pids(cwd)}")


def health_pids(cwd: Path) -> set[int]:
    """PIDs that logged a /health request so far (the server is still writing the log)."""
    pids = set()
    for line in (cwd / "server.log").read_text().splitlines():
        if '"route": "/health"' in line and line.endswith("}"):
            pids.add(json.loads(line)["pid"])
    return pids


def gunicorn_env(tmp_path: Path, port: int, **extra: str) -> dict[str, str]:
    return clean_env(
        SECRET_KEY=SECRET,
        DATABASE_URL=f"sqlite:///{tmp_path}/app.db",
        PORT=str(port),
        **extra,
    )


def test_gunicorn_workers_share_metrics_and_stop_gracefully(tmp_path: Path) -> None:
    port = free_port()
    env = gunicorn_env(
        tmp_path, port, WEB_CONCURRENCY="2", APP_VERSION="9.9.9-test", TMPDIR=str(tmp_path)
    )
    with serving(["-m", "gunicorn", "-c", GUNICORN_CONF], env, tmp_path) as process:
        base = f"http://127.0.0.1:{port}"
        wait_until_serving(base, process)
        assert len(list(tmp_path.glob("app-metrics-*"))) == 1  # the private metrics directory
        before = health_count(base)
        sent = send_until_both_workers_answered(base, tmp_path)
        # Whichever worker answers the scrape reports the sum over both workers.
        assert [health_count(base) for _ in range(6)] == [before + sent] * 6
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    assert list(tmp_path.glob("app-metrics-*")) == []
    entries = server_log(tmp_path)
    booted = [e for e in entries if e["message"].startswith("Booting worker")]
    assert len(booted) == 2
    assert any(e["logger"] == "app.access" and e["route"] == "/health" for e in entries)


def load_gunicorn_conf() -> dict[str, object]:
    return runpy.run_path(GUNICORN_CONF)


def test_gunicorn_conf_reads_port_and_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "8002")
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    monkeypatch.setenv("GRACEFUL_TIMEOUT", "12")
    conf = load_gunicorn_conf()
    assert conf["bind"] == ["127.0.0.1:8002"]
    assert conf["workers"] == 3
    assert conf["graceful_timeout"] == 12
    assert conf["worker_class"] == "uvicorn_worker.UvicornWorker"
    assert conf["wsgi_app"] == "app.main:app"


@pytest.mark.parametrize(
    ("name", "value"), [("PORT", "80000"), ("PORT", "http"), ("WEB_CONCURRENCY", "0")]
)
def test_gunicorn_conf_rejects_bad_numbers(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=f"^{name} must be an integer"):
        load_gunicorn_conf()


def test_gunicorn_empties_a_given_metrics_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Values left by an earlier run would be added to the new run's totals."""
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_999999.db").write_bytes(b"stale")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(metrics_dir))
    monkeypatch.setenv("SECRET_KEY", SECRET)
    load_gunicorn_conf()["on_starting"](None)  # type: ignore[operator]
    assert list(metrics_dir.iterdir()) == []


def test_gunicorn_refuses_to_start_without_secret_key(tmp_path: Path) -> None:
    env = clean_env(PORT=str(free_port()))
    with serving(["-m", "gunicorn", "-c", GUNICORN_CONF], env, tmp_path) as process:
        assert process.wait(timeout=60) != 0
    output = (tmp_path / "server.log").read_text()
    assert "invalid configuration: SECRET_KEY must be set" in output
    assert "Booting worker" not in output


def test_python_m_app_migrates_and_serves_in_development(tmp_path: Path) -> None:
    port = free_port()
    env = clean_env(ENVIRONMENT="development", PORT=str(port))
    with serving(["-m", "app"], env, tmp_path) as process:
        base = f"http://127.0.0.1:{port}"
        wait_until_serving(base, process)
        version = (REPO / "app" / "VERSION").read_text().strip()
        health = httpx.get(f"{base}/health", timeout=TIMEOUT).json()
        assert health == {"status": "ok", "version": version}
        assert httpx.get(f"{base}/ready", timeout=TIMEOUT).status_code == 200
    # The default DATABASE_URL is ./app.db, and the migrations ran before serving.
    with sqlite3.connect(tmp_path / "app.db") as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    assert {"users", "items", "alembic_version"} <= tables
    assert any(e["message"] == "starting" for e in server_log(tmp_path))
