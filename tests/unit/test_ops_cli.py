"""The day-two commands validate input before touching any host; a fleet's listing, maintenance
and restore fence decided and printed from what the hosts answer (no host needed here)."""

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from deployer.cli import app

runner = CliRunner()


@pytest.mark.parametrize(
    "command",
    [["exec"], ["env", "list"], ["env", "set"], ["env", "unset"], ["maintenance", "on"],
     ["maintenance", "off"], ["backup"], ["restore"]],
)  # fmt: skip
def test_every_day_two_command_is_registered(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0 and "Usage" in result.output


@pytest.mark.parametrize(
    ("args", "why"),
    [
        (["env", "set", "prod", "SECRET_KEY=hunter2"], "never on the command line"),
        (["env", "set", "prod", "NOT_IN_THE_ENVIRONMENT_X"], "not set in the local environment"),
        (["env", "set", "prod", "PORT"], "set by deployer itself"),
        (["backup", "prod", "--keep", "0"], "keep must be at least 1"),
        (["backup", "prod", "--schedule", "minutely"], "schedule must be one of"),
        (["restore", "prod", "missing.sqlite3"], "not found"),
        (["exec", "prod", "--", "id"], "deployer.toml not found"),
        (["maintenance", "on", "prod"], "deployer.toml not found"),
    ],
)
def test_bad_input_exits_2_before_connecting(
    args: list[str], why: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "invalid input" in result.output and why in result.output
    assert "hunter2" not in result.output


def test_restore_refuses_a_file_not_named_like_a_backup(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dump.sql").write_text("x")
    result = runner.invoke(app, ["restore", "prod", "dump.sql", "--yes"])
    assert result.exit_code == 2 and "unexpected backup file name" in result.output


def fleet_config(tmp_path: Path) -> Path:
    repo = Path(__file__).resolve().parents[2]
    path = tmp_path / "deployer.toml"
    path.write_text(
        '[stages.f]\ndomain = "api.example.com"\n'
        'hosts = [{ name = "web-1", host = "203.0.113.10" },\n'
        '         { name = "web-2", host = "203.0.113.11" }]\n'
        f'\n[stages.f.app]\nsource = "{repo / "app"}"\n'
    )
    return path


@pytest.mark.parametrize(
    ("host", "why"),
    [
        ([], "the stage has 2 hosts (web-1, web-2): pick one with --host"),
        (["--host", "web-3"], "'web-3' is not one of the stage's hosts (web-1, web-2)"),
    ],
)
def test_exec_on_a_stage_of_several_hosts_needs_one_of_them(
    host: list[str], why: str, tmp_path: Path
) -> None:
    # the hosts are TEST-NET addresses: a connection attempt would fail with exit 3, not 2
    config = fleet_config(tmp_path)
    result = runner.invoke(app, ["exec", "f", *host, "--config", str(config), "--", "id"])
    assert result.exit_code == 2, result.output
    assert "invalid input" in result.output and why in " ".join(result.output.split())


@pytest.mark.parametrize(("host", "address"), [("web-2", "203.0.113.11"),
                                               ("203.0.113.10", "203.0.113.10")])
def test_exec_host_picks_that_hosts_target(host: str, address: str, tmp_path: Path) -> None:
    from deployer.cli.ops import _exec_target

    t = _exec_target("f", fleet_config(tmp_path), host)
    assert t.host == address and t.domain == "api.example.com"


@pytest.mark.parametrize(
    ("current", "change", "expected"),
    [
        # a key set beside what is there (read under the lock: a concurrent change is kept)
        ({"A": "1"}, ("set", {"B": "2"}), ({"A": "1", "B": "2"}, "env: set B")),
        ({"A": "1"}, ("set", {"A": "3"}), ({"A": "3"}, "env: set A")),
        ({"A": "1"}, ("set", {"A": "1"}), None),  # unchanged: a no-op
        ({"A": "1", "B": "2"}, ("unset", ["A"]), ({"B": "2"}, "env: unset A")),
        ({"A": "1"}, ("unset", ["Z"]), "not set on the host: Z"),
    ],
)
def test_env_change_for(current, change, expected) -> None:
    from deployer import envfile
    from deployer.cli.ops import env_change_for
    from deployer.ops.env import EnvError, set_values, unset_keys

    kind, arg = change
    fn = set_values if kind == "set" else unset_keys
    compute = env_change_for("shop", lambda before: fn(before, arg))
    text = envfile.render("shop", current)
    if isinstance(expected, str):
        with pytest.raises(EnvError, match=expected):
            compute(text)
    elif expected is None:
        assert compute(text) is None
    else:
        values, note = expected
        assert compute(text) == (envfile.render("shop", values), note)


@pytest.mark.parametrize(
    ("host", "first", "chosen", "others"),
    [
        (None, True, "web-1", ["web-2"]),  # backup, restore: the first host by default
        ("web-2", True, "web-2", ["web-1"]),
        ("203.0.113.10", True, "web-1", ["web-2"]),  # an address names its host
        ("web-2", False, "web-2", ["web-1"]),  # exec: --host needed
    ],
)
def test_one_host_of_a_fleet_runs_backup_restore_and_exec(host, first, chosen, others,
                                                          tmp_path: Path) -> None:
    from deployer.cli.ops import _pick

    member, rest = _pick("f", fleet_config(tmp_path), host, first=first)
    assert member.name == chosen and [m.name for m in rest] == others


@pytest.mark.parametrize(
    "args",
    [["backup", "f", "--host", "web-3"],
     ["backup", "f", "--list", "--host", "web-3"],
     ["restore", "f", "app-20260101T000000Z.sqlite3", "--host", "web-3", "--yes"],
     ["env", "set", "f", "SOME_KEY", "--batch", "0"],
     ["env", "unset", "f", "SOME_KEY", "--batch", "x"]],
)
def test_fleet_day_two_input_is_refused_before_connecting(args: list[str], tmp_path: Path
                                                          ) -> None:
    # TEST-NET hosts: a connection attempt would fail with exit 3, not 2
    (tmp_path / "app-20260101T000000Z.sqlite3").write_bytes(b"x")
    config = fleet_config(tmp_path)
    result = runner.invoke(app, [*args, "--config", str(config)], env={"SOME_KEY": "v"})
    assert result.exit_code == 2, result.output
    shown = " ".join(result.output.split())
    assert "invalid input" in shown
    assert "'web-3' is not one of the stage's hosts (web-1, web-2)" in shown or "--batch" in shown


def _answers(monkeypatch, answers) -> list:
    """The fleet's hosts answer ``answers`` (name -> value or error) instead of connecting."""
    from deployer.fleet import each

    calls = []

    def on_each(members, work, width=16):
        calls.append(([m.name for m in members], width))
        return [each.Answer(n, error=v.removeprefix("error:")) if str(v).startswith("error:")
                else each.Answer(n, v) for n, v in answers.items()]

    monkeypatch.setattr(each, "on_each", on_each)
    return calls


def _env(**values: str) -> str:
    from deployer import envfile

    return envfile.render("app", values)


@pytest.mark.parametrize(
    ("answers", "code", "err"),
    [
        ({"web-1": _env(A="1", SECRET_KEY="hunter2"), "web-2": _env(A="1", SECRET_KEY="hunter2")},
         0, ["2 hosts, one environment"]),
        ({"web-1": _env(A="1", SECRET_KEY="hunter2"), "web-2": _env(SECRET_KEY="hunter3")},
         4, ["drift: web-2: missing A; other value of SECRET_KEY (compared with web-1)"]),
        ({"web-1": "error:connection refused", "web-2": _env(A="1", SECRET_KEY="hunter2")},
         4, ["web-1: not read: connection refused"]),
        ({"web-1": _env(A="1", SECRET_KEY="x"), "web-2": "export A=1\n"},
         4, ["web-2: not read: .env line 1 is not KEY=\"value\""]),
    ],
)
def test_env_list_of_a_fleet_lists_once_and_flags_the_hosts_that_differ(
    monkeypatch, tmp_path: Path, answers, code, err
) -> None:
    _answers(monkeypatch, answers)
    result = CliRunner().invoke(app, ["env", "list", "f", "--config", str(fleet_config(tmp_path))])
    assert result.exit_code == code, result.output
    assert result.stdout.splitlines() == ["A=********", "SECRET_KEY=********"]
    assert result.stderr.splitlines() == err
    assert "hunter" not in result.output


@pytest.mark.parametrize(
    ("command", "answers", "code", "lines"),
    [
        ("on", {"web-1": None, "web-2": None}, 0,
         ["  web-1            ok", "  web-2            ok",
          "f: maintenance on; fleet: 2 hosts, 2 ok, 0 failed"]),
        ("off", {"web-1": "error:maintenance off failed (exit 1)", "web-2": None}, 4,
         ["  web-1            failed: maintenance off failed (exit 1)", "  web-2            ok",
          "f: maintenance off; fleet: 2 hosts, 1 ok, 1 failed (web-1)"]),
    ],
)
def test_maintenance_of_a_fleet_names_each_host_and_the_total(
    monkeypatch, tmp_path: Path, command, answers, code, lines
) -> None:
    calls = _answers(monkeypatch, answers)
    config = str(fleet_config(tmp_path))
    result = CliRunner().invoke(app, ["maintenance", command, "f", "--parallel", "3",
                                      "--config", config])
    assert result.exit_code == code, result.output
    assert result.output.splitlines() == lines
    assert calls == [(["web-1", "web-2"], 3)]


@pytest.mark.parametrize(
    ("state", "broken", "log", "restored"),
    [
        # every other host in maintenance meanwhile, and out again after
        ({"web-2": "off", "web-3": "off"}, set(),
         [("web-2", True), ("web-3", True), ("web-2", False), ("web-3", False)], True),
        # one already in maintenance stays in it
        ({"web-2": "on", "web-3": "off"}, set(), [("web-3", True), ("web-3", False)], True),
        # one that cannot: nothing restored, the others out of maintenance again
        ({"web-2": "off", "web-3": "off"}, {"web-3"}, [("web-2", True), ("web-2", False)],
         False),
    ],
)
def test_a_fleet_restore_puts_the_other_hosts_in_maintenance_meanwhile(
    monkeypatch, state, broken, log, restored
) -> None:
    from deployer.cli import ops
    from deployer.fleet import each
    from deployer.fleet.roll import Member
    from deployer.remote import CommandError
    from deployer.target import build_target

    seen, forgot = [], []

    def set_maintenance(remote, t, on, message=""):
        if on and t.host in broken:
            raise CommandError("maintenance on", 1, "no")
        seen.append((t.host, on))

    def on_each(members, work, width=16):  # each host in turn, over a remote that records
        remote = type("R", (), {"sh": lambda _s, script, what="": forgot.append(script)})()
        out = []
        for m in members:
            try:
                out.append(each.Answer(m.name, work(remote, m)))
            except CommandError as exc:
                out.append(each.Answer(m.name, error=str(exc)))
        return out

    monkeypatch.setattr(ops, "maintenance_state", lambda _r, t: state[t.host])
    monkeypatch.setattr(ops, "set_maintenance", set_maintenance)
    monkeypatch.setattr(each, "on_each", on_each)
    others = [Member(n, build_target({"host": n, "domain": "api.example.com"})) for n in state]
    done = []
    try:
        with ops._others_in_maintenance(others, "f"):
            done.append("restore")
    except typer.Exit as exc:
        assert exc.exit_code == 4
    assert seen == log and (done == ["restore"]) == restored
    assert len(forgot) == 2 and all("rm -f" in s for s in forgot)  # the next deploy migrates
