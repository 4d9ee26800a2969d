"""One pass over a build log, page by page, keeping only what triage reports.

A CodeBuild log can hold a million lines, almost none of which matter. Each page is joined and
lower-cased once, and searched (in C) for the few keywords without which no triage pattern can
match; only the lines holding one are tested with the rules' regular expressions. The excerpt
is cut from a bounded window (the last ``context`` lines of the previous page and the lines
after the error), so memory is a page plus the context, never the log. Nothing is redacted
here: the caller masks the few lines it shows.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import accumulate

from runbook_lib.core import redact
from runbook_lib.operate import log_text, triage_names
from runbook_lib.operate.triage_rules import ACCESS, ACCESS_CODE, RULE_PATTERNS

# Lower-case fragments such that any line one of triage's patterns (log_text's error and test
# patterns, every rule in triage_rules, the access and source-dir patterns, a private key
# marker) can match holds at least one. tests/unit/operate/test_triage.py checks it on every case.
KEYWORDS = (
    "err", "fail", "not ", "exception", "fatal", "denied", "killed", "traceback", "auth",
    "memory", "timed", "login", "toomanyrequests", "npm ci", "lock", "matching", "impossible",
    "codebuild_src_dir=", "private key", "●", ".go:")


@dataclass
class Window:
    """The lines around one error: ``(index, text, in_key_block)``; ``pending`` still to come."""

    index: int
    lines: list[tuple[int, str, bool]] = field(default_factory=list)
    pending: int = 0


@dataclass
class ScanResult:
    """What one pass over the log found; lines are raw (the caller redacts what it shows)."""

    line_count: int = 0
    source_dir: str = ""
    failing_tests: list[str] = field(default_factory=list)
    rule_hits: list[bool] = field(default_factory=list)  # one per triage_rules.RULES
    error: Window | None = None
    access: tuple[str, str] = ("", "")  # (action, resource) of the first "not authorized"
    access_code: str = ""
    tail: list[tuple[int, str, bool]] = field(default_factory=list)  # the last context lines


class LogScanner:
    """Feed pages of log lines in order with :meth:`feed`; read :meth:`result` at the end."""

    def __init__(self, context_lines: int = 3):
        self.context = max(context_lines, 0)
        self.count = 0
        self.source_dir = ""
        self.tests: dict[str, None] = {}
        self.hits = [False] * len(RULE_PATTERNS)
        self.first_hit = len(RULE_PATTERNS)  # rules after the first one matched need no test
        self.command_error: Window | None = None
        self.agent_error: Window | None = None
        self.access: tuple[str, str] = ("", "")
        self.access_code = ""
        self.in_key = False
        self.tail: list[tuple[int, str, bool]] = []
        self.jest_file = ""
        # A header seen (Traceback, Jest's ●, go's --- FAIL): its window, the test for the
        # error line it announces, and how many more lines may hold that line.
        self.header: Window | None = None
        self.header_target: Callable[[str], bool] | None = None
        self.header_left = 0

    def feed(self, lines: list[str]) -> None:
        """One page of lines (no trailing newlines), in log order."""
        if not lines:
            return
        text = "\n".join(lines)
        low = text.lower()
        if not text.isascii():  # lower() may change lengths outside ASCII
            lowered = [line.lower() for line in lines]
            low, sizes = "\n".join(lowered), map(len, lowered)
        else:
            sizes = map(len, lines)
        states = self._key_states(lines, low)
        self._continue_windows(lines, states)
        if self.header is not None:
            self._resolve_header(lines, 0, states)
        candidates = _candidate_lines(low, sizes)
        for j in candidates:
            if not (states[j] if states else self.in_key):
                self._examine(lines, j, states)
        self._end_page(lines, states)

    def result(self) -> ScanResult:
        error = self.command_error or self.header or self.agent_error
        return ScanResult(self.count, self.source_dir, list(self.tests), list(self.hits),
                          error, self.access, self.access_code, list(self.tail))

    # -- per page ---------------------------------------------------------------------------

    def _key_states(self, lines: list[str], low: str) -> list[bool] | None:
        """Per line, whether a private key block is open before it; None: the same for all."""
        if "private key" not in low:
            return None
        states, in_key = [], self.in_key
        for line in lines:
            states.append(in_key)
            in_key = redact.key_block_state(line, in_key)
        return states

    def _continue_windows(self, lines: list[str], states: list[bool] | None) -> None:
        for window in (self.command_error, self.agent_error, self.header):
            if window and window.pending:
                taken = lines[:window.pending]
                window.lines += [(self.count + j, line, states[j] if states else self.in_key)
                                 for j, line in enumerate(taken)]
                window.pending -= len(taken)

    def _end_page(self, lines: list[str], states: list[bool] | None) -> None:
        if self.context:
            start = max(len(lines) - self.context, 0)
            page_tail = [(self.count + j, lines[j], states[j] if states else self.in_key)
                         for j in range(start, len(lines))]
            self.tail = (self.tail + page_tail)[-self.context:]
        if states:
            self.in_key = redact.key_block_state(lines[-1], states[-1])
        self.count += len(lines)

    # -- per candidate line -----------------------------------------------------------------

    def _examine(self, lines: list[str], j: int, states: list[bool] | None) -> None:
        line = lines[j]
        if not self.source_dir:
            self.source_dir = log_text.source_dir_in(line)
        self.jest_file = triage_names.jest_file(line) or self.jest_file
        for name in ([triage_names.line_test_name(line, self.jest_file)]
                     + triage_names.block_test_names(lines, j)):
            if name:
                self.tests.setdefault(name)
        if self.command_error is None and self.header is None:
            self._examine_error(lines, j, states)
        for r in range(self.first_hit):
            if not self.hits[r] and RULE_PATTERNS[r].search(line):
                self.hits[r] = True
                self.first_hit = r
                break
        self._examine_access(line)

    def _examine_error(self, lines: list[str], j: int, states: list[bool] | None) -> None:
        """The first command error, or the line a header (Traceback, ●, --- FAIL) announces;
        the CodeBuild agent's own error line is kept apart as a fallback."""
        line = lines[j]
        target = triage_names.error_header(line)
        if target is not None:
            self.header = self._window(lines, j, states)
            self.header_target, self.header_left = target, triage_names.LOOK_AHEAD
            self._resolve_header(lines, j + 1, states)
            return
        kind = log_text.error_kind(line)
        if kind == log_text.COMMAND_ERROR:
            self.command_error = self._window(lines, j, states)
        elif kind == log_text.AGENT_ERROR and self.agent_error is None:
            self.agent_error = self._window(lines, j, states)

    def _resolve_header(self, lines: list[str], start: int, states: list[bool] | None) -> None:
        """Look for the error line the open header announces from ``lines[start]`` on; the
        header line itself stands for the error when none comes within the limit."""
        if self.header_target is None:  # no header is open
            return
        found = triage_names.resolve_header(self.header_target, lines, start, self.header_left)
        if found is not None:
            self.command_error = self._window(lines, found, states)
        else:
            self.header_left -= len(lines) - start
            if self.header_left > 0:
                return
            self.command_error = self.header
        self.header = None

    def _examine_access(self, line: str) -> None:
        if not self.access[0]:
            match = ACCESS.search(line)
            if match:
                self.access = (match["action"], (match["resource"] or "").rstrip(".,"))
        if not self.access_code:
            match = ACCESS_CODE.search(line)
            if match:
                self.access_code = match["code"] or match[0]

    def _window(self, lines: list[str], j: int, states: list[bool] | None) -> Window:
        """The error line with ``context`` lines before (this page, else the last one's tail)
        and the lines after that this page holds; the rest arrive with the next page."""
        n = self.context

        def state(k: int) -> bool:
            return states[k] if states else self.in_key

        before = [(self.count + k, lines[k], state(k)) for k in range(max(j - n, 0), j)]
        need = n - len(before)
        if need:
            before = self.tail[-need:] + before
        after_stop = min(j + n + 1, len(lines))
        after = [(self.count + k, lines[k], state(k)) for k in range(j, after_stop)]
        return Window(self.count + j, before + after, n - (after_stop - j - 1))


def _candidate_lines(low: str, sizes: Iterable[int]) -> list[int]:
    """Indices of the lines (of a page joined by newlines) that hold a keyword, in order."""
    positions = []
    for keyword in KEYWORDS:
        at = low.find(keyword)
        while at >= 0:
            positions.append(at)
            at = low.find(keyword, at + 1)
    if not positions:
        return []
    starts = list(accumulate((size + 1 for size in sizes), initial=0))
    return sorted({bisect_right(starts, at) - 1 for at in positions})
