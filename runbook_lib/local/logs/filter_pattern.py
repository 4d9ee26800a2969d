"""CloudWatch Logs filter patterns, as documented ("Filter pattern syntax for metric filters,
subscription filters, filter log events and Live Tail"), compiled once into a predicate.

- Terms: ``ERROR`` (the event contains it; case-sensitive), ``"exact phrase"``, all required;
  ``?ERROR ?WARN`` at least one of; ``-DEBUG`` none of. Quoted terms may hold any character.
- ``%regex%``: a regular expression (CloudWatch's subset; Python's engine).
- JSON: ``{ $.level = "error" && ($.code >= 500 || $.retry IS TRUE) }``; strings may use ``*``
  as a wildcard; ``IS NULL``, ``NOT EXISTS``, ``EXISTS``, ``IS TRUE``, ``IS FALSE``.
- Space-delimited: ``[ip, user, ..., status = 5*, bytes > 1000]``; a field in ``""`` or
  ``[]`` in the event counts as one; ``...`` stands for any number of fields.

An empty pattern matches every event. A malformed pattern raises :class:`FilterPatternError`
(the service answers InvalidParameterException), naming the position and what was expected.
"""

from __future__ import annotations

import re

from runbook_lib.local.logs.json_pattern import compile_json
from runbook_lib.local.logs.pattern_values import FilterPatternError, Predicate, compare_value


def compile_pattern(pattern: str | None) -> Predicate:
    """A predicate over one event's message."""
    text = (pattern or "").strip()
    if not text:
        return lambda message: True
    if text.startswith("{"):
        return compile_json(text)
    if text.startswith("["):
        return _compile_delimited(text)
    if len(text) > 1 and text.startswith("%") and text.endswith("%"):
        return _compile_regex(text[1:-1])
    return _compile_terms(text)


# -- terms --------------------------------------------------------------------------------------

_TERM = re.compile(r'\s*(?P<op>[?-]?)(?:"(?P<quoted>(?:[^"\\]|\\.)*)"|(?P<bare>[^\s"]+))')


def parse_terms(text: str) -> tuple[list[str], list[str], list[str]]:
    """``(required, any_of, excluded)`` terms of a term pattern."""
    required: list[str] = []
    any_of: list[str] = []
    excluded: list[str] = []
    position = 0
    while position < len(text):
        match = _TERM.match(text, position)
        if not match or match.end() == position:
            if text[position:].strip():
                raise FilterPatternError(
                    f"filter pattern {text!r}: unexpected text at position {position}; "
                    'quote terms that hold spaces or quotes: "two words"')
            break
        term = (re.sub(r"\\(.)", r"\1", match["quoted"]) if match["quoted"] is not None
                else match["bare"])
        {"": required, "?": any_of, "-": excluded}[match["op"]].append(term)
        position = match.end()
    return required, any_of, excluded


def _compile_terms(text: str) -> Predicate:
    required, any_of, excluded = parse_terms(text)
    if not required and not excluded and any_of:
        # the common case (``?a ?b ?c``): one regular expression scan instead of one per term
        either = re.compile("|".join(map(re.escape, any_of)))
        return lambda message: either.search(message) is not None

    def matches(message: str) -> bool:
        return (all(t in message for t in required)
                and (not any_of or any(t in message for t in any_of))
                and not any(t in message for t in excluded))

    return matches


def _compile_regex(body: str) -> Predicate:
    try:
        expression = re.compile(body)
    except re.error as err:
        raise FilterPatternError(f"filter pattern %{body}%: invalid regular expression "
                                 f"({err}); CloudWatch supports ^ $ ? [] {{}} | \\ * + .") from err
    return lambda message: expression.search(message) is not None


# -- space-delimited ----------------------------------------------------------------------------

_FIELD = re.compile(r'\s*(?P<name>\.\.\.|[A-Za-z_][\w]*)?\s*'
                    r'(?:(?P<op>!=|>=|<=|=|>|<)\s*(?P<value>"(?:[^"\\]|\\.)*"|[^,\]\s]+))?\s*')
_EVENT_FIELD = re.compile(r'"[^"]*"|\[[^\]]*\]|\S+')


def _compile_delimited(text: str) -> Predicate:
    if not text.endswith("]"):
        raise FilterPatternError(f"filter pattern {text!r}: a space-delimited pattern ends "
                                 "with ']', e.g. [ip, user, status = 5*]")
    fields = [_parse_field(part, text) for part in _split_fields(text[1:-1])]

    def matches(message: str) -> bool:
        values = [v[1:-1] if v[:1] in '"[' else v for v in _EVENT_FIELD.findall(message)]
        return _match_fields(fields, values)

    return matches


def _split_fields(body: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for char in body:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _parse_field(part: str, text: str) -> tuple[str, str, str] | None:
    """``(name, operator, value)``; None for ``...``."""
    match = _FIELD.fullmatch(part)
    if not match or not (match["name"] or match["op"]):
        raise FilterPatternError(f"filter pattern {text!r}: field {part.strip()!r} is not "
                                 "'name', 'name = value' or '...'")
    if match["name"] == "...":
        return None
    value = match["value"] or ""
    if value.startswith('"'):
        value = value[1:-1]
    return match["name"] or "", match["op"] or "", value


def _match_fields(fields: list, values: list[str]) -> bool:
    if not fields:
        return not values
    head, rest = fields[0], fields[1:]
    if head is None:
        return any(_match_fields(rest, values[i:]) for i in range(len(values) + 1))
    return bool(values) and _compare(values[0], head[1], head[2]) and _match_fields(
        rest, values[1:])


def _compare(actual: str, operator: str, expected: str) -> bool:
    return not operator or compare_value(actual, operator, expected)
