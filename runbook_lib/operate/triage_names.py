"""Which test failed, and which line says why, in the output of real test runners.

Test reports (JUnit, TAP) are the exception in the builds operators bring: most print what
their runner prints. Each runner names a failed test its own way (pytest's ``FAILED id``,
unittest's ``FAIL: name (module.Class.name)``, Jest's ``● suite › test``, Mocha's numbered
``1) suite / test:`` block after ``N failing``, tape's ``# test`` comment before ``not ok``,
go's ``--- FAIL: TestX``), and several print a *header* before the line that says what went
wrong (a ``Traceback``, Jest's ``●``, go's ``--- FAIL``): the error line is then the line the
header announces, found by :func:`resolve_header` a bounded number of lines later.

Pure functions over lines; :mod:`.triage_scan` calls them only on the few lines its keyword
prefilter lets through, and on the lines just after a header.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_TAP = re.compile(r"^\s*not ok \d+ - (?P<name>.+?)\s*$")  # node --test
_TAPE = re.compile(r"^not ok \d+ (?!- )(?P<name>.+?)\s*$")  # tape: the test is the # comment
_TAP_COMMENT = re.compile(r"^# (?!tests\b|pass\b|fail\b|ok\b|Subtest:)(?P<name>.+?)\s*$")
_PYTEST = re.compile(r"^(?:FAILED (?!\()(?P<name>\S+)|ERROR (?P<error>\S+\.py\S*))")
_GO = re.compile(r"^\s*--- FAIL: (?P<name>\S+)")
_JEST = re.compile(r"^\s*● (?P<name>.+?)\s*$")
_JEST_FILE = re.compile(r"^FAIL (?P<file>\S+)")
_JEST_NOT_A_TEST = ("Console", "Test suite failed to run")
_UNITTEST = re.compile(r"^(?:FAIL|ERROR): (?P<name>\S+) \((?P<where>[\w.]+)\)\s*$")
_MOCHA_FAILING = re.compile(r"^\s+\d+ failing\s*$")
_MOCHA_ENTRY = re.compile(r"^\s+\d+\) (?P<title>.+?)\s*$")

LOOK_BACK = 200  # lines searched for tape's test comment
LOOK_AHEAD = 80  # lines searched for the error a header announces, or Mocha's entries
MOCHA_NAMES = 50  # failing tests read from one Mocha block


def line_test_name(line: str, jest_file: str = "") -> str:
    """The test one line names as failed (TAP, pytest, go, Jest, unittest); empty if none.

    ``jest_file``: the last ``FAIL <file>`` Jest printed, named when a whole suite failed."""
    match = _TAP.match(line) or _GO.match(line)
    if match:
        return match["name"]
    match = _PYTEST.match(line)
    if match:
        return match["name"] or match["error"]
    match = _UNITTEST.match(line)
    if match:
        return _unittest_name(match["name"], match["where"])
    match = _JEST.match(line)
    if match:
        name = match["name"]
        return jest_file if name in _JEST_NOT_A_TEST else name
    return ""


def _unittest_name(name: str, where: str) -> str:
    """``module.Class.test`` from Python 3.11's ``test (module.Class.test)`` and older
    ``test (module.Class)``; a module that failed to import is named by itself."""
    if where.startswith("unittest.loader._FailedTest"):
        return name
    return where if where.endswith("." + name) else f"{where}.{name}"


def jest_file(line: str) -> str:
    """The test file of Jest's ``FAIL src/x.test.ts`` line; empty for other lines."""
    match = _JEST_FILE.match(line)
    return match["file"] if match else ""


def block_test_names(lines: list[str], j: int) -> list[str]:
    """Failed tests named by a block that starts at ``lines[j]`` (Mocha's ``N failing``, a
    tape ``not ok`` whose test is the comment above); only the lines given are read."""
    line = lines[j]
    if _MOCHA_FAILING.match(line):
        return _mocha_names(lines, j + 1)
    match = _TAPE.match(line)
    if match:
        for k in range(j - 1, max(j - LOOK_BACK, -1), -1):
            comment = _TAP_COMMENT.match(lines[k])
            if comment:
                return [comment["name"]]
        return [match["name"]]
    return []


def _mocha_names(lines: list[str], start: int) -> list[str]:
    """``1) suite`` / ``nested`` / ``test title:`` entries joined into one name each."""
    names: list[str] = []
    parts: list[str] | None = None
    for line in lines[start:start + LOOK_AHEAD * MOCHA_NAMES]:
        entry = _MOCHA_ENTRY.match(line)
        if entry:
            parts = [entry["title"]]
        elif parts is not None and line.strip():
            parts.append(line.strip())
        else:
            continue
        if parts[-1].endswith(":"):
            names.append(" ".join(parts)[:-1])
            parts = None
            if len(names) == MOCHA_NAMES:
                break
    return names


# -- headers: a line that announces the error a few lines later ---------------------------

def _unindented(line: str) -> bool:
    return bool(line) and not line[0].isspace() and not line.startswith("Traceback")


def _pytest_e(line: str) -> bool:
    return line.startswith("E ")


def _non_blank(line: str) -> bool:
    return bool(line.strip()) and "--- FAIL: " not in line


def _unittest_error(line: str) -> bool:
    return _unindented(line) and not line.startswith("---")


_HEADERS: tuple[tuple[re.Pattern[str], Callable[[str], bool]], ...] = (
    (re.compile(r"^Traceback \(most recent call last\):"), _unindented),
    (re.compile(r"^Traceback:$|ImportError while importing test module"), _pytest_e),
    (re.compile(r"^\s*● "), _non_blank),
    (re.compile(r"^\s*--- FAIL: "), _non_blank),
    (_UNITTEST, _unittest_error),
)


def error_header(line: str) -> Callable[[str], bool] | None:
    """For a header line, the test that picks the error line it announces; else None."""
    for pattern, target in _HEADERS:
        if pattern.search(line):
            return target
    return None


def resolve_header(target: Callable[[str], bool], lines: list[str], start: int,
                   limit: int) -> int | None:
    """Index of the first of ``lines[start:]`` (at most ``limit`` lines) ``target`` accepts."""
    for k in range(start, min(start + limit, len(lines))):
        if target(lines[k]):
            return k
    return None
