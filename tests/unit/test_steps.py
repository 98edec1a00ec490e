"""Steps without a host: facts parsing, diffing desired state, and the commands they build."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from deployer.release.layout import new_release_id
from deployer.steps import app, facts, plan, service, system, web
from deployer.steps.base import Context, FileSpec, file_changes
from deployer.target import build_target

REPO = Path(__file__).resolve().parents[2]
# The sample app's project: this repository, shipping only app/.
SAMPLE = {"source": str(REPO), "include": ["app"], "requirements": "app/requirements.txt"}
SHA = "ab" * 32
RID = new_release_id(SHA, datetime(2026, 11, 27, 12, 0, tzinfo=UTC))


@dataclass
class FakeArtifact:
    sha256: str = SHA
    version: str = "1.0.0"
    commit: str = ""
    path: Path = Path("/nonexistent")


class NoRemote:
    """Steps must not touch the host while checking a converged one."""

    def __getattr__(self, name):
        raise AssertionError(f"remote.{name} used during a no-op check")


def target(**over):
    data = {"host": "203.0.113.10", "domain": "api.example.com", "acme_server":
            "https://acme.test/dir", "app": {**SAMPLE}}
    data.update(over)
    return build_target(data)


def section(name: str, body: str) -> str:
    return f"@@{name}\n{body}\n"


def converged_output(t, *, port: int = 8001) -> str:
    """What the facts script prints on a host that already matches the target."""
    name = t.app.name
    files = [
        app.env_file(t), service.unit_file(t), *web.nginx_files(t, port=port, tls=True),
        *web.certbot_files(t), web.nftables_file(web.firewall_ports(["22"])),
    ]  # fmt: skip
    stats = [f"{p}|{m}|{o}|{g}" for p, m, o, g in system.wanted_dirs(name)]
    stats += [f"{f.path}|{f.mode.lstrip('0')}|{f.owner}|{f.group}" for f in files]
    available, enabled = web.site_paths(name)
    unit = f"{name}@{RID}.service"
    return "".join([
        section("os", "debian bookworm"),
        section("busy", ""),
        section("packages", "\n".join(f"{p}=ii " for p in system.wanted_packages(True))),
        section("user", f"{name}:/srv/{name}:/usr/sbin/nologin"),
        section("stat", "\n".join(stats)),
        section("sha", "\n".join(f"{f.sha256}  {f.path}" for f in files)),
        section("links", f"{enabled}>{available}"),
        section("current", RID),
        section("current_sha", SHA),
        section("current_installed", "yes"),
        section("current_migrated", "yes"),
        section("current_env", f"PORT={port}\nWEB_CONCURRENCY=2"),
        section("releases", f"{RID} {SHA} ok"),
        section("ledger", f'{{"releases": [{{"id": "{RID}", "sha256": "{SHA}", '
                          '"status": "current"}]}'),
        section("units", f"{unit} loaded active running app release"),
        section("unit_enabled", unit),
        section("nginx", "active"),
        section("cert", "yes"),
        section("cert_server", "https://acme.test/dir"),
        section("firewall", "usable\nloaded\nenabled"),
        section("virt", "none"),
        section("sshd_ports", "22"),
    ])  # fmt: skip


def check_all(t, output: str, artifact=None) -> dict[str, list[str]]:
    ctx = Context(target=t, remote=NoRemote(), facts=facts.parse_facts(output),
                  artifact=artifact or FakeArtifact(), dry_run=True)
    out = {}
    for step in plan.bootstrap_steps():
        out[step.name] = [c.summary for c in step.check(ctx)]
    return out


def test_converged_host_needs_no_change() -> None:
    t = target(app={**SAMPLE, "migrations": "app/alembic.ini"})
    changes = check_all(t, converged_output(t))
    assert changes == {name: [] for name in changes}


def test_new_artifact_installs_a_release_on_the_other_port() -> None:
    t = target()
    ctx = Context(target=t, remote=NoRemote(), facts=facts.parse_facts(converged_output(t)),
                  artifact=FakeArtifact(sha256="cd" * 32), dry_run=True)
    release = app.Release()
    (change,) = release.check(ctx)
    assert change.summary.startswith("install release ") and "on port 8002" in change.summary
    assert ctx.new_release and ctx.old_release == RID and ctx.port == 8002
    assert [c.summary for c in web.Nginx().check(ctx)] == [
        "update /etc/nginx/deployer/app-upstream.conf"
    ]
    switch = [c.summary for c in service.Switch().check(ctx)]
    assert f"stop app@{RID}.service" in switch


def test_changed_setting_restarts_the_instance() -> None:
    t = target()
    output = converged_output(t)
    t2 = target(app={**SAMPLE, "env": {"LOG_LEVEL": "debug"}})
    changes = check_all(t2, output)
    assert changes["env file"] == ["update /srv/app/shared/.env"]
    ctx = Context(target=t2, remote=NoRemote(), facts=facts.parse_facts(output),
                  artifact=FakeArtifact(), dry_run=True, restart=True, release_id=RID)
    assert service.Service().check(ctx) == [service.Change(f"restart app@{RID}.service")]


def test_fresh_host_plans_everything() -> None:
    t = target()
    changes = check_all(t, section("os", "debian bookworm") + section("virt", "none"))
    assert changes["packages"] == ["install nginx certbot python3-venv nftables"]
    assert changes["user"] == ["create system user app"]
    assert len(changes["dirs"]) == len(system.wanted_dirs("app"))
    assert changes["env file"] == ["create /srv/app/shared/.env"]
    assert changes["app release"][0].startswith("install release")
    assert changes["certificate"][-1] == "issue certificate for api.example.com"


def test_file_changes_detects_content_and_mode() -> None:
    spec = FileSpec("/etc/x.conf", "a\n", "0644")
    f = facts.parse_facts(section("sha", f"{spec.sha256}  /etc/x.conf")
                          + section("stat", "/etc/x.conf|600|root|root"))
    assert [c.summary for c in file_changes(f, [spec])] == ["fix mode/owner of /etc/x.conf"]
    f = facts.parse_facts(section("sha", f"{'0' * 64}  /etc/x.conf"))
    assert [c.summary for c in file_changes(f, [spec])] == ["update /etc/x.conf"]
    secret = FileSpec("/srv/app/shared/.env", "K=v\n", secret=True)
    (created,) = file_changes(facts.parse_facts(""), [secret])
    assert "K=v" not in created.diff and "not shown" in created.diff


def test_facts_script_quotes_and_parses() -> None:
    script = plan.facts_script(target())
    assert "@@sha" in script and " /srv/app/shared/.env " in script
    parsed = facts.parse_facts("@@units\napp@x.service loaded active running d\n@@packages\n"
                               "nginx=ii \ncertbot=un \n")
    assert parsed.units == {"app@x.service": "active"}
    assert parsed.packages == {"nginx"}


def test_commands_are_argv_lists_without_secrets() -> None:
    t = target(app={**SAMPLE, "migrations": "app/alembic.ini",
                    "secrets": {"SECRET_KEY": "topsecret-value"}})
    argv = app.migrate_argv(t, "/srv/app/releases/" + RID)
    assert "topsecret-value" not in " ".join(argv)
    assert argv[:2] == ["systemd-run", "--quiet"] and "EnvironmentFile=/srv/app/shared/.env" in argv
    assert system.useradd_argv("app")[-1] == "app"
    assert "--shell" in system.useradd_argv("app")


@pytest.mark.parametrize("force", [False, True])
def test_certbot_always_names_the_acme_server(force: bool, tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("CA")
    t = target(acme_ca=str(ca))
    argv = web.certbot_argv(t, force=force)
    assert argv[:2] == ["env", "REQUESTS_CA_BUNDLE=/etc/deployer/acme-ca.pem"]
    assert argv[argv.index("--server") + 1] == "https://acme.test/dir"
    assert ("--force-renewal" in argv) is force
    assert "--webroot" in argv and "--register-unsafely-without-email" in argv


def test_apt_and_wait_scripts() -> None:
    script = system.apt_install_script(["nginx", "certbot"])
    assert "DPkg::Lock::Timeout=600" in script
    assert "install -y --no-install-recommends nginx certbot" in script
    assert "/proc/locks" in system.wait_script()


def test_dry_run_check_of_converged_host_runs_nothing_privileged() -> None:
    t = target()
    ctx = Context(target=t, remote=NoRemote(), facts=facts.parse_facts(converged_output(t)),
                  artifact=FakeArtifact(), dry_run=True)
    results = plan.run_steps(ctx, plan.bootstrap_steps())
    assert [r.status for r in results] == ["ok"] * len(results)


def test_new_worker_count_rewrites_release_env_and_restarts() -> None:
    t = target()
    output = converged_output(t)
    t3 = target(app={**SAMPLE, "workers": 3})
    ctx = Context(target=t3, remote=NoRemote(), facts=facts.parse_facts(output),
                  artifact=FakeArtifact(), dry_run=True)
    assert [c.summary for c in app.Release().check(ctx)] == [
        f"set WEB_CONCURRENCY=3 for release {RID}"
    ]
    assert [c.summary for c in service.Service().check(ctx)] == [f"restart app@{RID}.service"]


def test_changed_env_plans_a_restart_even_in_dry_run() -> None:
    t = target()
    output = converged_output(t)
    t2 = target(app={**SAMPLE, "env": {"LOG_LEVEL": "debug"}})
    ctx = Context(target=t2, remote=NoRemote(), facts=facts.parse_facts(output),
                  artifact=FakeArtifact(), dry_run=True)
    for step in plan.bootstrap_steps()[:6]:
        step.check(ctx)
    assert [c.summary for c in service.Service().check(ctx)] == [f"restart app@{RID}.service"]
