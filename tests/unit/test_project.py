"""The project is the unit: one rule decides what ships and checks every file the app names."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from deployer.artifact import app_artifact
from deployer.project import Project, ProjectError, dependencies
from deployer.target import AppSpec


def svc_project(root: Path) -> Path:
    """A user's project: requirements.txt beside the package svc/, secrets lying around."""
    (root / "svc").mkdir(parents=True)
    (root / "svc" / "__init__.py").write_text("")
    (root / "svc" / "api.py").write_text("application = None\n")
    (root / "requirements.txt").write_text("fastapi==0.165.0\n")
    (root / "alembic.ini").write_text("[alembic]\n")
    (root / ".env").write_text("SECRET_KEY=do-not-ship\n")
    (root / "svc" / ".env.local").write_text("SECRET_KEY=do-not-ship\n")
    (root / "deploy.key").write_text("-----BEGIN PRIVATE KEY-----\n")
    (root / ".env.example").write_text("SECRET_KEY=\n")
    return root


def names(path: Path) -> list[str]:
    with tarfile.open(path) as tar:
        return tar.getnames()


def test_the_project_root_becomes_the_release_root(tmp_path: Path) -> None:
    root = svc_project(tmp_path / "proj")
    spec = AppSpec(source=root, asgi="svc.api:application", migrations="alembic.ini")
    art = app_artifact(spec, tmp_path / "out")
    assert names(art.path) == [
        ".env.example", "alembic.ini", "requirements.txt", "svc", "svc/__init__.py", "svc/api.py",
    ]  # fmt: skip
    assert not [n for n in names(art.path) if n.endswith((".env", ".env.local", ".key"))]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"requirements": "svc/req.txt"}, "requirements file svc/req.txt not found"),
        ({"migrations": "db/alembic.ini"}, "migrations config db/alembic.ini not found"),
        ({"version_file": "VERSION"}, "version file VERSION not found"),
        ({"requirements": "deploy.key"}, "deploy.key would not be in the artifact"),
        ({"include": ["svc"]}, "requirements.txt"),  # the root's requirements no longer ship
        ({"include": ["svc"], "requirements": "requirements.txt"}, r"outside include \(svc\)"),
        ({"include": ["nope"]}, "include: nope not found"),
    ],
)
def test_a_named_file_the_artifact_would_not_hold_is_refused(
    tmp_path: Path, fields: dict, message: str
) -> None:
    spec = AppSpec(source=svc_project(tmp_path / "proj"), asgi="svc.api:application", **fields)
    with pytest.raises(ProjectError, match=message):
        app_artifact(spec, tmp_path / "out")
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").glob("*.tar"))


def test_paths_outside_the_project_are_refused(tmp_path: Path) -> None:
    project = Project(svc_project(tmp_path / "proj"))
    (tmp_path / "outside.txt").write_text("x")
    for rel in ("../outside.txt", "/etc/passwd", "svc/../../outside.txt"):
        with pytest.raises(ProjectError, match="outside the project"):
            project.require("requirements file", rel)


def test_dependencies_as_the_project_declares_them(tmp_path: Path) -> None:
    root = svc_project(tmp_path / "proj")
    assert dependencies(Project(root)).kind == "requirements"
    (root / "pyproject.toml").write_text("[project]\nname = 'svc'\nversion = '1'\n")
    assert dependencies(Project(root)) == dependencies(Project(root), None)
    assert dependencies(Project(root)).files == ("pyproject.toml",)
    (root / "uv.lock").write_text("version = 1\n")
    locked = dependencies(Project(root))
    assert (locked.kind, locked.files) == ("locked", ("pyproject.toml", "uv.lock"))
    assert dependencies(Project(root), "requirements.txt").kind == "requirements"
    for name in ("pyproject.toml", "uv.lock", "requirements.txt"):
        (root / name).unlink()
    with pytest.raises(ProjectError, match="declares no dependencies"):
        dependencies(Project(root))


def test_the_sample_app_ships_only_its_package(tmp_path: Path) -> None:
    repo = Path(__file__).resolve().parents[2]
    spec = AppSpec(
        source=repo, include=("app",), requirements="app/requirements.txt",
        migrations="app/alembic.ini", version_file="app/VERSION",
    )  # fmt: skip
    art = app_artifact(spec, tmp_path)
    listed = names(art.path)
    assert {n.split("/")[0] for n in listed} == {"app"}
    assert "app/main.py" in listed and "app/alembic.ini" in listed
    assert art.version == (repo / "app" / "VERSION").read_text().strip()
    assert spec.gunicorn_config() == "app/gunicorn.conf.py"


def test_readiness_gates_the_switch_after_health() -> None:
    assert AppSpec().gate_paths == ("/health",)
    assert AppSpec(ready_path="/ready").gate_paths == ("/health", "/ready")
    with pytest.raises(ValueError, match="URL path"):
        AppSpec(ready_path="/../etc")
