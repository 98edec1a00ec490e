"""Resource names and the project/stage tags every taggable resource carries."""

from __future__ import annotations

from stacks.settings import Settings


def name(s: Settings, part: str) -> str:
    """The logical (and, where free-form, physical) name of a resource: app-stage-part."""
    return f"{s.app}-{s.stage}-{part}"


def tags(s: Settings) -> dict[str, str]:
    """Key/value tags (AWS, Azure) and labels (GCP: lowercase keys and values)."""
    return {"project": s.app, "stage": s.stage, "managed-by": "pulumi"}


def tag_list(s: Settings) -> list[str]:
    """DigitalOcean tags are plain names; ``key:value`` keeps them readable."""
    return [f"{key}:{value}" for key, value in tags(s).items()]
