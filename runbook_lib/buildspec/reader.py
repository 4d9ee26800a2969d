"""Generic shapes of a buildspec (mappings, scalars, flags, lists) read from composed YAML.

The section readers in :mod:`validate` and :mod:`batch` walk the document with these, so
every value they accept has its line recorded and every refusal names the field, the value,
the rule and the fix. Where CodeBuild's reference is silent (an unknown key, a duplicate key)
the reader records a :class:`SpecWarning` and goes on, as CodeBuild does, instead of refusing.
"""

from __future__ import annotations

import difflib
from typing import NoReturn

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from runbook_lib.buildspec.model import PHASE_NAMES, TOP_LEVEL_KEYS, PathKey, SpecWarning
from runbook_lib.buildspec.yaml_lines import dash_marker_line, is_null, line_of
from runbook_lib.core.errors import BuildspecError

_TRUE = ("yes", "true", "on")
_FALSE = ("no", "false", "off")


def dotted(path: PathKey) -> str:
    """``("phases", "build", "commands", 0)`` -> ``phases.build.commands[0]``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "the document"


def suggest(word: str, choices: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    return f"use one of: {', '.join(choices)}"


def _misplaced(key: str, path: PathKey) -> str:
    """A fix for a real key at the wrong depth (the usual indentation slip), else ""."""
    if key in PHASE_NAMES and path != ("phases",):
        return f"'{key}' is a phase: indent it directly under 'phases:'"
    if key in TOP_LEVEL_KEYS and path:
        return f"'{key}' is a top-level key: start it at the beginning of the line"
    return ""


class NodeReader:
    """Reads values along a path, recording lines (``lines``) and warnings (``warnings``)."""

    def __init__(self, source: str, text: str) -> None:
        self.source = source
        self.text_lines = text.splitlines()
        self.lines: dict[PathKey, int] = {}
        self.warnings: list[SpecWarning] = []

    def fail(self, where: Node | int | None, rule: str, fix: str) -> NoReturn:
        """Raise for a node, or a line number when the error is about a key."""
        line = line_of(where) if isinstance(where, Node) else where
        raise BuildspecError(self.source, line, f"{rule}. Fix: {fix}")

    def warn(self, where: Node | int | None, rule_id: str, message: str, fix: str) -> None:
        line = line_of(where) if isinstance(where, Node) else where
        self.warnings.append(SpecWarning(line, rule_id, message, fix))

    def mapping(self, node: Node, path: PathKey, known: tuple[str, ...] | None = None
                ) -> dict[str, Node]:
        """Keys to value nodes. A key outside ``known`` is kept and warned about; a repeated
        key warns and the later value wins (what YAML loaders, CodeBuild's included, do)."""
        if not isinstance(node, MappingNode) and not path:
            self.fail(node, "a buildspec must be a YAML mapping",
                      "start with 'version: 0.2' and a 'phases:' mapping")
        if not isinstance(node, MappingNode):
            self.fail(node, f"{dotted(path)} must be a mapping of 'key: value' lines",
                      "indent its entries under it as 'key: value'")
        result: dict[str, Node] = {}
        for key_node, value in node.value:
            if not isinstance(key_node, ScalarNode) or is_null(key_node):
                self.fail(key_node, f"{dotted(path)} has a key that is not a plain name",
                          "use plain text keys")
            key = key_node.value
            if known is not None and key not in known:
                self.warn(key_node, "unknown-key", f"unknown key '{key}' in {dotted(path)}: "
                          "CodeBuild does not use it",
                          _misplaced(key, path) or suggest(key, known) + " (or remove it)")
            if key in result:
                self.warn(key_node, "duplicate-key", f"duplicate key '{key}' in "
                          f"{dotted(path)}: the earlier one at line "
                          f"{self.lines[(*path, key)]} is ignored", "keep one of the two")
            self.lines[(*path, key)] = line_of(key_node)
            result[key] = value
        return result

    def text(self, node: Node, path: PathKey, what: str = "a single value") -> str:
        if not isinstance(node, ScalarNode) or is_null(node):
            self.fail(node, f"{dotted(path)} must be {what}",
                      "write it on the same line after the colon; quote it if it holds ': '")
        return node.value

    def flag(self, node: Node, path: PathKey) -> bool:
        value = self.text(node, path, "yes or no").strip().lower()
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        self.fail(node, f"{dotted(path)} must be yes or no, not '{node.value}'",
                  "write yes or no")

    def choice(self, node: Node, path: PathKey, choices: tuple[str, ...],
               any_case: bool = False) -> str:
        value = self.text(node, path)
        found = value.upper() if any_case else value
        if found not in choices:
            self.fail(node, f"{dotted(path)} must be one of {', '.join(choices)}, not "
                      f"'{value}'", suggest(found, choices))
        return found

    def strings(self, node: Node, path: PathKey, what: str, required: bool = False
                ) -> tuple[str, ...]:
        """A list of plain strings (commands, paths), or one string for a list of one (the
        form AWS's own examples use: ``files: imagedefinitions.json``)."""
        self.check_dash_markers(node, path)
        if isinstance(node, ScalarNode) and not is_null(node):
            if not node.value.strip():
                self.fail(node, f"{dotted(path)} must not be empty", f"write the {what}")
            self.lines[(*path, 0)] = line_of(node)
            return (node.value,)
        if is_null(node) and not required:
            self.warn(node, "empty-list", f"{dotted(path)} is empty", f"list the {what}, or "
                      f"remove '{path[-1]}:'")
            return ()
        if not isinstance(node, SequenceNode):
            self.fail(node, f"{dotted(path)} must be a list of {what}",
                      f"write each of the {what} on its own line starting with '- '")
        items = tuple(self.item(item, (*path, index), what)
                      for index, item in enumerate(node.value))
        if required and not items:
            self.fail(node, f"{dotted(path)} must list at least one of the {what}",
                      f"add one line starting with '- ' under {path[-1]}")
        return items

    def item(self, item: Node, path: PathKey, what: str) -> str:
        if isinstance(item, MappingNode):
            self.fail(item, f"{dotted(path)} was read as a mapping because it contains ': '",
                      "put the whole entry in double quotes")
        if not isinstance(item, ScalarNode) or is_null(item) or not item.value.strip():
            self.fail(item, f"{dotted(path)} must be a non-empty string",
                      f"write one of the {what} as text after '- '")
        self.check_dash_markers(item, path)
        self.lines[path] = line_of(item)
        return item.value

    def check_dash_markers(self, node: Node, path: PathKey) -> None:
        line = dash_marker_line(node, self.text_lines)
        if line is not None:
            self.fail(line, f"{dotted(path)}: this line starts with a dash that is not '-' "
                      "(an en or em dash, as text editors and web pages render it), so YAML "
                      "reads it as text, not as a list item",
                      "replace it with a plain '-' (hyphen-minus)")

    def require(self, keys: dict[str, Node], key: str, node: Node, path: PathKey) -> Node:
        if key not in keys:
            self.missing(keys, key, node, path, f"{dotted(path)} needs '{key}'",
                         f"add '{key}:' under it")
        return keys[key]

    def missing(self, keys: dict[str, Node], key: str, node: Node, path: PathKey, rule: str,
                fix: str) -> NoReturn:
        """Refuse a missing required key; blame a misspelling of it when there is one."""
        close = difflib.get_close_matches(key, list(keys), n=1, cutoff=0.6)
        if close:
            self.fail(self.lines[(*path, close[0])], f"{rule}; '{close[0]}' here is not a key "
                      "CodeBuild knows", f"did you mean '{key}'?")
        self.fail(node, rule, fix)
