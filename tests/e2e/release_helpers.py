"""Helpers for the release end-to-end tests: app versions, a deployer.toml over sandbox hosts,
the real CLI, the host's ledger, and load through nginx over HTTPS."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bootstrap_helpers import REPO, deployer, write_outputs

from deployer.release.loadcheck import Background, LoadResult, run_load
from deployer.sandbox import Host

# A strict client (no retry): >= 5,000 requests, 20 at a time, through nginx over HTTPS.
LOAD = {"requests": 5000, "concurrency": 20, "max_seconds": 300}

IMPORT_ERROR = "import module_that_does_not_exist  # broken on purpose\n"
FAILING_MIGRATION = '''"""fails on purpose

Revision ID: 9999
Revises: 0001
"""

revision = "9999"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    raise RuntimeError("migration 9999 fails on purpose")


def downgrade() -> None:
    pass
'''


UNREACHABLE_DB = (
    'import os\n\nos.environ["DATABASE_URL"] = "postgresql+psycopg://app@127.0.0.1:9/none"\n'
)


def make_version(root: Path, version: str, broken: str = "") -> Path:
    """A project holding a copy of the sample app with app/VERSION = version; ``broken`` picks a
    defect: 'import' (import error), 'health' (/health answers 500), 'migration' (alembic
    fails), 'db' (its database is unreachable: /ready answers 503); 'slow' is no defect: it
    boots 4 s late, so a deploy of it holds the lock that long.
    Returns the project root."""
    src = root / f"v{version}-{broken or 'ok'}" / "app"
    if src.exists():
        return src.parent
    shutil.copytree(REPO / "app", src, ignore=shutil.ignore_patterns("__pycache__", "*.db"))
    (src / "VERSION").write_text(version + "\n")
    if broken == "import":
        main = src / "main.py"
        main.write_text(IMPORT_ERROR + main.read_text())
    elif broken == "health":
        health = src / "routes" / "health.py"
        text = health.read_text()
        ok = 'return Health(status="ok", version=settings.app_version)'
        assert ok in text
        health.write_text(text.replace(ok, 'raise RuntimeError("health broken on purpose")'))
    elif broken == "slow":
        main = src / "main.py"
        main.write_text("import time\n\ntime.sleep(4)\n" + main.read_text())
    elif broken == "db":  # its own database setting names one nobody listens on
        main = src / "main.py"
        main.write_text(UNREACHABLE_DB + main.read_text())
    elif broken == "migration":
        (src / "migrations" / "versions" / "29990101_9999_fails.py").write_text(FAILING_MIGRATION)
    return src.parent


@dataclass
class Stage:
    """One sandbox host described as a deployer.toml stage."""

    name: str
    host: Host
    config: Path
    tmp: Path

    @property
    def outputs(self) -> dict:
        return self.host.outputs()

    def cli(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        return deployer(*args, "--config", str(self.config), timeout=timeout)

    def deploy(self, source: Path, *extra: str) -> subprocess.CompletedProcess:
        return self.cli("deploy", self.name, "--source", str(source), *extra)

    def ledger(self) -> dict:
        text = self.host.ssh("sudo cat /srv/app/state/releases.json").stdout
        return {r["id"]: r for r in json.loads(text)["releases"]}

    def current(self) -> dict:
        return next(r for r in self.ledger().values() if r["status"] == "current")

    def release_dirs(self) -> list[str]:
        return self.host.ssh("ls -1 /srv/app/releases").stdout.split()

    def load_kwargs(self) -> dict:
        out = self.outputs
        return {"resolve_to": out["address"], "cafile": out["acme_root"]}

    @property
    def health_url(self) -> str:
        return f"https://{self.outputs['domain']}/health"

    def background_load(self) -> Background:
        return Background(self.health_url, **LOAD, **self.load_kwargs())

    def sample(self, requests: int = 200) -> LoadResult:
        return run_load(self.health_url, requests=requests, concurrency=10, **self.load_kwargs())


def write_config(tmp: Path, stages: dict[str, Host], source: Path) -> Path:
    """deployer.toml with one stage per host (outputs file + the sample app's settings)."""
    lines = []
    for name, host in stages.items():
        outputs = write_outputs(host, tmp)
        lines += [
            f"[stages.{name}]",
            f'outputs = "{outputs}"',
            "",
            f"[stages.{name}.app]",
            f'source = "{source}"',
            'include = ["app"]',
            'requirements = "app/requirements.txt"',
            'version_file = "app/VERSION"',
            'ready_path = "/ready"',
            "keep_warm = 3600",  # the window outlives the tests; ending it is tested explicitly
            'migrations = "app/alembic.ini"',
            'env = { ENVIRONMENT = "production" }',
            'secrets_from_env = ["SECRET_KEY"]',
            "",
        ]
    path = tmp / "deployer.toml"
    path.write_text("\n".join(lines))
    return path


def bootstrap(stage: Stage) -> None:
    proc = stage.cli("bootstrap", "--stage", stage.name)
    assert proc.returncode == 0, proc.stdout + proc.stderr
