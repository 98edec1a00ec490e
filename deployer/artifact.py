"""Reproducible source artifacts: the same project always yields the same bytes and hash.

An artifact is an uncompressed tar of exactly the project's shipped entries (``deployer.project``:
its root, or the top-level entries it includes), relative to the root so that it unpacks into the
release root; sorted, with normalised owners, modes and timestamps. Its sha256 is its identity; a
JSON manifest beside it records the version (the project's VERSION file, if it ships one) and the
git commit (when the project is in a repo). The files the app names (requirements, alembic.ini,
...) are checked against the same entries while packing. The archive is not compressed so that its
hash never depends on the local zlib build.
"""

from __future__ import annotations

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
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from deployer.project import Project, ProjectError

if TYPE_CHECKING:
    from deployer.target import AppSpec

# 1980-01-01T00:00:00Z: the earliest time a zip can hold; tar tools warn about older stamps.
FIXED_MTIME = 315532800

_ROOT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class ArtifactError(ProjectError):
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


def _normal_mode(st_mode: int) -> int:
    if stat.S_ISDIR(st_mode) or st_mode & 0o111:
        return 0o755
    return 0o644


def _tarinfo(project: Project, rel: Path) -> tuple[tarfile.TarInfo, Path | None]:
    """A normalised header for one entry, and the file to read its content from (if any)."""
    src = project.root
    full = src / rel
    st = full.lstat()
    info = tarfile.TarInfo(rel.as_posix())
    info.mtime = FIXED_MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    info.mode = _normal_mode(st.st_mode)
    if stat.S_ISLNK(st.st_mode):
        target = os.readlink(full)
        resolved = (full.parent / target).resolve()
        root = src.resolve()
        shipped = resolved.is_relative_to(root) and project.ships(resolved.relative_to(root))
        if Path(target).is_absolute() or not shipped:
            raise ArtifactError(f"symlink {rel} points outside the artifact: {target}")
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
    project: Project,
    fileobj: io.BufferedIOBase,
    extra: dict[str, tuple[bytes, int]] | None = None,
) -> int:
    """Write the normalised tar of *project* to *fileobj*; return the number of regular files.

    *extra* maps top-level names to (content, mode): files added before the project's, such
    as a Dockerfile in a container build context.
    """
    clash = sorted(set(extra or {}) & project.files)
    if clash:
        raise ArtifactError(f"the project has its own {', '.join(clash)}: deployer writes it")
    count = 0
    with tarfile.open(fileobj=fileobj, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, (data, mode) in sorted((extra or {}).items()):
            tar.addfile(_file_info(name, len(data), mode), io.BytesIO(data))
            count += 1
        for rel in project.entries:
            info, content = _tarinfo(project, rel)
            if content is None:
                tar.addfile(info)
                continue
            with content.open("rb") as fh:
                tar.addfile(info, fh)
            count += 1
    return count


def read_version(project: Project, version_file: str) -> str | None:
    """The app version from the project's shipped *version_file*, if it has one."""
    text = project.read_text(version_file)
    return (text or "").strip() or None


def git_commit(src: Path, include: tuple[str, ...] = ()) -> tuple[str | None, bool]:
    """(HEAD commit, whether *src* (its *include* entries) has uncommitted changes), or
    (None, False) outside git."""
    git = shutil.which("git")
    if git is None:
        return None, False
    run = {"cwd": src, "capture_output": True, "text": True, "check": False}
    head = subprocess.run([git, "rev-parse", "--verify", "-q", "HEAD"], **run)
    if head.returncode != 0:
        return None, False
    status = subprocess.run([git, "status", "--porcelain", "--", *(include or ["."])], **run)
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
    project: Project,
    out_dir: Path,
    *,
    name: str = "app",
    required: Iterable[tuple[str, str]] = (),
    version_file: str = "VERSION",
) -> Artifact:
    """Build ``<out_dir>/<name>-<sha16>.tar`` from *project* and its manifest; return it.

    *required* names the files the app needs (what, project path): each must be in the
    artifact (``Project.require``), or nothing is written.
    """
    if not _ROOT_NAME.match(name):
        raise ArtifactError(f"invalid artifact name: {name!r}")
    project.require_all(required)
    tmp = temp_file(Path(out_dir), ".tar")
    try:
        with tmp.open("wb") as fh:
            files = write_tar(project, fh)
        path, sha = publish(tmp, Path(out_dir), name, ".tar")
    finally:
        tmp.unlink(missing_ok=True)
    commit, dirty = git_commit(project.root, project.include)
    artifact = Artifact(path, sha, read_version(project, version_file), commit, dirty, files)
    write_manifest(artifact)
    return artifact


def app_artifact(spec: AppSpec, out_dir: Path) -> Artifact:
    """The artifact of an app: its project, checked against the files the app names."""
    project = spec.project
    return build_source_artifact(
        project,
        out_dir,
        name=spec.name,
        required=spec.required_files(project),
        version_file=spec.version_file or "VERSION",
    )


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
    data.pop("root", None)  # manifests written before the project became the release root
    artifact = Artifact(**data)
    actual = sha256_file(path)
    if actual != artifact.sha256:
        raise ArtifactError(f"{path}: sha256 {actual} does not match manifest {artifact.sha256}")
    return artifact
