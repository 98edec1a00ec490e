"""Platform packages built from the app's project, reproducibly (same input -> same bytes, hash).

Each holds exactly the project's shipped entries (``deployer.project``, the same as the release
artifact) at its root, plus:
- Cloud Run: ``Dockerfile`` (templates/Dockerfile), a docker build context;
  ``docker build - < cloudrun-<sha16>.tar`` builds the image.
- App Service: ``requirements.txt`` (a copy of the project's requirements file, unless that is
  already ``requirements.txt`` at the root) and ``startup.sh`` (templates/appservice-startup.sh),
  run with ``WEBSITE_RUN_FROM_PACKAGE``.

Entries are stored uncompressed so that hashes never depend on the local zlib build.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

from deployer.artifact import (
    Artifact,
    ArtifactError,
    build_source_artifact,
    publish,
    temp_file,
    write_tar,
)
from deployer.project import Project, dependencies
from deployer.render import BUILTIN as TEMPLATES

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


def requirements_file(project: Project, requirements: str | None) -> str:
    """The project's requirements file (the platform images install one); checked shipped."""
    deps = dependencies(project, requirements)
    if deps.kind != "requirements":
        raise ArtifactError(
            f"platform packages install a requirements file; the project declares {deps.kind} "
            f"dependencies ({', '.join(deps.files)}): export one and pass --requirements"
        )
    return deps.files[0]


def build_cloudrun_context(
    project: Project, out_dir: Path, templates: Path = TEMPLATES, requirements: str | None = None
) -> Package:
    """Write ``cloudrun-<sha16>.tar``: a docker build context (Dockerfile + the project)."""
    requirements_file(project, requirements)
    extra = {"Dockerfile": (_template(templates, "Dockerfile"), 0o644)}
    tmp = temp_file(out_dir, ".tar")
    try:
        with tmp.open("wb") as fh:
            write_tar(project, fh, extra)
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


def _zip_source(zf: zipfile.ZipFile, project: Project) -> None:
    for rel in project.entries:
        full = project.root / rel
        if full.is_symlink():
            raise ArtifactError(f"symlinks cannot go into the App Service zip: {rel}")
        name = rel.as_posix()
        if full.is_dir():
            zf.writestr(_zip_entry(name + "/", 0o40755), b"")
            continue
        mode = 0o100755 if full.stat().st_mode & 0o111 else 0o100644
        zf.writestr(_zip_entry(name, mode), full.read_bytes())


def build_appservice_zip(
    project: Project, out_dir: Path, templates: Path = TEMPLATES, requirements: str | None = None
) -> Package:
    """Write ``appservice-<sha16>.zip``: the project, requirements.txt and startup.sh."""
    req = requirements_file(project, requirements)
    top = {"startup.sh": (_template(templates, "appservice-startup.sh"), 0o100755)}
    if req != "requirements.txt":
        top["requirements.txt"] = ((project.root / req).read_bytes(), 0o100644)
    clash = sorted(set(top) & project.files)
    if clash:
        raise ArtifactError(f"the project has its own {', '.join(clash)}: deployer writes it")
    tmp = temp_file(out_dir, ".zip")
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as zf:
            for name, (data, mode) in sorted(top.items()):
                zf.writestr(_zip_entry(name, mode), data)
            _zip_source(zf, project)
        path, sha = publish(tmp, out_dir, "appservice", ".zip")
    finally:
        tmp.unlink(missing_ok=True)
    return Package("appservice", path, sha)


KINDS = ("source", "cloudrun", "appservice")


def build_all(
    project: Project,
    out_dir: Path,
    kinds: tuple[str, ...] = KINDS,
    templates: Path = TEMPLATES,
    requirements: str | None = None,
) -> dict[str, Artifact | Package]:
    """Build the requested artifacts; keys are the kinds."""
    out_dir = Path(out_dir)
    unknown = set(kinds) - set(KINDS)
    if unknown:
        raise ArtifactError(f"unknown package kind(s): {', '.join(sorted(unknown))}")
    built: dict[str, Artifact | Package] = {}
    if "source" in kinds:
        deps = dependencies(project, requirements)
        required = [(f"dependencies file ({deps.kind})", f) for f in deps.files]
        built["source"] = build_source_artifact(project, out_dir, required=required)
    if "cloudrun" in kinds:
        built["cloudrun"] = build_cloudrun_context(project, out_dir, templates, requirements)
    if "appservice" in kinds:
        built["appservice"] = build_appservice_zip(project, out_dir, templates, requirements)
    return built
