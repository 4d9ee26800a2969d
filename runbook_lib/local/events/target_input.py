"""What an EventBridge target receives for an event: the constant ``Input``, the ``InputPath``
selection, the ``InputTransformer`` rendering (its paths map and template, with EventBridge's
predefined variables), or else the whole event as compact JSON.

Shared by the event bus (rule targets) and the scheduler (a schedule's EventBridge target).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from runbook_lib.core.text import iso_time

_MISSING = object()
_PATH_STEP = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]")
_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")
_COMPACT = (",", ":")


def target_input(target: dict[str, Any], event: dict[str, Any], rule: dict[str, Any]) -> str:
    """What the target receives: constant ``Input``, the ``InputPath`` selection, the
    ``InputTransformer`` output, or else the whole event (compact JSON, as EventBridge sends)."""
    if target.get("Input") is not None:
        return target["Input"]
    if target.get("InputPath"):
        selected = select_path(event, target["InputPath"])
        return json.dumps(None if selected is _MISSING else selected, separators=_COMPACT)
    transformer = target.get("InputTransformer")
    if transformer:
        values = {name: select_path(event, path)
                  for name, path in (transformer.get("InputPathsMap") or {}).items()}
        values.update(_predefined_variables(event, rule))
        return render_template(transformer["InputTemplate"], values)
    return json.dumps(event, separators=_COMPACT)


def select_path(document: Any, path: str) -> Any:
    """The JSONPath subset EventBridge evaluates: ``$``, ``.name`` (dashes allowed), ``[n]``.

    Returns ``_MISSING`` when the path selects nothing."""
    if not path.startswith("$"):
        return _MISSING
    value, position = document, 1
    while position < len(path):
        step = _PATH_STEP.match(path, position)
        if step is None:
            return _MISSING
        key, index = step.groups()
        if key is not None:
            if not isinstance(value, dict) or key not in value:
                return _MISSING
            value = value[key]
        else:
            if not isinstance(value, list) or int(index) >= len(value):
                return _MISSING
            value = value[int(index)]
        position = step.end()
    return value


def render_template(template: str, values: dict[str, Any]) -> str:
    """Fill ``<name>`` placeholders by EventBridge's rules.

    Inside a JSON string a value goes in as text: strings unescaped, objects and arrays as JSON
    with their quotes removed (so the string stays valid). As a bare value it goes in as JSON
    (a string gets its quotes). A path that selects nothing gives an empty string inside a
    string and ``null`` as a bare value. Unknown ``<...>`` text is left as it is.
    """
    out: list[str] = []
    in_string = False
    i = 0
    while i < len(template):
        char = template[i]
        if char == "<":
            placeholder = _PLACEHOLDER.match(template, i)
            if placeholder and placeholder.group(1) in values:
                out.append(_fill(values[placeholder.group(1)], in_string))
                i = placeholder.end()
                continue
        if char == "\\" and in_string:
            out.append(template[i:i + 2])
            i += 2
            continue
        if char == '"':
            in_string = not in_string
        out.append(char)
        i += 1
    return "".join(out)


def _fill(value: Any, in_string: bool) -> str:
    if value is _MISSING:
        return "" if in_string else "null"
    if in_string and isinstance(value, str):
        return value
    text = json.dumps(value, separators=_COMPACT)
    if in_string and isinstance(value, (dict, list)):
        return text.replace('"', "")
    return text


def _predefined_variables(event: dict[str, Any], rule: dict[str, Any]) -> dict[str, Any]:
    """The reserved variables every InputTemplate may use without an InputPathsMap entry."""
    return {
        "aws.events.rule-arn": rule.get("Arn", ""),
        "aws.events.rule-name": rule.get("Name", ""),
        "aws.events.event.ingestion-time": iso_time(datetime.now(UTC)),
        "aws.events.event": {k: v for k, v in event.items() if k != "detail"},
        "aws.events.event.json": event,
    }
