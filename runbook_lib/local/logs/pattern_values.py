"""What every CloudWatch Logs filter-pattern form shares: its error, how a field's value is
compared (strings with ``*`` wildcards, or numbers), and an event read as JSON.

A leaf, so that the term and space-delimited forms (:mod:`filter_pattern`) and the JSON form
(:mod:`json_pattern`) import it without importing each other.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

Predicate = Callable[[str], bool]


class FilterPatternError(ValueError):
    """The filter pattern does not follow CloudWatch's syntax."""


def compare_value(actual: object, operator: str, expected: str) -> bool:
    """One comparison of a field's value, as strings with ``*`` wildcards or as numbers."""
    number = _number(expected)
    if operator in ("<", ">", "<=", ">="):
        value = _number(actual)
        if value is None or number is None:
            return False
        return {"<": value < number, ">": value > number, "<=": value <= number,
                ">=": value >= number}[operator]
    if number is not None and _number(actual) is not None and "*" not in expected:
        equal = _number(actual) == number
    else:
        wildcard = "^" + ".*".join(map(re.escape, expected.split("*"))) + "$"
        equal = re.match(wildcard, str(actual), re.DOTALL) is not None
    return equal if operator == "=" else not equal




def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return None


def parse_json_message(message: str) -> object:
    """The event as JSON, or None when it is not a JSON object or array."""
    stripped = message.strip()
    if stripped[:1] not in ("{", "["):
        return None
    try:
        return json.loads(stripped)
    except ValueError:
        return None
