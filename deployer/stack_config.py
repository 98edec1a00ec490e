"""Stack files ``Pulumi.<stack>.yaml``: find and read them; update the artifact a platform
stack runs.

Stack files sit in the Pulumi project directory (*root*, the one holding ``Pulumi.yaml``).

Platform stages (Cloud Run, App Service) are told which build to run through stack config keys
(see ARTIFACT_KEYS); each such stack exports the values it deployed as its ``artifact`` output.
Promotion gives the next stack those deployed values (never the committed file's). Files are edited
round-trip, keeping comments, key order and secure values; when the ``pulumi`` CLI is installed
(and ``use_cli`` allows), ``pulumi config set`` is used instead so the backend stays the source of
truth.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from deployer.names import IMAGE_BY_DIGEST, PACKAGE_PATH, SHA256, STACK

ARTIFACT_KEYS: dict[str, tuple[str, ...]] = {
    "gcp": ("deployer:image",),
    "azure": ("deployer:appPackage", "deployer:packageSha256"),
}
ALL_ARTIFACT_KEYS = tuple(key for keys in ARTIFACT_KEYS.values() for key in keys)

_VALIDATORS = {
    "deployer:image": IMAGE_BY_DIGEST,
    "deployer:appPackage": PACKAGE_PATH,
    "deployer:packageSha256": SHA256,
}


class StackConfigError(ValueError):
    """A stack name, file or value is not acceptable."""


def validate_value(key: str, value: str) -> None:
    """Refuse artifact values of the wrong shape (e.g. an image pinned by tag, not digest)."""
    pattern = _VALIDATORS.get(key)
    if pattern is not None and not pattern.match(value):
        raise StackConfigError(f"invalid value for {key}: {value!r}")


def stack_of(path: Path) -> str:
    """The stack a ``Pulumi.<stack>.yaml`` file configures."""
    return path.name.removeprefix("Pulumi.").removesuffix(".yaml")


def stack_names(root: Path) -> list[str]:
    """Every stack with a ``Pulumi.<stack>.yaml`` in ``root``, sorted."""
    return sorted(stack_of(p) for p in root.glob("Pulumi.*.yaml"))


def stack_file(root: Path, stack: str) -> Path:
    """Path of ``Pulumi.<stack>.yaml`` in *root*, after checking the stack name."""
    if not STACK.match(stack):
        raise StackConfigError(f"invalid stack name {stack!r} (letters, digits, . _ -)")
    return Path(root) / f"Pulumi.{stack}.yaml"


def _yaml():
    from ruamel.yaml import YAML

    yaml = YAML()  # round-trip: comments and order survive
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _load(path: Path):
    if not path.is_file():
        raise StackConfigError(
            f"stack config {path.name} not found in {path.parent} "
            f"(pulumi stack init {stack_of(path)})"
        )
    with path.open(encoding="utf-8") as fh:
        doc = _yaml().load(fh)
    return doc if doc is not None else {}


def read_config(path: Path) -> dict[str, object]:
    """The ``config:`` mapping of a stack file (values as written; secure ones stay encrypted)."""
    path = Path(path)
    config = _load(path).get("config") or {}
    if not isinstance(config, dict):
        raise StackConfigError(f"{path.name}: `config:` must be a mapping")
    return dict(config)


def read_artifact(path: Path) -> dict[str, str]:
    """The artifact keys present in a stack file."""
    config = read_config(path)
    return {key: str(config[key]) for key in ALL_ARTIFACT_KEYS if key in config}


def set_values_in_file(path: Path, values: Mapping[str, str]) -> bool:
    """Set plain config *values* in a stack file, keeping everything else; True if it changed."""
    from ruamel.yaml.comments import CommentedMap

    path = Path(path)
    doc = _load(path)
    if not isinstance(doc, dict):
        raise StackConfigError(f"{path}: not a mapping")
    config = doc.get("config")
    if config is None:
        config = doc["config"] = CommentedMap()
    changed = False
    for key, value in values.items():
        validate_value(key, value)
        if config.get(key) != value:
            config[key] = value
            changed = True
    if changed:
        tmp = path.with_name(f".{path.name}.tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            _yaml().dump(doc, fh)
        tmp.replace(path)
    return changed


def pulumi_config_set_argv(stack: str, key: str, value: str, cwd: Path) -> list[str]:
    """argv of ``pulumi config set`` for one plain (non-secret) value."""
    return ["pulumi", "config", "set", "--stack", stack, "--cwd", str(cwd), "--", key, value]


def cli_wanted() -> bool:
    """Use ``pulumi config set``? DEPLOYER_PULUMI_CLI=0/1 decides, else: is pulumi on PATH."""
    forced = os.environ.get("DEPLOYER_PULUMI_CLI", "").strip()
    if forced in ("0", "1"):
        return forced == "1"
    return shutil.which("pulumi") is not None


def set_values(
    root: Path, stack: str, values: Mapping[str, str], use_cli: bool | None = None
) -> bool:
    """Set artifact *values* for *stack*: ``pulumi config set`` if the CLI is used, else the file.

    ``use_cli=None`` means: ask ``cli_wanted()``.
    """
    path = stack_file(root, stack)
    for key, value in values.items():
        validate_value(key, value)
    if use_cli is None:
        use_cli = cli_wanted()
    if not use_cli:
        return set_values_in_file(path, values)
    current = read_artifact(path) if path.is_file() else {}
    changed = False
    for key, value in values.items():
        if current.get(key) == value:
            continue
        subprocess.run(pulumi_config_set_argv(stack, key, value, Path(root)), check=True)
        changed = True
    return changed


def check_package_file(root: Path, values: Mapping[str, str]) -> None:
    """If the App Service zip named in *values* is here, it must have the recorded sha256."""
    from deployer.artifact import sha256_file

    package, expected = values.get("deployer:appPackage"), values.get("deployer:packageSha256")
    if not package or not expected:
        return
    path = Path(root) / package
    if path.is_file() and sha256_file(path) != expected:
        raise StackConfigError(f"{package} does not have sha256 {expected}: rebuild or fetch it")


def platform_cloud(root: Path, stack: str) -> str | None:
    """The stack's ``deployer:cloud`` if it is a platform stack (artifact in config), else None."""
    cloud = read_config(stack_file(root, stack)).get("deployer:cloud")
    return str(cloud) if cloud in ARTIFACT_KEYS else None


