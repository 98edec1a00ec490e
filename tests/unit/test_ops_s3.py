"""S3 backup destination: its settings in deployer.toml, keys, and where a restore reads from."""

from pathlib import Path

import pytest

from deployer.ops import s3
from deployer.target import S3Backup, TargetError, build_target

REPO = Path(__file__).resolve().parents[2]
NAME = "shop-20261127T140000Z.sqlite3"
DEST = S3Backup(bucket="acme-backups", prefix="shop/prod/")


def target(**backup):
    return build_target({"host": "203.0.113.10", "domain": "api.example.com",
                         "app": {"source": str(REPO / "app")}, "backup": backup})  # fmt: skip


def test_a_stage_without_a_bucket_has_none() -> None:
    assert target().backup.s3 is None
    t = target(s3={"bucket": "acme-backups", "endpoint_url": "http://127.0.0.1:9000"})
    assert t.backup.s3 == S3Backup(bucket="acme-backups", endpoint_url="http://127.0.0.1:9000")


@pytest.mark.parametrize(
    ("s3conf", "why"),
    [
        ({"bucket": "acme-backups", "secret_access_key": "x"}, "never deployer.toml"),
        ({"bucket": "acme-backups", "aws_access_key_id": "x"}, "never deployer.toml"),
        ({"bucket": "Acme_Backups"}, "invalid S3 bucket name"),
        ({"bucket": "acme-backups", "prefix": "/abs"}, "invalid S3 key prefix"),
        ({"bucket": "acme-backups", "prefix": "a/../b"}, "invalid S3 key prefix"),
        ({"bucket": "acme-backups", "endpoint_url": "ftp://x"}, "not an http"),
        ({"bucket": "acme-backups", "region": "EU West"}, "invalid region"),
        ({"bucket": "acme-backups", "acl": "public-read"}, "Extra inputs"),
    ],
)
def test_bad_settings_are_refused(s3conf, why) -> None:
    with pytest.raises(TargetError, match=why):
        target(s3=s3conf)


def test_object_key_is_prefix_and_backup_name() -> None:
    assert s3.object_key(DEST, NAME) == f"shop/prod/{NAME}"
    with pytest.raises(ValueError, match="unexpected backup file name"):
        s3.object_key(DEST, "notes.txt")


@pytest.mark.parametrize(
    ("arg", "dest", "expected"),
    [
        (f"s3://other-bucket/x/{NAME}", None, s3.Location("other-bucket", f"x/{NAME}")),
        (f"s3://acme-backups/{NAME}", DEST, s3.Location("acme-backups", NAME)),
        (NAME, DEST, s3.Location("acme-backups", f"shop/prod/{NAME}")),  # a listed name
        (NAME, None, None),  # no bucket: a local file (that the caller finds missing)
        (f"backups/{NAME}", DEST, None),  # a path: always local
        ("s3://acme-backups/x/notes.txt", DEST, "unexpected backup file name"),
        ("s3:/acme-backups/" + NAME, DEST, "expected s3://BUCKET/KEY"),
        (f"s3://Bad_Bucket/{NAME}", DEST, "invalid S3 bucket name"),
    ],
)
def test_restore_source(arg, dest, expected) -> None:
    if isinstance(expected, str):
        with pytest.raises(ValueError, match=expected):
            s3.restore_source(arg, dest)
    else:
        assert s3.restore_source(arg, dest) == expected
