"""A real S3-compatible server on loopback for the backup tests: moto's (``moto_server``, from
requirements-dev.txt), started by the test and stopped by its PID."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

# test credentials (moto accepts any): given to deployer in its environment only
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "AKIADEPLOYERTEST0001",
               "AWS_SECRET_ACCESS_KEY": "s3-secret-key-never-printed-0123456789"}  # fmt: skip


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def moto_server(startup: float = 60) -> Iterator[str]:
    """Run ``moto_server`` on 127.0.0.1; yields its endpoint URL."""
    exe = Path(sys.executable).with_name("moto_server")
    port = _free_port()
    proc = subprocess.Popen(
        [str(exe), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
    )  # fmt: skip
    try:
        deadline = time.monotonic() + startup  # a bound on start-up, not a measured threshold
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"moto_server exited with {proc.returncode}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("moto_server did not start listening") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def s3_client(endpoint: str):
    import boto3

    return boto3.session.Session(
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region_name="us-east-1",
    ).client("s3", endpoint_url=endpoint)
