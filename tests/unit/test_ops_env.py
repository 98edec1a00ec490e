"""`deployer env`: values in and out of the host's .env, decided without a host."""

import subprocess

import pytest

from deployer import envfile
from deployer.ops import env

TRICKY = 'a"b\\c$d`e $(id) \'q\''


def test_render_parse_round_trip_and_sh_reads_it_the_same() -> None:
    values = {"SECRET_KEY": TRICKY, "ENVIRONMENT": "production", "EMPTY": ""}
    text = envfile.render("app", values)
    assert text.splitlines()[0].startswith("# Managed by deployer")
    assert envfile.parse(text) == values
    out = subprocess.run(["sh", "-c", text + '\nprintf "%s" "$SECRET_KEY"'], capture_output=True,
                         text=True, check=True).stdout  # fmt: skip
    assert out == TRICKY


def test_parse_refuses_lines_it_does_not_write() -> None:
    with pytest.raises(envfile.EnvFileError, match="line 2"):
        envfile.parse("# c\nexport A=b\n")


@pytest.mark.parametrize(
    ("keys", "environ", "stdin", "expected"),
    [
        (["A"], {"A": "1"}, None, {"A": "1"}),
        (["A", "B"], {"A": "1", "B": "x y"}, None, {"A": "1", "B": "x y"}),
        (["A"], {}, "from stdin\n", {"A": "from stdin"}),
        (["A"], {"A": "env loses"}, "stdin wins", {"A": "stdin wins"}),
        (["A=1"], {}, None, "never on the command line"),
        (["a"], {"a": "1"}, None, "invalid environment variable name"),
        (["PORT"], {"PORT": "1"}, None, "set by deployer itself"),
        (["A"], {}, None, "not set in the local environment: A"),
        (["A", "B"], {}, "x", "one value"),
        (["A"], {"A": "two\nlines"}, None, "newlines"),
        ([], {}, None, "at least one KEY"),
    ],
)
def test_values_for(keys, environ, stdin, expected) -> None:
    if isinstance(expected, dict):
        assert env.values_for(keys, environ, stdin) == expected
    else:
        with pytest.raises(env.EnvError, match=expected):
            env.values_for(keys, environ, stdin)


@pytest.mark.parametrize(
    ("change", "changed", "summary"),
    [
        (env.set_values({"A": "1"}, {"A": "1"}), [], "no change"),
        (env.set_values({"A": "1"}, {"A": "2", "B": "3"}), ["A", "B"], "set A, B"),
        (env.unset_keys({"A": "1", "B": "2"}, ["B"]), ["B"], "unset B"),
    ],
)
def test_changes_name_keys_never_values(change, changed, summary) -> None:
    assert change.changed == changed and change.summary() == summary
    assert "2" not in summary and "3" not in summary


def test_unset_of_a_missing_key_is_refused() -> None:
    with pytest.raises(env.EnvError, match="not set on the host: C"):
        env.unset_keys({"A": "1"}, ["C"])


def test_listing_masks_everything_not_declared_plain() -> None:
    values = {"SECRET_KEY": "s", "ENVIRONMENT": "production", "DATABASE_URL": "postgresql://u:p@h/d"}
    assert env.listing(values, ["ENVIRONMENT"]) == [
        ("DATABASE_URL", env.MASK), ("ENVIRONMENT", "production"), ("SECRET_KEY", env.MASK),
    ]  # fmt: skip


def test_swap_and_restore_scripts(tmp_path) -> None:
    path = tmp_path / ".env"
    path.write_text("OLD\n")
    me = subprocess.run(["id", "-un"], capture_output=True, text=True, check=True).stdout.strip()
    swap = env.swap_script(str(path), me)
    subprocess.run(["sh", "-c", swap], input=b"NEW\n", check=True)
    assert path.read_text() == "NEW\n" and oct(path.stat().st_mode & 0o777) == "0o600"
    assert (tmp_path / ".env.previous").read_text() == "OLD\n"
    subprocess.run(["sh", "-c", env.restore_script(str(path))], check=True)
    assert path.read_text() == "OLD\n" and not (tmp_path / ".env.previous").exists()


def test_fingerprints_compare_values_without_holding_them() -> None:
    a = env.fingerprint({"SECRET_KEY": "hunter2", "B": ""})
    assert a == env.fingerprint({"B": "", "SECRET_KEY": "hunter2"})
    assert a["SECRET_KEY"] != env.fingerprint({"SECRET_KEY": "hunter3"})["SECRET_KEY"]
    assert "hunter2" not in repr(a)


@pytest.mark.parametrize(
    ("before", "current", "expected"),
    [
        ("A=1\n", "A=2\n", ("A=1\n", "env: fleet revert")),  # the old text, as it was
        ("A=1\n", "A=1\n", None),  # already back: a no-op
    ],
)
def test_back_to_puts_the_previous_file_back(before, current, expected) -> None:
    assert env.back_to(before)(current) == expected
