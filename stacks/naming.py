"""Resource names and the project/stage tags every taggable resource carries."""

from __future__ import annotations

from stacks.settings import Settings


def name(s: Settings, part: str) -> str:
    """The logical (and, where free-form, physical) name of a resource: app-stage-part."""
    return f"{s.app}-{s.stage}-{part}"


def indexed(s: Settings, part: str, index: int) -> str:
    """The name of the ``index``-th of several: the first keeps the single resource's name (a
    stack that grows from one server to several keeps its first server), then part-1, part-2."""
    return name(s, part if index == 0 else f"{part}-{index}")


def tags(s: Settings) -> dict[str, str]:
    """Key/value tags (AWS, Azure) and labels (GCP: lowercase keys and values)."""
    return {"project": s.app, "stage": s.stage, "managed-by": "pulumi"}


def tag_list(s: Settings) -> list[str]:
    """DigitalOcean tags are plain names; ``key:value`` keeps them readable."""
    return [f"{key}:{value}" for key, value in tags(s).items()]
