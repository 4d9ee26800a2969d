"""Ownership tags: the suite only ever changes or deletes what carries them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from runbook_lib.core.errors import NotOwnedError

MANAGED_BY_KEY = "runbook:managed-by"
MANAGED_BY_VALUE = "pipeline-runbooks"
APP_KEY = "runbook:app"


def ownership_tags(app_name: str) -> dict[str, str]:
    """Tags every created resource carries, as a plain mapping."""
    return {MANAGED_BY_KEY: MANAGED_BY_VALUE, APP_KEY: app_name}


def as_tag_list(tags: Mapping[str, str], key: str = "Key",
                value: str = "Value") -> list[dict[str, str]]:
    """AWS APIs spell tag lists differently (Key/Value, key/value); build either."""
    return [{key: k, value: v} for k, v in sorted(tags.items())]


def from_tag_list(items: Iterable[Mapping[str, str]] | None) -> dict[str, str]:
    """Read a tag list in any of AWS's spellings back into a mapping."""
    out: dict[str, str] = {}
    for item in items or []:
        k = item.get("Key", item.get("key", item.get("TagKey")))
        v = item.get("Value", item.get("value", item.get("TagValue", "")))
        if k is not None:
            out[k] = v
    return out


def is_owned(tags: Mapping[str, str] | None, app_name: str) -> bool:
    """True when the tags say this suite created the resource for this app."""
    tags = tags or {}
    return tags.get(MANAGED_BY_KEY) == MANAGED_BY_VALUE and tags.get(APP_KEY) == app_name


def require_owned(resource: str, tags: Mapping[str, str] | None, app_name: str) -> None:
    """Refuse to touch a resource that lacks the ownership tags."""
    if not is_owned(tags, app_name):
        raise NotOwnedError(resource, APP_KEY, app_name)
