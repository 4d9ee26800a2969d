"""YAML to composed nodes, with errors that blame the line at fault.

PyYAML reports where it gave up, which is often a line after the mistake: a line missing its
``- `` is reported at the next line ("could not find expected ':'"), and a command whose
continuation holds ``: `` is reported on the continuation, while the fix (quote the entry)
belongs where the entry starts. This module moves the blame to that line. It also finds list
items written with an en or em dash (``– npm ci``, as word processors and web pages render
``-``): YAML reads those as one long string, not as a list, so the mistake is silent unless
someone looks for it.
"""

from __future__ import annotations

import re

import yaml
from yaml.nodes import Node, ScalarNode

from runbook_lib.core.errors import BuildspecError

NULL_TAG = "tag:yaml.org,2002:null"
_DASH_MARKER_RE = re.compile(r"^\s*[\u2010-\u2015\u2212](\s|$)")
_LIST_ITEM_RE = re.compile(r"^\s*-\s+(\S.*)$")
# PyYAML contexts whose mark is where the faulty token starts (not a whole enclosing block).
_TOKEN_CONTEXTS = ("while scanning a simple key", "while scanning a quoted scalar",
                   "while scanning a block scalar", "while scanning an anchor",
                   "while scanning an alias", "while scanning a tag")


def line_of(node: Node) -> int:
    """1-based line where ``node`` starts."""
    return node.start_mark.line + 1


def is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == NULL_TAG


def compose_document(text: str, source: str) -> Node:
    """The document's root node; a YAML error raises :class:`BuildspecError` at its line."""
    if not isinstance(text, str):
        raise BuildspecError(source, None, "the buildspec must be text. Fix: pass the YAML "
                             "as a string")
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as err:
        line, rule, fix = _explain(err, text.splitlines())
        raise BuildspecError(source, line, f"not valid YAML: {rule}. Fix: {fix}") from err
    except yaml.YAMLError as err:
        raise BuildspecError(source, None, f"not valid YAML: {err}. Fix: save the file as "
                             "plain UTF-8 YAML") from err
    except RecursionError as err:
        raise BuildspecError(source, None, "YAML nested too deeply. Fix: a buildspec needs "
                             "only a few levels of nesting") from err
    if root is None:
        raise BuildspecError(source, None, "the buildspec is empty. Fix: start with "
                             "'version: 0.2' and a 'phases' mapping")
    return root


def dash_marker_line(node: Node, text_lines: list[str]) -> int | None:
    """The first line of a scalar that starts with an en/em dash used as a list marker."""
    if not isinstance(node, ScalarNode) or node.style not in (None, ""):
        return None
    first, last = node.start_mark.line, node.end_mark.line
    for index in range(first, min(last, len(text_lines) - 1) + 1):
        if _DASH_MARKER_RE.match(text_lines[index]):
            return index + 1
    return None


def _explain(err: yaml.MarkedYAMLError, text_lines: list[str]) -> tuple[int | None, str, str]:
    """(line at fault, what is wrong, how to fix it) for a PyYAML error."""
    problem = err.problem or str(err)
    problem_line = err.problem_mark.line if err.problem_mark else None
    context_line = err.context_mark.line if err.context_mark else None
    if problem_line is None:
        return (context_line + 1 if context_line is not None else None), problem, \
            "check indentation and quote commands that contain ': '"
    if err.context in _TOKEN_CONTEXTS and context_line is not None:
        return _explain_token(err.context, problem, context_line, problem_line)
    if "\t" in problem or "'\\t'" in problem:
        return problem_line + 1, problem, "indent with spaces; YAML does not allow tabs"
    if problem.startswith("mapping values are not allowed"):
        start = _continuation_start(text_lines, problem_line)
        if start != problem_line:
            return start + 1, (f"the entry starting here continues on line {problem_line + 1}"
                               " and holds ': ', which YAML reads as a key"), \
                "put the whole entry in double quotes, or use a '>' block for a long command"
        if _indented_under_value(text_lines, problem_line):
            return problem_line + 1, ("this key is indented under a key that already has a "
                                      "value, so YAML reads it as part of that value"), \
                "line it up with the keys of its own mapping"
        return problem_line + 1, "this line holds ': ' where YAML expects a plain value", \
            "put the whole entry in double quotes"
    return problem_line + 1, problem, "check the indentation of this line against the lines " \
        "above it (keys of one mapping line up; list items start with '- ')"


def _explain_token(context: str, problem: str, context_line: int, problem_line: int
                   ) -> tuple[int, str, str]:
    if context == "while scanning a simple key":
        return context_line + 1, ("this line is neither 'key: value' nor a '- ' list item "
                                  f"({problem} by line {problem_line + 1})"), \
            "start it with '- ' if it is a command, or add ':' if it is a key"
    return context_line + 1, f"{context.removeprefix('while scanning ')} starting here is " \
        f"not closed ({problem} at line {problem_line + 1})", \
        "close the quote or fix the block on this line"


def _continuation_start(text_lines: list[str], index: int) -> int:
    """Index of the ``- item`` line whose plain text line ``index`` continues (else itself)."""
    if index >= len(text_lines):
        return index
    indent = _indent(text_lines[index])
    probe = index - 1
    while probe >= 0:
        line = text_lines[probe]
        if line.strip() and not line.lstrip().startswith("#") and _indent(line) < indent:
            item = _LIST_ITEM_RE.match(line)
            return probe if item and ": " not in item[1] else index
        probe -= 1
    return index


def _indented_under_value(text_lines: list[str], index: int) -> bool:
    """Whether line ``index`` is a key indented deeper than a ``key: value`` line above it."""
    above = [line for line in text_lines[:index] if line.strip() and not
             line.lstrip().startswith("#")]
    if not above or index >= len(text_lines):
        return False
    previous = above[-1]
    key, colon, value = previous.partition(": ")
    return bool(colon and value.strip() and not key.lstrip().startswith("- ")
                and _indent(text_lines[index]) > _indent(previous))


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))
