"""Source artifacts: reproducible bytes, content hash as identity, secrets and caches left out."""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from deployer.artifact import (
    FIXED_MTIME,
    Artifact,
    ArtifactError,
    load_artifact,
)
from deployer.artifact import build_source_artifact as build_project_artifact
from deployer.project import Project, ProjectError


def build_source_artifact(src: Path, out: Path) -> Artifact:  # the sample layout: ship app/
    return build_project_artifact(Project(src.parent, ("app",)), out, version_file="app/VERSION")


def make_source(root: Path) -> Path:
    src = root / "app"
    (src / "routes").mkdir(parents=True)
    (src / "main.py").write_text("from fastapi import FastAPI\napp = FastAPI()\n")
    (src / "routes" / "health.py").write_text("def health():\n    return {'status': 'ok'}\n")
    (src / "VERSION").write_text("1.4.2\n")
    (src / "requirements.txt").write_text("fastapi==0.165.0\n")
    run = src / "run.sh"
    run.write_text("#!/bin/sh\n")
    run.chmod(0o700)
    return src


def add_junk(src: Path) -> None:
    """Files that must never ship: caches, virtualenvs, local databases, secrets."""
    (src / "__pycache__").mkdir()
    (src / "__pycache__" / "main.cpython-311.pyc").write_bytes(b"\0junk")
    (src / "stray.pyc").write_bytes(b"\0junk")
    (src / ".venv" / "bin").mkdir(parents=True)
    (src / ".venv" / "bin" / "python").write_text("junk")
    (src / ".env").write_text("SECRET_KEY=do-not-ship\n")
    (src / ".env.production").write_text("SECRET_KEY=do-not-ship\n")
    (src / "app.db").write_bytes(b"SQLite format 3\0")
    (src / "server.key").write_text("-----BEGIN PRIVATE KEY-----\n")


def names(path: Path) -> list[str]:
    with tarfile.open(path) as tar:
        return tar.getnames()


def test_same_source_gives_identical_bytes(tmp_path: Path) -> None:
    src = make_source(tmp_path)
    first = build_source_artifact(src, tmp_path / "out1")
    second = build_source_artifact(src, tmp_path / "out2")
    assert first.sha256 == second.sha256
    assert first.path.read_bytes() == second.path.read_bytes()
    assert first.path.name == f"app-{first.sha256[:16]}.tar"


def test_metadata_does_not_change_the_hash(tmp_path: Path) -> None:
    """A fresh checkout (other mtimes, umask, owner) hashes the same as the original tree."""
    src = make_source(tmp_path / "a")
    copy = tmp_path / "b" / "app"
    shutil.copytree(src, copy)
    for path in copy.rglob("*"):
        os.utime(path, (1_700_000_000, 1_700_000_000))
    (copy / "main.py").chmod(0o600)
    (copy / "run.sh").chmod(0o755)
    if os.geteuid() == 0:
        os.chown(copy / "main.py", 1234, 1234)
    assert build_source_artifact(src, tmp_path / "o1").sha256 == (
        build_source_artifact(copy, tmp_path / "o2").sha256
    )


def test_one_changed_byte_changes_the_hash(tmp_path: Path) -> None:
    src = make_source(tmp_path)
    before = build_source_artifact(src, tmp_path / "out").sha256
    text = (src / "main.py").read_bytes()
    (src / "main.py").write_bytes(text[:-2] + b"X\n")
    assert build_source_artifact(src, tmp_path / "out").sha256 != before


def test_caches_and_secrets_are_left_out(tmp_path: Path) -> None:
    src = make_source(tmp_path)
    clean = build_source_artifact(src, tmp_path / "clean")
    add_junk(src)
    (src / ".env.example").write_text("SECRET_KEY=\n")
    art = build_source_artifact(src, tmp_path / "junk")
    listed = names(art.path)
    assert not [n for n in listed if "pycache" in n or n.endswith((".pyc", ".db", ".key"))]
    assert not [n for n in listed if ".venv" in n or n in ("app/.env", "app/.env.production")]
    assert "app/.env.example" in listed
    assert sorted(set(names(clean.path)) | {"app/.env.example"}) == sorted(listed)


def test_entries_are_sorted_and_normalised(tmp_path: Path) -> None:
    src = make_source(tmp_path)
    art = build_source_artifact(src, tmp_path / "out")
    with tarfile.open(art.path) as tar:
        members = tar.getmembers()
    listed = [m.name for m in members]
    assert listed == [
        "app",
        "app/VERSION",
        "app/main.py",
        "app/requirements.txt",
        "app/routes",
        "app/routes/health.py",
        "app/run.sh",
    ]
    assert {(m.uid, m.gid, m.uname, m.mtime) for m in members} == {(0, 0, "root", FIXED_MTIME)}
    modes = {m.name: m.mode for m in members}
    assert modes["app/run.sh"] == 0o755
    assert modes["app/main.py"] == 0o644
    assert modes["app/routes"] == 0o755


def test_archive_unpacks_into_a_release_directory(tmp_path: Path) -> None:
    src = make_source(tmp_path)
    art = build_source_artifact(src, tmp_path / "out")
    release = tmp_path / "releases" / "r1"
    release.mkdir(parents=True)
    with tarfile.open(art.path) as tar:
        tar.extractall(release, filter="data")
    assert (release / "app" / "routes" / "health.py").read_text() == (
        (src / "routes" / "health.py").read_text()
    )


def test_version_and_manifest(tmp_path: Path) -> None:
    src = make_source(tmp_path)
    art = build_source_artifact(src, tmp_path / "out")
    assert art.version == "1.4.2"
    assert art.files == 5
    assert load_artifact(art.path) == art


def test_tampered_archive_is_refused(tmp_path: Path) -> None:
    art = build_source_artifact(make_source(tmp_path), tmp_path / "out")
    with art.path.open("r+b") as fh:
        fh.seek(600)
        fh.write(b"Z")
    with pytest.raises(ArtifactError, match="does not match"):
        load_artifact(art.path)


def git(cwd: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "GIT_CONFIG_GLOBAL": "/dev/null",
    }
    out = subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)
    return out.stdout.decode().strip()


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_commit_and_dirty_flag(tmp_path: Path) -> None:
    src = make_source(tmp_path)
    assert build_source_artifact(src, tmp_path / "out").commit is None
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "app")
    git(tmp_path, "commit", "-q", "-m", "v1")
    head = git(tmp_path, "rev-parse", "HEAD")
    clean = build_source_artifact(src, tmp_path / "out")
    assert (clean.commit, clean.dirty) == (head, False)
    (src / "main.py").write_text("changed\n")
    dirty = build_source_artifact(src, tmp_path / "out")
    assert (dirty.commit, dirty.dirty) == (head, True)
    assert dirty.sha256 != clean.sha256


def test_symlink_escaping_the_source_is_refused(tmp_path: Path) -> None:
    src = make_source(tmp_path)
    (tmp_path / "secret.txt").write_text("outside")
    (src / "link").symlink_to("../secret.txt")
    with pytest.raises(ArtifactError, match="outside"):
        build_source_artifact(src, tmp_path / "out")


def test_symlink_inside_the_source_is_kept(tmp_path: Path) -> None:
    src = make_source(tmp_path)
    (src / "current.py").symlink_to("main.py")
    art = build_source_artifact(src, tmp_path / "out")
    with tarfile.open(art.path) as tar:
        member = tar.getmember("app/current.py")
    assert member.issym() and member.linkname == "main.py"


def test_missing_source_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match="not found"):
        build_source_artifact(tmp_path / "nope", tmp_path / "out")
