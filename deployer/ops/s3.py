"""Backups in an S3-compatible bucket (``[stages.X.backup.s3]``), through boto3.

``deployer backup`` uploads the file it fetched to ``s3://<bucket>/<prefix><file name>``;
``deployer restore`` takes such an ``s3://`` URL, or a file name listed by ``backup --list``,
and downloads it first. The machine running deployer talks to the bucket, never the host:
scheduled host backups stay on the host. Credentials are boto3's own chain from the local
environment (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, ``AWS_PROFILE``, ...): never on a
command line, in deployer.toml or in output. boto3 is imported only here, when a bucket is used
(``pip install 'deployer[s3]'``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deployer.ops.backup import local_name
from deployer.target import S3_BUCKET, S3Backup

S3_URL = re.compile(r"^s3://(?P<bucket>[^/]+)/(?P<key>[^\s]+)$")


class S3Error(RuntimeError):
    """The bucket could not be used (no credentials, no such bucket or key, unreachable)."""


@dataclass(frozen=True)
class Location:
    bucket: str
    key: str

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @property
    def name(self) -> str:
        return self.key.rsplit("/", 1)[-1]


def object_key(dest: S3Backup, name: str) -> str:
    """The key a backup file named *name* gets: the prefix (a folder when it ends with /)."""
    return f"{dest.prefix}{local_name(name)}"


def restore_source(arg: str, dest: S3Backup | None) -> Location | None:
    """Where ``restore STAGE ARG`` reads from: an ``s3://bucket/key`` URL, or a bare backup
    file name in the stage's bucket (when it has one); None: *arg* is a local file."""
    m = S3_URL.fullmatch(arg)
    if m:
        if not S3_BUCKET.fullmatch(m["bucket"]):
            raise ValueError(f"invalid S3 bucket name {m['bucket']!r}")
        loc = Location(m["bucket"], m["key"])
        local_name(loc.name)  # named like a backup
        return loc
    if arg.startswith("s3:"):
        raise ValueError(f"expected s3://BUCKET/KEY, got {arg!r}")
    if dest is not None and "/" not in arg and not Path(arg).exists():
        return Location(dest.bucket, object_key(dest, arg))
    return None


def client(dest: S3Backup | None) -> Any:
    """A boto3 S3 client with the stage's endpoint and region, credentials from the local
    environment (boto3's chain); quiet (botocore logs nothing unless asked)."""
    try:
        import boto3
        from botocore.config import Config
    except ImportError:  # pragma: no cover - depends on the installation
        raise S3Error("boto3 is not installed: pip install 'deployer[s3]'") from None
    region = (dest.region if dest else None) or os.environ.get("AWS_REGION") or None
    return boto3.session.Session().client(
        "s3",
        endpoint_url=dest.endpoint_url if dest else None,
        region_name=region or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
        config=Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=10),
    )


def _errors():
    from botocore.exceptions import BotoCoreError, ClientError

    return (BotoCoreError, ClientError)


def _describe(exc: Exception) -> str:
    """The error without anything secret (botocore's messages name no credential)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        err = response.get("Error", {})
        return f"{err.get('Code', '?')}: {err.get('Message', '')}".strip()
    return str(exc)


def upload(dest: S3Backup, path: Path) -> Location:
    """Put the local backup *path* into the bucket; its URL."""
    loc = Location(dest.bucket, object_key(dest, path.name))
    try:
        client(dest).upload_file(str(path), loc.bucket, loc.key)
    except _errors() as exc:
        raise S3Error(f"upload to {loc.url} failed: {_describe(exc)}") from None
    return loc


def download(dest: S3Backup | None, loc: Location, out_dir: Path) -> Path:
    """Fetch *loc* into *out_dir* as a 0600 file named like the key's last part."""
    path = out_dir / local_name(loc.name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            client(dest).download_fileobj(loc.bucket, loc.key, fh)
    except _errors() as exc:
        path.unlink(missing_ok=True)
        raise S3Error(f"download of {loc.url} failed: {_describe(exc)}") from None
    return path


def listing(dest: S3Backup) -> list[tuple[str, int, str]]:
    """``(file name, size, time)`` of the backups under the prefix, oldest first."""
    found = []
    try:
        pages = client(dest).get_paginator("list_objects_v2").paginate(
            Bucket=dest.bucket, Prefix=dest.prefix
        )
        for page in pages:
            for obj in page.get("Contents", []):
                name = obj["Key"][len(dest.prefix) :]
                try:
                    local_name(name)
                except ValueError:
                    continue  # not one of ours (or in a deeper folder)
                when = obj["LastModified"].strftime("%Y-%m-%dT%H:%M:%SZ")
                found.append((name, obj["Size"], when))
    except _errors() as exc:
        where = f"s3://{dest.bucket}/{dest.prefix}"
        raise S3Error(f"listing {where} failed: {_describe(exc)}") from None
    return sorted(found, key=lambda row: row[0].rsplit("-", 1)[-1])
