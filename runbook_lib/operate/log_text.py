"""A build log as text and records: phases, lines, errors, test names, paths.

Pure: nothing here calls AWS, so both the reader (:mod:`.logs`) and the classifier
(:mod:`.triage`) build on it without importing each other, and the health report reuses the
same error detection, excerpt and path shortener.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from runbook_lib.core.text import format_duration, iso_time
from runbook_lib.operate import triage_names

_PHASE_MARK = re.compile(r"^\[Container\] \S+ \S+ (?:Entering phase|Phase is) (?P<phase>[A-Z_]+)")
_SRC_DIR = re.compile(r"^\[Container\] \S+ \S+ CODEBUILD_SRC_DIR=(?P<dir>\S+)")
_ERROR_LINE = re.compile(
    r"^\s*not ok \d+|^FAILED |\bERR!|\bnpm error\b|"
    r"\b(?:[A-Za-z]*Error|ERROR|error|Exception)\b[:\s]|^\s*(?:fatal|FATAL)\b|"
    r"\bdenied\b|\bDenied\b|^Killed\b|^Traceback|\bis not authorized\b|"
    r"Cannot connect to the Docker daemon|out of memory|Command did not exit successfully|"
    r"^\S*sh: (?:line )?\d+: .+: (?:command )?not found|^\S+\.go:\d+:\d+: |"
    r"coverage threshold for .* not met")
# Zero counts, YAML-ish "error:" keys (not pip's own "error: externally-managed-environment"
# codes, kebab-case words alone on the line), pytest's ``____ ERROR collecting x ____`` headers,
# and passed tests whose titles say "error" (Jest/Mocha ``✓ throws an error``, TAP ``ok 3 ...``).
_NOT_ERROR = re.compile(r"\b0 (?:errors?|failed)\b|^# fail +0\b|"
                        r"^\s*(?:error|code|name): (?![a-z]+(?:-[a-z]+)+\s*$)|"
                        r"^_{3,} .* _{3,}$|^\s*(?:[✓✔√] |ok \d+ )")
_AGENT_PREFIX = "[Container] "
SOURCE_DIR_VARIABLE = "$CODEBUILD_SRC_DIR"

NOT_AN_ERROR, COMMAND_ERROR, AGENT_ERROR = 0, 1, 2


@dataclass
class Phase:
    """One phase of a build as BatchGetBuilds reports it."""

    name: str
    status: str
    start: datetime | None = None
    end: datetime | None = None
    status_code: str = ""
    message: str = ""

    @property
    def seconds(self) -> float | None:
        if self.start is None or self.end is None:
            return None
        return max((self.end - self.start).total_seconds(), 0.0)

    def row(self) -> tuple[str, str, str, str]:
        return (self.name, self.status or "-", iso_time(self.start, missing="-"),
                format_duration(self.seconds))


PHASE_HEADERS = ("phase", "status", "started", "duration")


@dataclass
class BuildLog:
    """A build's record and, when read whole or filtered, its (redacted) lines."""

    build_id: str
    status: str
    group: str
    stream: str
    lines: list[str] = field(default_factory=list)
    failed_phase: str = ""
    failed_context: str = ""
    phases: list[Phase] = field(default_factory=list)
    status_code: str = ""  # the failed phase's context code (COMMAND_EXECUTION_ERROR...)
    filtered: bool = False  # True: lines are FilterLogEvents matches, not the whole log
    source_dir: str = ""

    @property
    def failing_tests(self) -> list[str]:
        return failing_tests(self.lines)

    @property
    def line_phases(self) -> list[str]:
        return line_phases(self.lines)


def failing_test_name(line: str) -> str:
    """The test one failure line names (TAP, pytest, unittest, Jest, go); empty otherwise."""
    return triage_names.line_test_name(line)


def failing_tests(lines: Iterable[str]) -> list[str]:
    """Names of failed tests in the runners' output, in order, once each (one page: blocks
    such as Mocha's ``N failing`` are read from the lines given)."""
    lines = list(lines)
    found: dict[str, None] = {}
    jest_file = ""
    for j, line in enumerate(lines):
        jest_file = triage_names.jest_file(line) or jest_file
        for name in ([triage_names.line_test_name(line, jest_file)]
                     + triage_names.block_test_names(lines, j)):
            if name:
                found.setdefault(name)
    return list(found)


def line_phases(lines: Iterable[str]) -> list[str]:
    """The build phase each line was written in, from CodeBuild's ``Entering phase`` marks."""
    current, out = "PROVISIONING", []
    for line in lines:
        mark = _PHASE_MARK.match(line)
        if mark:
            current = mark["phase"]
        out.append(current)
    return out


def source_dir_in(line: str) -> str:
    """The build's source directory when ``line`` is CodeBuild's ``CODEBUILD_SRC_DIR=`` line."""
    match = _SRC_DIR.match(line)
    return match["dir"] if match else ""


def error_kind(line: str) -> int:
    """``COMMAND_ERROR`` for a command's error output, ``AGENT_ERROR`` for the CodeBuild
    agent's own error line, ``NOT_AN_ERROR`` otherwise (zero counts are not errors)."""
    if not _ERROR_LINE.search(line) or _NOT_ERROR.search(line):
        return NOT_AN_ERROR
    return AGENT_ERROR if line.startswith(_AGENT_PREFIX) else COMMAND_ERROR


def first_error_index(lines: Iterable[str]) -> int | None:
    """Index of the first line that reads as an error; command output before agent lines."""
    lines = list(lines)
    agent_hit = None
    for i, line in enumerate(lines):
        target = triage_names.error_header(line)
        if target is not None:
            found = triage_names.resolve_header(target, lines, i + 1, triage_names.LOOK_AHEAD)
            return i if found is None else found
        kind = error_kind(line)
        if kind == COMMAND_ERROR:
            return i
        if kind == AGENT_ERROR and agent_hit is None:
            agent_hit = i
    return agent_hit


def excerpt(lines: list[str], index: int, context_lines: int = 3) -> list[tuple[int, str]]:
    """``(line number, text)`` for the line at ``index`` and ``context_lines`` either side."""
    start = max(index - max(context_lines, 0), 0)
    stop = min(index + max(context_lines, 0) + 1, len(lines))
    return [(i + 1, lines[i]) for i in range(start, stop)]


def shorten_path(line: str, source_dir: str) -> str:
    """The build's source directory written as ``$CODEBUILD_SRC_DIR``: shorter, and the same
    from one build to the next."""
    return line.replace(source_dir, SOURCE_DIR_VARIABLE) if source_dir else line


_BUILD_DIR = re.compile(r"(?:/[\w.:@+-]+)+/src/")


def shorten_build_paths(line: str) -> str:
    """Without the source directory at hand: any path up to a checkout's ``/src/`` (CodeBuild's
    /codebuild/output/srcNNN/src/..., the local AWS's state folder) as ``$CODEBUILD_SRC_DIR/``."""
    return _BUILD_DIR.sub(SOURCE_DIR_VARIABLE + "/", line)


def shorten_paths(lines: Iterable[str], source_dir: str) -> list[str]:
    """:func:`shorten_path` over lines."""
    return [shorten_path(line, source_dir) for line in lines]
