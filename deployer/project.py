"""The project: the directory an app is deployed from, and exactly which of its files ship.

``source`` is the project root; unpacked, the artifact *is* the release root on the host.
``include`` may narrow it to some top-level entries (the sample app ships only ``app/`` of this
repository). Caches, virtualenvs, local databases and secrets (``.env``, keys) never ship.
Every other path of an app (requirements, ``pyproject.toml``, ``alembic.ini``, ``VERSION``) is
relative to the root and must name a file the artifact holds: ``Project.require`` is that one
rule, used by the local check before connecting and by the packer while it packs.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path, PurePosixPath

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


class ProjectError(ValueError):
    """A project path is missing, outside the project or not shipped; the message names it."""


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


@dataclass(frozen=True)
class Project:
    """A project root and the top-level entries that ship (all of them when ``include`` is
    empty)."""

    root: Path
    include: tuple[str, ...] = ()
    excludes: tuple[str, ...] = field(default=DEFAULT_EXCLUDES, repr=False)

    @cached_property
    def entries(self) -> tuple[Path, ...]:
        """Every entry the artifact holds (relative, directories included), sorted."""
        if not self.root.is_dir():
            raise ProjectError(f"project directory not found: {self.root}")
        out: list[Path] = []
        for rel in iter_source_files(self.root, self.excludes):
            if self.include and rel.parts[0] not in self.include:
                continue
            out.append(rel)
        missing = [n for n in self.include if Path(n) not in out]
        if missing:
            raise ProjectError(
                f"include: {', '.join(missing)} not found in the project {self.root} "
                "(or excluded: caches, virtualenvs, .env and key files never ship)"
            )
        return tuple(out)

    @cached_property
    def files(self) -> frozenset[str]:
        """POSIX paths of the regular files (and links to them) the artifact holds."""
        return frozenset(
            rel.as_posix() for rel in self.entries if not (self.root / rel).is_dir()
        )

    def has(self, rel: str) -> bool:
        return rel in self.files

    def ships(self, rel: Path) -> bool:
        """True if *rel* (a file or directory) is one of the artifact's entries (or its root)."""
        return rel == Path() or rel in self._entry_set

    @cached_property
    def _entry_set(self) -> frozenset[Path]:
        return frozenset(self.entries)

    def require(self, what: str, rel: str) -> None:
        """*rel* (the project's *what* file) must be a file the artifact holds, else say why."""
        path = PurePosixPath(rel)
        if path.is_absolute() or ".." in path.parts:
            raise ProjectError(f"{what} {rel} is outside the project {self.root}")
        if self.has(path.as_posix()):
            return
        full = self.root / path
        if not full.is_file():
            raise ProjectError(f"{what} {rel} not found in the project {self.root}")
        if self.include and path.parts[0] not in self.include:
            raise ProjectError(
                f"{what} {rel} would not be in the artifact: it is outside include "
                f"({', '.join(self.include)})"
            )
        raise ProjectError(f"{what} {rel} would not be in the artifact (an excluded name)")

    def require_all(self, paths: Iterable[tuple[str, str]]) -> None:
        for what, rel in paths:
            self.require(what, rel)

    def read_text(self, rel: str) -> str | None:
        """A shipped file's text, or None when the artifact does not hold it."""
        if not self.has(rel):
            return None
        return (self.root / rel).read_text(encoding="utf-8")


@dataclass(frozen=True)
class Dependencies:
    """How the release's venv is built: a requirements file, the project's ``pyproject.toml``
    (installed non-editable), or its ``uv.lock`` (exactly the locked set). ``files`` are the
    project files that define the venv."""

    kind: str  # "requirements" | "pyproject" | "locked"
    files: tuple[str, ...]


def dependencies(project: Project, requirements: str | None = None) -> Dependencies:
    """The dependencies as the project declares them; *requirements* (a file) when given."""
    if requirements:
        project.require("requirements file", requirements)
        return Dependencies("requirements", (requirements,))
    if project.has("pyproject.toml"):
        if project.has("uv.lock"):
            return Dependencies("locked", ("pyproject.toml", "uv.lock"))
        return Dependencies("pyproject", ("pyproject.toml",))
    if project.has("requirements.txt"):
        return Dependencies("requirements", ("requirements.txt",))
    raise ProjectError(
        f"the project {project.root} declares no dependencies: it ships no pyproject.toml or "
        "requirements.txt at its root (or set requirements = PATH, relative to the project)"
    )
