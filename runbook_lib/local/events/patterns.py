"""EventBridge event-pattern matching, and TestEventPattern served with it.

moto answers TestEventPattern with an empty body (no ``Result``), so a notebook could not prove
that a rule matches the events it is meant for. The matcher here follows the EventBridge user
guide's content-filtering rules: every field named in the pattern must be in the event; a leaf
is a list of alternatives; an event array matches when any element does. It is pure, so an
event-delivery extension can reuse :func:`matches`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from runbook_lib.local.server.wire import AwsError, Request, Response, json_response

if TYPE_CHECKING:
    from runbook_lib.local.server.context import LocalContext

# TestEventPattern rejects an event without these (EventBridge API reference).
MANDATORY_EVENT_FIELDS = ("id", "account", "source", "time", "region", "resources",
                          "detail-type")

_MISSING = object()
_NUMERIC_OPS = {
    "=": lambda a, b: a == b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}
_OPERATORS = ("prefix", "suffix", "anything-but", "numeric", "exists", "equals-ignore-case",
              "wildcard")


class EventPatterns:
    """TestEventPattern, answered the way EventBridge does."""

    def __init__(self, ctx: LocalContext) -> None:
        self.ctx = ctx

    def routes(self):
        return {("events", "TestEventPattern"): self.test_event_pattern}

    def test_event_pattern(self, request: Request) -> Response:
        body = request.json()
        pattern = parse_pattern(body.get("EventPattern"))
        event = _parse_event(body.get("Event"))
        return json_response({"Result": matches(pattern, event)})


def parse_pattern(text: Any) -> dict[str, Any]:
    """A pattern from its JSON text; InvalidEventPatternException as AWS words it."""
    try:
        pattern = json.loads(text) if isinstance(text, str) else None
    except ValueError as err:
        raise _invalid(f"Filter is not valid JSON: {err}") from err
    if not isinstance(pattern, dict) or not pattern:
        raise _invalid("Filter is not an object")
    _validate(pattern, "")
    return pattern


def matches(pattern: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    """True when ``event`` matches ``pattern`` (already validated)."""
    for key, rule in pattern.items():
        if key == "$or":
            if not any(matches(alt, event) for alt in rule):
                return False
            continue
        value = event.get(key, _MISSING) if isinstance(event, Mapping) else _MISSING
        if isinstance(rule, Mapping):
            if not isinstance(value, Mapping) or not matches(rule, value):
                return False
        elif not _leaf_matches(rule, value):
            return False
    return True


# -- leaves -------------------------------------------------------------------------------------


def _leaf_matches(alternatives: list[Any], value: Any) -> bool:
    values = value if isinstance(value, list) else [value]
    for alt in alternatives:
        if isinstance(alt, Mapping) and "exists" in alt:
            if alt["exists"] == (value is not _MISSING and not isinstance(value, Mapping)):
                return True
            continue
        if any(v is not _MISSING and _one_matches(alt, v) for v in values):
            return True
    return False


def _one_matches(alt: Any, value: Any) -> bool:
    if not isinstance(alt, Mapping):
        return _equal(alt, value)
    (op, arg), = alt.items()
    if op == "prefix":
        return _text_test(arg, value, str.startswith)
    if op == "suffix":
        return _text_test(arg, value, str.endswith)
    if op == "equals-ignore-case":
        return isinstance(value, str) and value.casefold() == arg.casefold()
    if op == "wildcard":
        return isinstance(value, str) and _wildcard(arg).fullmatch(value) is not None
    if op == "numeric":
        return _numeric(arg, value)
    if op == "anything-but":
        return not _anything_but_hits(arg, value)
    return False


def _text_test(arg: Any, value: Any, test) -> bool:
    if isinstance(arg, Mapping):  # {"prefix": {"equals-ignore-case": "x"}}
        text = arg.get("equals-ignore-case", "")
        return isinstance(value, str) and test(value.casefold(), text.casefold())
    return isinstance(value, str) and test(value, arg)


def _anything_but_hits(arg: Any, value: Any) -> bool:
    if isinstance(arg, Mapping):
        return _one_matches(arg, value)
    candidates = arg if isinstance(arg, list) else [arg]
    return any(_equal(c, value) for c in candidates)


def _numeric(arg: list[Any], value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    pairs = zip(arg[0::2], arg[1::2], strict=True)
    return all(_NUMERIC_OPS[op](value, bound) for op, bound in pairs)


def _equal(alt: Any, value: Any) -> bool:
    """Exact match; numbers match at their JSON representation (300 is not 300.0)."""
    if isinstance(alt, bool) or isinstance(value, bool) or alt is None or value is None:
        return alt is value
    return type(alt) is type(value) and alt == value


def _wildcard(arg: str) -> re.Pattern[str]:
    """``*`` matches any run of characters; nothing else is special."""
    return re.compile(".*".join(re.escape(part) for part in arg.split("*")), re.S)


# -- validation ---------------------------------------------------------------------------------


def _validate(pattern: Mapping[str, Any], path: str) -> None:
    for key, rule in pattern.items():
        where = f"{path}.{key}" if path else key
        if key == "$or":
            if not isinstance(rule, list) or len(rule) < 2:
                raise _invalid(f"{where}: $or needs a list of at least two patterns")
            for alt in rule:
                if not isinstance(alt, Mapping) or not alt:
                    raise _invalid(f"{where}: each $or alternative must be an object")
                _validate(alt, path)
        elif isinstance(rule, Mapping):
            if not rule:
                raise _invalid(f"{where}: empty object")
            _validate(rule, where)
        elif isinstance(rule, list):
            if not rule:
                raise _invalid(f"{where}: Empty arrays are not allowed")
            for alt in rule:
                _validate_alternative(alt, where)
        else:
            raise _invalid(f"{where}: Match value must be String, number, true, false, or null")


def _validate_alternative(alt: Any, where: str) -> None:
    if not isinstance(alt, Mapping):
        if isinstance(alt, list):
            raise _invalid(f"{where}: Match value must be String, number, true, false, or null")
        return
    if len(alt) != 1 or next(iter(alt)) not in _OPERATORS:
        raise _invalid(f"{where}: Unrecognized match type {', '.join(map(str, alt))}")
    (op, arg), = alt.items()
    if op == "exists" and not isinstance(arg, bool):
        raise _invalid(f"{where}: exists match pattern must be either true or false.")
    if op == "numeric":
        _validate_numeric(arg, where)
    if op in ("suffix", "equals-ignore-case", "wildcard") and not isinstance(arg, str):
        raise _invalid(f"{where}: {op} match pattern must be a string")
    if op == "prefix" and not isinstance(arg, (str, Mapping)):
        raise _invalid(f"{where}: prefix match pattern must be a string")


def _validate_numeric(arg: Any, where: str) -> None:
    ok = isinstance(arg, list) and arg and len(arg) % 2 == 0 and all(
        op in _NUMERIC_OPS and isinstance(n, (int, float)) and not isinstance(n, bool)
        for op, n in zip(arg[0::2], arg[1::2], strict=True)
    )
    if not ok:
        raise _invalid(f"{where}: Value of numeric must be an array of operator, number pairs")


def _parse_event(text: Any) -> dict[str, Any]:
    try:
        event = json.loads(text) if isinstance(text, str) else None
    except ValueError as err:
        raise AwsError("ValidationException", "Parameter Event is not valid.") from err
    if not isinstance(event, dict) or any(f not in event for f in MANDATORY_EVENT_FIELDS):
        raise AwsError("ValidationException", "Parameter Event is not valid.")
    return event


def _invalid(reason: str) -> AwsError:
    return AwsError("InvalidEventPatternException", f"Event pattern is not valid. Reason: {reason}")