def copy_artifact_keys(
    root: Path,
    src_stack: str,
    dst_stack: str,
    values: Mapping[str, str],
    use_cli: bool | None = None,
) -> dict[str, str]:
    """Give *dst_stack* the artifact *values* that *src_stack* runs (promotion: the caller reads
    them from where SRC really records them, its stack outputs); return them.

    Refuses an empty artifact, only part of a cloud's keys, a package file with other bytes, or a
    destination on another cloud.
    """
    values = dict(values)
    if not values:
        wanted = ", ".join(ALL_ARTIFACT_KEYS)
        raise StackConfigError(f"stack {src_stack} has no artifact keys ({wanted})")
    for cloud, keys in ARTIFACT_KEYS.items():
        present = [key for key in keys if key in values]
        if present and len(present) != len(keys):
            missing = sorted(set(keys) - set(present))
            raise StackConfigError(f"stack {src_stack} ({cloud}) lacks {', '.join(missing)}")
    check_package_file(root, values)
    dst = stack_file(root, dst_stack)
    src = stack_file(root, src_stack)
    if dst.is_file() and src.is_file():
        src_cloud = read_config(src).get("deployer:cloud")
        dst_cloud = read_config(dst).get("deployer:cloud")
        if src_cloud and dst_cloud and src_cloud != dst_cloud:
            raise StackConfigError(f"cannot promote {src_cloud} stack {src_stack} to {dst_cloud}")
    set_values(root, dst_stack, values, use_cli=use_cli)
    return values
