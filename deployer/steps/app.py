"""The app: .env from settings and secrets, the release install, and its migrations."""

from __future__ import annotations

import shlex

from deployer.release import install
from deployer.release.layout import Layout, new_release_id
from deployer.steps.base import Change, Context, FileSpec, Step, file_changes, write_files
from deployer.target import Target


def env_escape(value: str) -> str:
    """Escape a value for a double-quoted systemd EnvironmentFile / dotenv assignment."""
    for char in ("\\", '"', "`", "$"):
        value = value.replace(char, "\\" + char)
    return value


def env_content(target: Target) -> str:
    spec = target.app
    values = dict(spec.env)
    values.update({k: v.get_secret_value() for k, v in spec.secrets.items()})
    # The release directory is read-only: a default SQLite database lives in shared/data.
    values.setdefault("DATABASE_URL", f"sqlite:////srv/{spec.name}/shared/data/{spec.name}.db")
    lines = [f"# Managed by deployer: settings and secrets of {spec.name} (never printed)."]
    lines += [f'{k}="{env_escape(v)}"' for k, v in sorted(values.items())]
    return "\n".join(lines) + "\n"


def env_file(target: Target) -> FileSpec:
    app = target.app.name
    return FileSpec(f"/srv/{app}/shared/.env", env_content(target), "0600", app, app, secret=True)


class EnvFile(Step):
    """Settings and secrets in /srv/<app>/shared/.env (0600, app user); content never shown."""

    name = "env file"

    def check(self, ctx: Context) -> list[Change]:
        changes = file_changes(ctx.facts, [env_file(ctx.target)])
        ctx.restart = ctx.restart or bool(changes and ctx.facts.get("current"))
        return changes

    def apply(self, ctx: Context, changes: list[Change]) -> str:
        write_files(ctx, [env_file(ctx.target)], changes)
        return ""


def installed_releases(ctx: Context) -> dict[str, str]:
    """Complete release dirs on the host: id -> artifact sha256."""
    out = {}
    for line in ctx.facts.lines("releases"):
        parts = line.split()
        if len(parts) == 3 and parts[2] == "ok":
            out[parts[0]] = parts[1]
    return out


class Release(Step):
    """Upload the artifact and install it into releases/<id>/ with its own venv."""

    name = "app release"

    def check(self, ctx: Context) -> list[Change]:
        facts = ctx.facts
        current = facts.get("current")
        port = facts.kv("current_env").get("PORT")
        ctx.port = int(port) if port and port.isdigit() else install.PORTS[0]
        if current and facts.get("current_sha") == ctx.artifact.sha256 and facts.get(
            "current_installed"
        ):
            ctx.release_id = current
            self.reuse = True
            workers = str(ctx.target.app.workers)
            if facts.kv("current_env").get("WEB_CONCURRENCY") != workers:
                ctx.restart = True
                return [Change(f"set WEB_CONCURRENCY={workers} for release {current}")]
            return []
        ctx.old_release = current
        ctx.new_release = True
        ctx.port = install.other_port(int(port) if port and port.isdigit() else None)
        reuse = [rid for rid, sha in installed_releases(ctx).items() if sha == ctx.artifact.sha256]
        if reuse:
            ctx.release_id = sorted(reuse)[-1]
            self.reuse = True
            return [Change(f"switch to installed release {ctx.release_id}")]
        ctx.release_id = new_release_id(ctx.artifact.sha256)
        self.reuse = False
        short = ctx.artifact.sha256[:12]
        return [Change(f"install release {ctx.release_id} (artifact {short}) on port {ctx.port}")]

    def apply(self, ctx: Context, changes: list[Change]) -> str:
        layout = Layout(ctx.app)
        if self.reuse:
            ctx.remote.sh(
                f"printf '%s' {shlex.quote(install.release_env(ctx.port, ctx.target.app.workers))}"
                f" > {shlex.quote(str(layout.release(ctx.release_id)))}/release.env",
                what="set release port",
            )
            return ""
        install.install_release(
            ctx.remote,
            layout,
            ctx.artifact,
            ctx.release_id,
            port=ctx.port,
            workers=ctx.target.app.workers,
            deps=ctx.target.app.dependencies(),
        )
        return ""


def migrate_argv(target: Target, release_dir: str) -> list[str]:
    """alembic upgrade head as the app user with the app's environment (secrets stay in files)."""
    app = target.app.name
    return [
        "systemd-run", "--quiet", "--wait", "--pipe", "--collect",
        "--uid", app, "--gid", app,
        "-p", f"EnvironmentFile=/srv/{app}/shared/.env",
        "-p", f"WorkingDirectory={release_dir}",
        f"{release_dir}/venv/bin/alembic", "-c", str(target.app.migrations), "upgrade", "head",
    ]  # fmt: skip


class Migrations(Step):
    """Database migrations of the serving release (once per release), when configured."""

    name = "migrations"

    def check(self, ctx: Context) -> list[Change]:
        if not ctx.target.app.migrations:
            return []
        if not ctx.new_release and ctx.facts.get("current_migrated"):
            return []
        return [Change(f"alembic upgrade head ({ctx.target.app.migrations})")]

    def apply(self, ctx: Context, changes: list[Change]) -> str:
        rel = str(Layout(ctx.app).release(ctx.release_id))
        ctx.remote.run(migrate_argv(ctx.target, rel), sudo=True, what="migrations")
        ctx.remote.run(["touch", f"{rel}/.migrated"], sudo=True)
        return ""
