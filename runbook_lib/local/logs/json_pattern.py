"""JSON filter patterns: ``{ $.a.b[0] = "x*" && ($.n >= 5 || $.flag IS TRUE) }``.

Parsed once into a tree of closures; an event that is not JSON never matches. A selector that
names no field makes every comparison false (only ``NOT EXISTS`` is true then), as CloudWatch
documents.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NoReturn

from runbook_lib.local.logs.pattern_values import (
    FilterPatternError,
    Predicate,
    compare_value,
    parse_json_message,
)

_MISSING = object()
_TOKEN = re.compile(r'\s*(?:(?P<op>&&|\|\||!=|>=|<=|=|>|<|\(|\))|(?P<str>"(?:[^"\\]|\\.)*")'
                    r"|(?P<sel>\$(?:\.[A-Za-z_][\w-]*|\[\d+\]|\.\*)*)|(?P<word>[^\s()=!<>&|]+))")

Value = Callable[[object], bool]


def compile_json(text: str) -> Predicate:
    """A predicate over one event's message for a ``{ ... }`` pattern."""
    if not text.endswith("}"):
        raise FilterPatternError(f"filter pattern {text!r}: a JSON pattern ends with '}}', "
                                 'e.g. { $.level = "error" }')
    parser = _Parser(text, text[1:-1])
    test = parser.expression()
    parser.expect_end()

    def matches(message: str) -> bool:
        document = parse_json_message(message)
        return document is not None and test(document)

    return matches


class _Parser:
    """Recursive descent over the tokens: ``||`` binds looser than ``&&``; parentheses group."""

    def __init__(self, pattern: str, body: str):
        self.pattern = pattern
        self.tokens = self._tokenize(body)
        self.at = 0

    def _tokenize(self, body: str) -> list[tuple[str, str]]:
        tokens, position = [], 0
        while body[position:].strip():
            match = _TOKEN.match(body, position)
            if not match or match.end() == position:
                self._fail(f"unexpected text {body[position:].strip()[:20]!r}")
            kind = match.lastgroup or "word"
            tokens.append((kind, match[kind]))
            position = match.end()
        return tokens

    def _fail(self, what: str) -> NoReturn:
        raise FilterPatternError(f"filter pattern {self.pattern!r}: {what}; expected "
                                 '{ $.field = "value" } joined by && or ||')

    def _peek(self) -> tuple[str, str]:
        return self.tokens[self.at] if self.at < len(self.tokens) else ("end", "")

    def _take(self) -> tuple[str, str]:
        token = self._peek()
        self.at += 1
        return token

    def expect_end(self) -> None:
        if self._peek()[0] != "end":
            self._fail(f"unexpected {self._peek()[1]!r}")

    def expression(self) -> Value:
        parts = [self._conjunction()]
        while self._peek() == ("op", "||"):
            self._take()
            parts.append(self._conjunction())
        return parts[0] if len(parts) == 1 else (lambda doc: any(p(doc) for p in parts))

    def _conjunction(self) -> Value:
        parts = [self._unary()]
        while self._peek() == ("op", "&&"):
            self._take()
            parts.append(self._unary())
        return parts[0] if len(parts) == 1 else (lambda doc: all(p(doc) for p in parts))

    def _unary(self) -> Value:
        if self._peek() == ("op", "("):
            self._take()
            inner = self.expression()
            if self._take() != ("op", ")"):
                self._fail("missing ')'")
            return inner
        kind, selector = self._take()
        if kind != "sel":
            self._fail(f"a selector such as $.field, not {selector!r}")
        return self._comparison(_path(selector))

    def _comparison(self, path: list) -> Value:
        kind, token = self._take()
        if kind == "word" and token.upper() in ("IS", "NOT", "EXISTS"):
            return self._keyword(path, token.upper())
        if kind != "op" or token in ("(", ")", "&&", "||"):
            self._fail(f"an operator (= != < > <= >=) after the selector, not {token!r}")
        value_kind, value = self._take()
        if value_kind not in ("str", "word"):
            self._fail(f"a value after {token}")
        expected = value[1:-1] if value_kind == "str" else value

        def compare(doc: object) -> bool:
            actual = _select(doc, path)
            return actual is not _MISSING and not isinstance(actual, dict | list) and (
                compare_value(_text(actual), token, expected))

        return compare

    def _keyword(self, path: list, first: str) -> Value:
        if first == "EXISTS":
            return lambda doc: _select(doc, path) is not _MISSING
        if first == "NOT":
            if self._take()[1].upper() != "EXISTS":
                self._fail("NOT EXISTS")
            return lambda doc: _select(doc, path) is _MISSING
        word = self._take()[1].upper()
        wanted = {"TRUE": True, "FALSE": False, "NULL": None}
        if word not in wanted:
            self._fail("IS TRUE, IS FALSE or IS NULL")
        return lambda doc: _select(doc, path) is wanted[word]


def _path(selector: str) -> list:
    return [int(part[1:-1]) if part.startswith("[") else part.lstrip(".")
            for part in re.findall(r"\.[A-Za-z_][\w-]*|\[\d+\]|\.\*", selector)]


def _select(doc: object, path: list) -> object:
    for part in path:
        if isinstance(part, int):
            if not isinstance(doc, list) or part >= len(doc):
                return _MISSING
            doc = doc[part]
        elif isinstance(doc, dict) and part in doc:
            doc = doc[part]
        else:
            return _MISSING
    return doc


def _text(value: object) -> object:
    if value is True or value is False:
        return str(value).lower()
    return "null" if value is None else value
