"""Bootstrap decisions without a host, as tables: facts → typed changes → commands.

Each row starts from the facts of a converged host, changes what the row names, and expects
exactly the listed changes per step (every step not named: none). The commands are what
``apply`` sends through a recording stand-in for the connection.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from deployer.layout import Layout
from deployer.names import new_release_id
from deployer.release.state import SEP
from deployer.steps import app, facts, plan, service, system, web
from deployer.steps.base import Context, FileSpec, WriteFile, file_changes
from deployer.target import build_target

REPO = Path(__file__).resolve().parents[2]
# The sample app's project: this repository, shipping only app/.
SAMPLE = {"source": str(REPO), "include": ["app"], "requirements": "app/requirements.txt"}
SHA = "ab" * 32
NEW_SHA = "cd" * 32
RID = new_release_id(SHA, datetime(2026, 11, 27, 12, 0, tzinfo=UTC))
OLD = new_release_id("ef" * 32, datetime(2026, 11, 26, 12, 0, tzinfo=UTC))
UNIT = f"app@{RID}.service"


@dataclass
class FakeArtifact:
    sha256: str = SHA
    version: str = "1.0.0"
    commit: str = ""
    path: Path = Path("/nonexistent")


class NoRemote:
    """Decisions never touch the host."""

    def __getattr__(self, name):
        raise AssertionError(f"remote.{name} used while deciding")


@dataclass
class Out:
    stdout: str = ""


class Recorder:
    """Records the commands ``apply`` sends (no host: the decisions' last column)."""

    def __init__(self) -> None:
        self.commands: list[str] = []

    def sh(self, script: str, **_kw) -> Out:
        self.commands.append(script)
        return Out()

    def run(self, argv: list[str], **_kw) -> Out:
        self.commands.append(" ".join(argv))
        return Out()

    def write_file(self, path: str, data: bytes, **_kw) -> None:
        self.commands.append(f"write {path}")


def target(**app_over):
    return build_target({
        "host": "203.0.113.10", "domain": "api.example.com", "acme_server": "https://acme.test/dir",
        "app": {**SAMPLE, "migrations": "app/alembic.ini", **app_over},
    })  # fmt: skip


def release_state(*, current: str = RID, serving: str = RID, units: str = UNIT,
                  warm: str = "") -> str:  # fmt: skip
    ledger = {"releases": [{"id": RID, "sha256": SHA, "status": "current"}]}
    timers = f"deployer-app-warm-{warm}.timer" if warm else ""
    sections = [json.dumps(ledger), "", RID, f"/srv/app/releases/{current}",
                f"/run/deployer/app/{serving}/web.sock", units, timers]  # fmt: skip
    return f"\n{SEP}\n".join(sections)


def converged(t, **override: str) -> dict[str, str]:
    """The facts script's sections on a host that already matches the target."""
    name = t.app.name
    files = [app.env_file(t), service.unit_file(t), *web.nginx_files(t, tls=True),
             *web.certbot_files(t), web.nftables_file(web.firewall_ports(["22"]))]  # fmt: skip
    stats = [f"{p}|{m}|{o}|{g}" for p, m, o, g in system.wanted_dirs(name)]
    stats += [f"{f.path}|{f.mode.lstrip('0')}|{f.owner}|{f.group}" for f in files]
    available, enabled = web.site_paths(name)
    sections = {
        "os": "debian bookworm",
        "busy": "",
        "packages": "\n".join(f"{p}=ii " for p in system.wanted_packages(True)),
        "user": f"{name}:/srv/{name}:/usr/sbin/nologin",
        "stat": "\n".join(stats),
        "sha": "\n".join(f"{f.sha256}  {f.path}" for f in files),
        "links": f"{enabled}>{available}",
        "current_sha": SHA,
        "current_installed": "yes",
        "current_migrated": "yes",
        "current_env": "WEB_CONCURRENCY=2",
        "unit_enabled": UNIT,
        "nginx": "active",
        "cert": "yes",
        "tls_file": "yes",
        "cert_server": "https://acme.test/dir",
        "firewall": "usable\nloaded\nenabled",
        "virt": "none",
        "sshd_ports": "22",
        "release_state": release_state(),
    }
    sections.update(override)
    return sections


def parsed(sections: dict[str, str]) -> facts.Facts:
    return facts.parse_facts("".join(f"@@{k}\n{v}\n" for k, v in sections.items()))


def context(t, sections, artifact=None, remote=None) -> Context:
    return Context(target=t, remote=remote or NoRemote(), facts=parsed(sections),
                   artifact=artifact or FakeArtifact())  # fmt: skip


def decide(t, sections, artifact=None) -> dict[str, list[str]]:
    """Every step's changes (as their summaries); skipped steps show their reason."""
    ctx = context(t, sections, artifact)
    out = {}
    for step in plan.bootstrap_steps():
        reason = step.skipped(ctx)
        out[step.name] = [reason] if reason else [c.summary for c in step.check(ctx)]
    return out


def only(**changes: list[str]) -> dict[str, list[str]]:
    """The expected table row: the named steps' changes, none elsewhere (health always GETs)."""
    names = [s.name for s in plan.bootstrap_steps()]
    row = {n: [] for n in names} | {"health": ["GET https://api.example.com/health"]}
    return row | {k.replace("_", " "): v for k, v in changes.items()}


ENV = "/srv/app/shared/.env"
FRESH = {"os": "debian bookworm", "virt": "none"}
ROWS = [
    ("converged", {}, {}, None, only()),
    ("new artifact deploys through the lifecycle", {}, {}, FakeArtifact(NEW_SHA),
     only(app_release=["deploy artifact cdcdcdcdcdcd (1.0.0)"])),
    ("setting changed: restart in place", {}, {"env": {"LOG_LEVEL": "debug"}}, None,
     only(env_file=[f"update {ENV}"], systemd=[f"restart {UNIT}"])),
    ("worker count changed", {}, {"workers": 3}, None,
     only(systemd=[f"restart {UNIT} with 3 workers"])),
    ("instance stopped", {"release_state": release_state(units="")}, {}, None,
     only(systemd=[f"start {UNIT}"])),
    ("instance not enabled at boot", {"unit_enabled": ""}, {}, None,
     only(systemd=[f"start {UNIT}"])),
    ("an old instance still runs",
     {"release_state": release_state(units=f"{UNIT}\napp@{OLD}.service")},
     {}, None, only(systemd=[f"stop app@{OLD}.service"])),
    ("a warm release is left to its window",
     {"release_state": release_state(units=f"{UNIT}\napp@{OLD}.service", warm=OLD)},
     {}, None, only()),
    ("migrations never ran for the serving release", {"current_migrated": ""}, {}, None,
     only(app_release=[f"alembic upgrade head (app/alembic.ini) for release {RID}"])),
    ("traffic goes elsewhere", {"release_state": release_state(serving=OLD)}, {}, None,
     only(app_release=["deploy artifact abababababab (1.0.0)"])),
    ("current link elsewhere", {"release_state": release_state(current=OLD)}, {}, None,
     only(app_release=["deploy artifact abababababab (1.0.0)"])),
    ("dpkg busy at boot", {"busy": "dpkg\ncloud-init"}, {}, None,
     only(wait=["wait for cloud-init, dpkg"])),
    ("certificate from another ACME server", {"cert_server": "https://other/dir"}, {}, None,
     only(certificate=["re-issue certificate from https://acme.test/dir"])),
    ("nginx stopped", {"nginx": "inactive"}, {}, None, only(nginx=["start nginx"])),
    ("default site enabled",
     {"links": "/etc/nginx/sites-enabled/app.conf>/etc/nginx/sites-available/app.conf\n"
               "/etc/nginx/sites-enabled/default>/etc/nginx/sites-available/default"},
     {}, None, only(nginx=["disable default site"])),
    ("firewall rules not loaded", {"firewall": "usable\nenabled"}, {}, None,
     only(firewall=["load nftables rules"])),
    ("container without nftables", {"firewall": "", "virt": "systemd-nspawn"}, {}, None,
     only(firewall=["skipped: this systemd-nspawn container may not change its firewall"])),
    ("directory mode drifted", {"stat": converged(target())["stat"].replace(
        "/srv/app|755|", "/srv/app|700|")}, {}, None,
     only(dirs=["directory 755 root:root /srv/app"])),
    ("env file owner drifted", {"stat": converged(target())["stat"].replace(
        f"{ENV}|600|app|app", f"{ENV}|644|root|root")}, {}, None,
     only(env_file=[f"fix mode/owner of {ENV}"], systemd=[f"restart {UNIT}"])),
]  # fmt: skip


@pytest.mark.parametrize(("name", "facts_over", "app_over", "artifact", "expected"), ROWS,
                         ids=[r[0] for r in ROWS])  # fmt: skip
def test_decision_table(name, facts_over, app_over, artifact, expected) -> None:
    t = target(**app_over)
    assert decide(t, converged(target(), **facts_over), artifact) == expected


def test_fresh_host_plans_everything() -> None:
    got = decide(target(), FRESH)
    assert got["packages"] == ["install nginx certbot nftables in the background"]
    assert got["user"] == ["create system user app"]
    assert len(got["dirs"]) == len(system.wanted_dirs("app"))
    assert got["env file"] == [f"create {ENV}"]
    assert got["systemd"] == ["create /etc/systemd/system/app@.service"]
    assert got["app release"] == ["deploy artifact abababababab (1.0.0) as the first release"]
    assert got["nginx"][-1] == "enable site /etc/nginx/sites-enabled/app.conf"
    assert got["certificate"][-1] == "issue certificate for api.example.com"
    assert got["firewall"] == ["create /etc/nftables.conf",
                               "load nftables rules and enable nftables.service"]  # fmt: skip


def test_all_packages_present_but_one() -> None:
    sections = converged(target(), packages="nginx=ii \nnftables=ii ")
    assert decide(target(), sections)["packages"] == ["install certbot in the background"]


def commands(step, t, sections, artifact=None) -> list[str]:
    remote = Recorder()
    ctx = context(t, sections, artifact, remote)
    ctx.refresh = lambda: None
    changes = step.check(ctx)
    if changes:
        step.apply(ctx, changes)
    ctx.settle()
    return remote.commands


def test_commands_dirs_only_the_drifted_ones() -> None:
    stats = "\n".join(f"{p}|{m}|{o}|{g}" for p, m, o, g in system.wanted_dirs("app")[1:])
    (script,) = commands(system.Dirs(), target(), converged(target(), stat=stats))
    assert script == "set -e; install -d -m 755 -o root -g root /srv/app"


def test_commands_packages_all_behind_the_app_install() -> None:
    """uv builds the venv from python3 alone: nothing waits for apt in front."""
    (cmd,) = commands(system.Packages(), target(), FRESH)
    assert cmd.endswith("install -y --no-install-recommends nginx certbot nftables")
    assert "update;" in cmd


def test_commands_nginx_links_and_reload() -> None:
    links = ("/etc/nginx/sites-enabled/default>/etc/nginx/sites-available/default")
    cmds = commands(web.Nginx(), target(), converged(target(), links=links))
    assert cmds[0] == ("set -e; ln -sfn /etc/nginx/sites-available/app.conf "
                       "/etc/nginx/sites-enabled/app.conf; rm -f /etc/nginx/sites-enabled/default")
    assert cmds[1].startswith("nginx -t -q && ")


def test_commands_restart_with_new_workers_rewrites_release_env_then_checks_health() -> None:
    cmds = commands(service.Service(), target(workers=3), converged(target()))
    assert f"systemctl restart {UNIT}" in cmds[0] and "/release.env" in cmds[0]
    assert len(cmds) == 2 and cmds[1].startswith("sh -c python3 -c")  # its health, on the host


def test_commands_nothing_on_a_converged_host() -> None:
    t = target()
    for step in plan.bootstrap_steps()[:-1]:  # health GETs from here, not the host
        assert commands(step, t, converged(t)) == [], step.name


def test_commands_firewall_load_keeps_it_enabled() -> None:
    (cmd,) = commands(web.Firewall(), target(), converged(target(), firewall="usable\nenabled"))
    assert cmd == "nft -c -f /etc/nftables.conf && nft -f /etc/nftables.conf"


def test_file_changes_detects_content_and_mode() -> None:
    spec = FileSpec("/etc/x.conf", "a\n", "0644")
    f = parsed({"sha": f"{spec.sha256}  /etc/x.conf", "stat": "/etc/x.conf|600|root|root"})
    assert file_changes(f, [spec]) == [WriteFile("/etc/x.conf", "mode")]
    f = parsed({"sha": f"{'0' * 64}  /etc/x.conf"})
    assert [c.summary for c in file_changes(f, [spec])] == ["update /etc/x.conf"]
    secret = FileSpec(ENV, "K=v\n", secret=True)
    (created,) = file_changes(parsed({}), [secret])
    assert "K=v" not in created.diff and "not shown" in created.diff


def test_facts_script_quotes_and_parses() -> None:
    script = plan.facts_script(target())
    assert "@@sha" in script and f" {ENV} " in script and "@@release_state" in script
    got = facts.parse_facts("@@packages\nnginx=ii \ncertbot=un \n")
    assert got.packages == {"nginx"}
    assert app.serving_release(parsed(converged(target())), target()) == RID


def test_commands_are_argv_lists_without_secrets() -> None:
    from deployer.release.migrations import migrate_argv

    t = target(secrets={"SECRET_KEY": "topsecret-value"})
    argv = migrate_argv(t, str(Layout("app").release(RID)))
    assert "topsecret-value" not in " ".join(argv)
    assert argv[:2] == ["systemd-run", "--quiet"] and f"EnvironmentFile={ENV}" in argv
    assert system.useradd_argv("app")[-1] == "app"
    assert "--shell" in system.useradd_argv("app")


@pytest.mark.parametrize("force", [False, True])
def test_certbot_always_names_the_acme_server(force: bool, tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("CA")
    t = build_target({"host": "203.0.113.10", "domain": "api.example.com",
                      "acme_server": "https://acme.test/dir", "acme_ca": str(ca)})  # fmt: skip
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


def test_dry_run_of_a_converged_host_runs_nothing() -> None:
    from deployer import engine

    t = target()
    ctx = context(t, converged(t))
    ctx.dry_run = True
    outcome = engine.run([plan.step_unit(ctx, s) for s in plan.bootstrap_steps()])
    statuses = [r.status for r in outcome.results]
    assert statuses == ["ok"] * (len(statuses) - 1) + ["skipped"], outcome.results
