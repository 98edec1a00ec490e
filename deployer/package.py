"""Platform packages built from the app source, reproducibly (same input -> same bytes and hash).

- Cloud Run: a docker build context tar holding ``Dockerfile`` (templates/Dockerfile) and ``app/``;
  ``docker build - < cloudrun-<sha16>.tar`` builds the image.
- App Service: a zip holding ``app/``, ``requirements.txt`` (copied from app/) and ``startup.sh``
  (templates/appservice-startup.sh), run with ``WEBSITE_RUN_FROM_PACKAGE``.

Entries are stored uncompressed so that hashes never depend on the local zlib build.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

from deployer.artifact import (
    DEFAULT_EXCLUDES,
    Artifact,
    ArtifactError,
    build_source_artifact,
    iter_source_files,
    publish,
    temp_file,
    write_tar,
)
from deployer.steps.render import BUILTIN as TEMPLATES

ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Package:
    """A built platform package."""

    kind: str
    path: Path
    sha256: str

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "path": str(self.path), "sha256": self.sha256}


def _template(templates: Path, name: str) -> bytes:
    path = templates / name
    if not path.is_file():
        raise ArtifactError(f"template not found: {path}")
    return path.read_bytes()


def _requirements(src: Path) -> bytes:
    path = src / "requirements.txt"
    if not path.is_file():
        raise ArtifactError(f"{path} not found: the package needs pinned requirements")
    return path.read_bytes()


def build_cloudrun_context(src: Path, out_dir: Path, templates: Path = TEMPLATES) -> Package:
    """Write ``cloudrun-<sha16>.tar``: a docker build context (Dockerfile + app source)."""
    _requirements(src)
    extra = {"Dockerfile": (_template(templates, "Dockerfile"), 0o644)}
    tmp = temp_file(out_dir, ".tar")
    try:
        with tmp.open("wb") as fh:
            write_tar(src, fh, "app", DEFAULT_EXCLUDES, extra)
        path, sha = publish(tmp, out_dir, "cloudrun", ".tar")
    finally:
        tmp.unlink(missing_ok=True)
    return Package("cloudrun", path, sha)


def _zip_entry(name: str, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
    info.create_system = 3  # unix, so that external_attr carries the mode
    info.external_attr = mode << 16
    info.compress_type = zipfile.ZIP_STORED
    return info


def _zip_source(zf: zipfile.ZipFile, src: Path, root: str) -> None:
    for rel in iter_source_files(src):
        full = src / rel
        if full.is_symlink():
            raise ArtifactError(f"symlinks cannot go into the App Service zip: {rel}")
        name = f"{root}/{rel.as_posix()}"
        if full.is_dir():
            zf.writestr(_zip_entry(name + "/", 0o40755), b"")
            continue
        mode = 0o100755 if full.stat().st_mode & 0o111 else 0o100644
        zf.writestr(_zip_entry(name, mode), full.read_bytes())


def build_appservice_zip(src: Path, out_dir: Path, templates: Path = TEMPLATES) -> Package:
    """Write ``appservice-<sha16>.zip``: app source, requirements.txt and startup.sh."""
    top = {
        "requirements.txt": (_requirements(src), 0o100644),
        "startup.sh": (_template(templates, "appservice-startup.sh"), 0o100755),
    }
    tmp = temp_file(out_dir, ".zip")
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as zf:
            for name, (data, mode) in sorted(top.items()):
                zf.writestr(_zip_entry(name, mode), data)
            zf.writestr(_zip_entry("app/", 0o40755), b"")
            _zip_source(zf, src, "app")
        path, sha = publish(tmp, out_dir, "appservice", ".zip")
    finally:
        tmp.unlink(missing_ok=True)
    return Package("appservice", path, sha)


KINDS = ("source", "cloudrun", "appservice")


def build_all(
    src: Path, out_dir: Path, kinds: tuple[str, ...] = KINDS, templates: Path = TEMPLATES
) -> dict[str, Artifact | Package]:
    """Build the requested artifacts; keys are the kinds."""
    src, out_dir = Path(src), Path(out_dir)
    if not src.is_dir():
        raise ArtifactError(f"source directory not found: {src}")
    unknown = set(kinds) - set(KINDS)
    if unknown:
        raise ArtifactError(f"unknown package kind(s): {', '.join(sorted(unknown))}")
    built: dict[str, Artifact | Package] = {}
    if "source" in kinds:
        built["source"] = build_source_artifact(src, out_dir, root="app")
    if "cloudrun" in kinds:
        built["cloudrun"] = build_cloudrun_context(src, out_dir, templates)
    if "appservice" in kinds:
        built["appservice"] = build_appservice_zip(src, out_dir, templates)
    return built
