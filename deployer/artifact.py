"""Reproducible source artifacts: the same app source always yields the same bytes and hash.

An artifact is an uncompressed tar of the app directory (entries under ``<root>/``, ``app/`` by
default), sorted, with normalised owners, modes and timestamps, and without caches, virtualenvs,
local databases or secrets. Its sha256 is its identity; a JSON manifest beside it records the
version (``VERSION`` in the source, if present) and the git commit (when the source is in a repo).
The archive is not compressed so that its hash never depends on the local zlib build.
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import json
import os
import re
import shutil
import stat
import subprocess
import tarfile
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

# 1980-01-01T00:00:00Z: the earliest time a zip can hold; tar tools warn about older stamps.
FIXED_MTIME = 315532800

DEFAULT_EXCLUDES: tuple[str, ...] = (
    "__pycache__",
    "*.pyc",
    "*.pyo",
    ".venv",
    "venv",
    ".git",
    ".hg",
    ".pytest_cache",
    ".ruff_cache",
    ".mypy_cache",
    "node_modules",
    "*.egg-info",
    ".DS_Store",
    ".env",
    ".env.*",
    "*.db",
    "*.sqlite",
    "*.sqlite3",
    "*.db-journal",
    "*.pem",
    "*.key",
    "*.log",
    "*.swp",
    "*~",
)
# Templates for .env files are safe to ship and documented as such.
KEEP = (".env.example", ".env.sample", ".env.template")

_ROOT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class ArtifactError(ValueError):
    """The source cannot be packaged safely (missing, symlink escaping it, special file...)."""


@dataclass(frozen=True)
class Artifact:
    """A built artifact: where it is and what it contains."""

    path: Path
    sha256: str
    version: str | None = None
    commit: str | None = None
    dirty: bool = False
    files: int = 0
    root: str = "app"

    @property
    def short(self) -> str:
        """Short form of the hash used in file names and release ids."""
        return self.sha256[:16]

    @property
    def manifest_path(self) -> Path:
        return manifest_path(self.path)

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["path"] = str(self.path)
        return data


def manifest_path(archive: Path) -> Path:
    """The JSON manifest that sits beside an archive."""
    return archive.with_name(archive.name + ".json")


def is_excluded(name: str, excludes: Iterable[str] = DEFAULT_EXCLUDES) -> bool:
    """True if a file or directory *name* (one path component) matches an exclude pattern."""
    if name in KEEP:
        return False
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in excludes)


def iter_source_files(src: Path, excludes: Iterable[str] = DEFAULT_EXCLUDES) -> Iterator[Path]:
    """Yield paths under *src* (relative, directories included) in a stable, sorted order."""
    excludes = tuple(excludes)

    def walk(rel: Path) -> Iterator[Path]:
        entries = sorted(os.scandir(src / rel), key=lambda e: e.name)
        for entry in entries:
            if is_excluded(entry.name, excludes):
                continue
            child = rel / entry.name
            yield child
            if entry.is_dir(follow_symlinks=False):
                yield from walk(child)

    yield from walk(Path())


def _normal_mode(st_mode: int) -> int:
    if stat.S_ISDIR(st_mode) or st_mode & 0o111:
        return 0o755
    return 0o644


def _tarinfo(src: Path, rel: Path, root: str) -> tuple[tarfile.TarInfo, Path | None]:
    """A normalised header for one entry, and the file to read its content from (if any)."""
    full = src / rel
    st = full.lstat()
    info = tarfile.TarInfo(f"{root}/{rel.as_posix()}")
    info.mtime = FIXED_MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    info.mode = _normal_mode(st.st_mode)
    if stat.S_ISLNK(st.st_mode):
        target = os.readlink(full)
        resolved = (full.parent / target).resolve()
        if Path(target).is_absolute() or not resolved.is_relative_to(src.resolve()):
            raise ArtifactError(f"symlink {rel} points outside the source: {target}")
        info.type = tarfile.SYMTYPE
        info.linkname = target
        info.mode = 0o777
        return info, None
    if stat.S_ISDIR(st.st_mode):
        info.type = tarfile.DIRTYPE
        return info, None
    if not stat.S_ISREG(st.st_mode):
        raise ArtifactError(f"not a regular file, directory or symlink: {rel}")
    info.size = st.st_size
    return info, full


def _file_info(name: str, size: int, mode: int = 0o644) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, mode, FIXED_MTIME
    info.uname = info.gname = "root"
    return info


def write_tar(
    src: Path,
    fileobj: io.BufferedIOBase,
    root: str,
    excludes: Iterable[str] = DEFAULT_EXCLUDES,
    extra: dict[str, tuple[bytes, int]] | None = None,
) -> int:
    """Write the normalised tar of *src* to *fileobj*; return the number of regular files.

    *extra* maps top-level names to (content, mode): files added before the source tree, such
    as a Dockerfile beside ``app/`` in a container build context.
    """
    count = 0
    with tarfile.open(fileobj=fileobj, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, (data, mode) in sorted((extra or {}).items()):
            tar.addfile(_file_info(name, len(data), mode), io.BytesIO(data))
            count += 1
        top = tarfile.TarInfo(root)
        top.type, top.mode, top.mtime = tarfile.DIRTYPE, 0o755, FIXED_MTIME
        top.uname = top.gname = "root"
        tar.addfile(top)
        for rel in iter_source_files(src, excludes):
            info, content = _tarinfo(src, rel, root)
            if content is None:
                tar.addfile(info)
                continue
            with content.open("rb") as fh:
                tar.addfile(info, fh)
            count += 1
    return count


def read_version(src: Path) -> str | None:
    """The app version from ``VERSION`` in the source, if there is one."""
    path = src / "VERSION"
    if not path.is_file():
        return None
    return path.read_text(encoding="utf-8").strip() or None


def git_commit(src: Path) -> tuple[str | None, bool]:
    """(HEAD commit, whether *src* has uncommitted changes), or (None, False) outside git."""
    git = shutil.which("git")
    if git is None:
        return None, False
    run = {"cwd": src, "capture_output": True, "text": True, "check": False}
    head = subprocess.run([git, "rev-parse", "--verify", "-q", "HEAD"], **run)
    if head.returncode != 0:
        return None, False
    status = subprocess.run([git, "status", "--porcelain", "--", "."], **run)
    return head.stdout.strip(), bool(status.stdout.strip())


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def publish(tmp: Path, out_dir: Path, prefix: str, suffix: str) -> tuple[Path, str]:
    """Hash a finished temp file and move it to ``<prefix>-<sha16><suffix>`` in *out_dir*."""
    sha = sha256_file(tmp)
    final = out_dir / f"{prefix}-{sha[:16]}{suffix}"
    os.chmod(tmp, 0o644)
    os.replace(tmp, final)
    return final, sha


def temp_file(out_dir: Path, suffix: str) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=out_dir, prefix=".partial-", suffix=suffix)
    os.close(fd)
    return Path(name)


def build_source_artifact(
    src: Path,
    out_dir: Path,
    *,
    root: str | None = None,
    excludes: Iterable[str] = DEFAULT_EXCLUDES,
) -> Artifact:
    """Build ``<out_dir>/<root>-<sha16>.tar`` from *src* and its manifest; return the Artifact.

    Entries live under ``<root>/`` (default: the source directory's name), so unpacking into a
    release directory recreates e.g. ``app/`` there.
    """
    src = Path(src)
    if not src.is_dir():
        raise ArtifactError(f"source directory not found: {src}")
    root = root or src.resolve().name
    if not _ROOT_NAME.match(root):
        raise ArtifactError(f"invalid archive root name: {root!r}")
    tmp = temp_file(Path(out_dir), ".tar")
    try:
        with tmp.open("wb") as fh:
            files = write_tar(src, fh, root, excludes)
        path, sha = publish(tmp, Path(out_dir), root, ".tar")
    finally:
        tmp.unlink(missing_ok=True)
    commit, dirty = git_commit(src)
    artifact = Artifact(path, sha, read_version(src), commit, dirty, files, root)
    write_manifest(artifact)
    return artifact


def write_manifest(artifact: Artifact) -> None:
    data = artifact.to_dict()
    data["path"] = artifact.path.name
    text = json.dumps(data, indent=2, sort_keys=True) + "\n"
    artifact.manifest_path.write_text(text, encoding="utf-8")


def load_artifact(path: Path) -> Artifact:
    """Read an archive's manifest and check the archive still has the recorded hash."""
    path = Path(path)
    data = json.loads(manifest_path(path).read_text(encoding="utf-8"))
    data["path"] = path
    artifact = Artifact(**data)
    actual = sha256_file(path)
    if actual != artifact.sha256:
        raise ArtifactError(f"{path}: sha256 {actual} does not match manifest {artifact.sha256}")
    return artifact
