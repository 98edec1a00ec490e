"""The hardened systemd template unit, the serving instance, and the switch to it."""

from __future__ import annotations

from deployer.release import switch
from deployer.release.audit import AuditEntry, append_script
from deployer.release.layout import Layout
from deployer.release.ledger import Ledger
from deployer.release.ledger import Release as LedgerRelease
from deployer.release.lock import now_iso, whoami
from deployer.steps.base import Change, Context, FileSpec, Step, file_changes, write_files
from deployer.steps.render import render
from deployer.target import Target

LOCAL_ONLY = ("IPAddressDeny=any", "IPAddressAllow=localhost")


def unit_path(app: str) -> str:
    return f"/etc/systemd/system/{app}@.service"


def unit_file(target: Target) -> FileSpec:
    app = target.app.name
    content = render(
        "app@.service.j2",
        app=app,
        user=app,
        releases=f"/srv/{app}/releases",
        env_file=f"/srv/{app}/shared/.env",
        data_dir=f"/srv/{app}/shared/data",
        asgi=target.app.asgi,
        gunicorn_config=target.app.gunicorn_config(),
        ip_policy=LOCAL_ONLY if target.app.local_network_only else (),
    )
    return FileSpec(unit_path(app), content)


class Service(Step):
    """``<app>@.service`` rendered and loaded; the release's instance enabled, running, healthy."""

    name = "systemd"

    def check(self, ctx: Context) -> list[Change]:
        changes = file_changes(ctx.facts, [unit_file(ctx.target)])
        unit = f"{ctx.app}@{ctx.release_id}.service"
        active = ctx.facts.units.get(unit) == "active"
        enabled = unit in ctx.facts.lines("unit_enabled")
        if ctx.new_release or not active or not enabled:
            changes.append(Change(f"start {unit}"))
        elif changes or ctx.restart:
            changes.append(Change(f"restart {unit}"))
        return changes

    def apply(self, ctx: Context, changes: list[Change]) -> str:
        unit_spec = unit_file(ctx.target)
        write_files(ctx, [unit_spec], changes)
        if any(c.summary.endswith(unit_spec.path) for c in changes):
            ctx.remote.run(["systemctl", "daemon-reload"], sudo=True)
        layout = Layout(ctx.app)
        restart = any(c.summary.startswith("restart") for c in changes)
        start = any(c.summary.startswith(("start", "restart")) for c in changes)
        if start:
            switch.start_instance(ctx.remote, layout, ctx.release_id, restart=restart)
            switch.wait_healthy(
                ctx.remote, layout, ctx.release_id, ctx.port, ctx.target.app.health_path
            )
        return ""


class Switch(Step):
    """Traffic is on the serving release: old instances stopped, ``current`` and ledger updated."""

    name = "switch"

    def check(self, ctx: Context) -> list[Change]:
        unit = f"{ctx.app}@{ctx.release_id}.service"
        others = [u for u, state in ctx.facts.units.items() if u != unit and state == "active"]
        changes = [Change(f"stop {u}") for u in sorted(others)]
        if ctx.facts.get("current") != ctx.release_id:
            changes.append(Change(f"current -> releases/{ctx.release_id}"))
        ledger = _ledger(ctx)
        cur = ledger.current()
        if cur is None or cur.id != ctx.release_id:
            changes.append(Change(f"record {ctx.release_id} as current in releases.json"))
        return changes

    def apply(self, ctx: Context, changes: list[Change]) -> str:
        layout = Layout(ctx.app)
        stops = [c.summary.split()[-1] for c in changes if c.summary.startswith("stop ")]
        switch.stop_instances(ctx.remote, stops)
        if any(c.summary.startswith("current") for c in changes):
            switch.set_current(ctx.remote, layout, ctx.release_id)
        if any(c.summary.startswith("record") for c in changes):
            ledger = _ledger(ctx)
            art = ctx.artifact
            if ledger.get(ctx.release_id) is None:
                ledger = ledger.add(
                    LedgerRelease(
                        id=ctx.release_id, sha256=art.sha256, version=art.version or "",
                        commit=art.commit or "", time=now_iso(), who=whoami(),
                        note="bootstrap",
                    )
                )  # fmt: skip
            ledger = ledger.make_current(ctx.release_id)
            ctx.remote.write_file(str(layout.ledger), ledger.to_json().encode(), mode="0640")
            entry = AuditEntry(
                "deploy", "ok", ctx.release_id, art.sha256, art.version or "", "bootstrap"
            )
            ctx.remote.sh(append_script(layout.audit_log, entry), what="audit log")
        return ""


def _ledger(ctx: Context) -> Ledger:
    try:
        return Ledger.from_json(ctx.facts.raw.get("ledger", ""))
    except (ValueError, KeyError, TypeError):
        return Ledger()
