"""CloudWatch filter pattern syntax, as the local AWS's FilterLogEvents applies it: one table
row per documented form."""

from __future__ import annotations

import pytest

from runbook_lib.local.logs.filter_pattern import compile_pattern
from runbook_lib.local.logs.pattern_values import FilterPatternError

JSON_EVENT = '{"level": "error", "code": 503, "user": {"id": "u-42"}, "retry": true, ' \
             '"tags": ["a", "b"], "note": null}'
ACCESS_LINE = '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 534'

CASES = [
    ("empty matches all", "", "anything", True),
    ("term", "ERROR", "an ERROR here", True),
    ("term is case-sensitive", "ERROR", "an error here", False),
    ("all terms required", "ERROR Exception", "ERROR without the other", False),
    ("all terms present", "ERROR Exception", "Exception then ERROR", True),
    ("any of", "?ERROR ?WARN", "a WARN line", True),
    ("none of the alternatives", "?ERROR ?WARN", "an INFO line", False),
    ("quoted phrase", '"not ok"', "not ok 2 - greets", True),
    ("quoted phrase is one term", '"not ok"', "ok, not really", False),
    ("quoted alternatives", '?"exit status" ?"timed out"', "Reason: exit status 1", True),
    ("exclusion", "ERROR -Retrying", "ERROR: Retrying in 5s", False),
    ("exclusion passes", "ERROR -Retrying", "ERROR: gave up", True),
    ("regex", "%ERR[A-Z]+%", "ERRNO 5", True),
    ("regex no match", "%^ok%", "not ok", False),
    ("json equals", '{ $.level = "error" }', JSON_EVENT, True),
    ("json wildcard", '{ $.level = "err*" }', JSON_EVENT, True),
    ("json not equal", '{ $.level != "error" }', JSON_EVENT, False),
    ("json number", "{ $.code >= 500 }", JSON_EVENT, True),
    ("json nested and", '{ $.user.id = "u-42" && $.code = 503 }', JSON_EVENT, True),
    ("json or with parentheses", '{ ($.code < 500) || ($.retry IS TRUE) }', JSON_EVENT, True),
    ("json array index", '{ $.tags[1] = "b" }', JSON_EVENT, True),
    ("json is null", "{ $.note IS NULL }", JSON_EVENT, True),
    ("json not exists", "{ $.missing NOT EXISTS }", JSON_EVENT, True),
    ("json missing field", '{ $.missing = "x" }', JSON_EVENT, False),
    ("json on plain text", '{ $.level = "error" }', "level = error", False),
    ("delimited fields", "[ip, id, user, timestamp, request, status = 404, bytes]",
     ACCESS_LINE, True),
    ("delimited wildcard", "[ip, id, user, timestamp, request, status = 4*, bytes > 500]",
     ACCESS_LINE, True),
    ("delimited ellipsis", "[..., status = 5*, bytes]", ACCESS_LINE, False),
    ("delimited quoted field", '[ip, ..., request = "GET /index*", status, bytes]',
     ACCESS_LINE, True),
    ("delimited count must match", "[ip, id]", ACCESS_LINE, False),
]


@pytest.mark.parametrize("case, pattern, message, expected", CASES, ids=[c[0] for c in CASES])
def test_filter_pattern(case, pattern, message, expected):
    assert compile_pattern(pattern)(message) is expected, case


@pytest.mark.parametrize("pattern", ['{ $.level = }', "{ level = 1 }", "[a, = ]", '"open',
                                     "%([%"])
def test_malformed_patterns_are_refused(pattern):
    with pytest.raises(FilterPatternError, match="filter pattern"):
        compile_pattern(pattern)
