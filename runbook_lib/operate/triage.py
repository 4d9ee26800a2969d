"""Why did a build fail, and what to do next: classification, failing command, excerpt.

Pure functions over a :class:`.log_text.BuildLog` (whole or filtered lines) or over a
:class:`.triage_scan.ScanResult` (a log read page by page); nothing here calls AWS. Either way
the log passes once through :class:`.triage_scan.LogScanner`, and only the lines shown (the
excerpt, test names, the missing permission) are redacted. The classes and their order are in
:mod:`.triage_rules`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from runbook_lib.core import redact
from runbook_lib.operate import build_status, log_text
from runbook_lib.operate.log_text import BuildLog
from runbook_lib.operate.triage_rules import (
    ARTIFACT_UPLOAD,
    BUILDSPEC_ERROR,
    INSTALL_COMMAND,
    RULES,
    SERVICE_FAULT,
    SOURCE_DOWNLOAD,
    TEST_COMMAND,
    UNKNOWN,
    Rule,
    rule_named,
)
from runbook_lib.operate.triage_scan import LogScanner, ScanResult

if TYPE_CHECKING:
    from runbook_lib.operate.test_reports import BuildTestReports

__all__ = ["Triage", "classify", "missing_permission", "parse_failing_command", "render_text",
           "scan_lines", "triage_build", "triage_scan"]

_COMMAND = re.compile(r"Error while executing command: (?P<command>.*?)\.? Reason: exit status "
                      r"(?P<code>-?\d+)")
_PAGE = 10_000  # lines fed to the scanner at a time when a whole log is already in memory


@dataclass
class Triage:
    """What went wrong in one build, for the operator: where, what, why, what next."""

    build_id: str
    status: str
    failed_phase: str = ""
    command: str = ""
    exit_code: int | None = None
    category: str = "unknown"
    title: str = "unknown"
    next_step: str = ""
    detail: str = ""  # failing tests, or the missing action and resource
    failing_tests: list[str] = field(default_factory=list)
    error_index: int | None = None  # index into the log's lines
    excerpt: list[tuple[int, str]] = field(default_factory=list)  # (line number, text)
    filtered: bool = False  # the log was read filtered: line numbers count the lines read

    @property
    def error_line(self) -> str:
        for number, text in self.excerpt:
            if self.error_index is not None and number == self.error_index + 1:
                return text
        return ""

    @property
    def failure_found(self) -> bool:
        """A failed build; for a log read without its build, an error line or a known class."""
        if self.status:
            return self.status not in ("SUCCEEDED", "IN_PROGRESS")
        return self.error_index is not None or self.category not in ("unknown", "none")

    def as_dict(self) -> dict[str, Any]:
        """The report as plain JSON-ready data (for ``runbook triage --json``)."""
        return {"build_id": self.build_id, "status": self.status,
                "failure_found": self.failure_found, "failed_phase": self.failed_phase,
                "command": self.command, "exit_code": self.exit_code,
                "category": self.category, "title": self.title, "next_step": self.next_step,
                "detail": self.detail, "failing_tests": list(self.failing_tests),
                "error_line_number": None if self.error_index is None else self.error_index + 1,
                "error_line": self.error_line, "filtered": self.filtered,
                "excerpt": [{"line": n, "text": t} for n, t in self.excerpt]}

    def summary_rows(self) -> list[tuple[str, str]]:
        code = "-" if self.exit_code is None else str(self.exit_code)
        return [("build", self.build_id), ("status", self.status),
                ("failed phase", self.failed_phase or "-"),
                ("failing command", self.command or "-"), ("exit code", code),
                ("classification", self.title), ("detail", self.detail or "-"),
                ("next step", self.next_step)]


def triage_build(log: BuildLog, context_lines: int = 3,
                 reports: BuildTestReports | None = None) -> Triage:
    """Classify the build's failure and cut the excerpt around its first error line.

    ``reports`` (:class:`.test_reports.BuildTestReports`): failing tests named by the
    build's test reports win over those guessed from the log."""
    return triage_scan(log, scan_lines(log.lines, context_lines), reports)


def scan_lines(lines: Iterable[str], context_lines: int = 3) -> ScanResult:
    """One :class:`LogScanner` pass over lines already in memory."""
    scanner = LogScanner(context_lines)
    page: list[str] = []
    for line in lines:
        page.append(line)
        if len(page) == _PAGE:
            scanner.feed(page)
            page = []
    scanner.feed(page)
    return scanner.result()


def triage_scan(log: BuildLog, scan: ScanResult,
                reports: BuildTestReports | None = None) -> Triage:
    """The report for a build from its record (``log``: status, phases) and one scan of its
    lines; the lines shown are redacted and their paths shortened here. ``reports`` as for
    :func:`triage_build`."""
    command, exit_code = parse_failing_command(log.failed_context)
    rule = (_record_rule(log) or build_status.reword(log)
            or _classify(scan.rule_hits, log.status, log.status_code, exit_code, command))
    if log.status == "SUCCEEDED":
        rule = Rule("none", "succeeded", "Nothing to fix: the build succeeded.")
    tests = [redact.redact_line(name) for name in scan.failing_tests]
    result = Triage(log.build_id, log.status, log.failed_phase, command, exit_code,
                    rule.category, rule.title, rule.next_step, failing_tests=tests,
                    filtered=log.filtered)
    if reports is not None and reports.failing:
        result.failing_tests = tests = reports.names()
    action, resource = (redact.redact_line(part) for part in scan.access)
    result.detail = _detail(rule.category, tests, action, resource, scan.access_code)
    if rule in _CONTEXT_RULES and log.failed_context:
        result.detail = redact.redact_line(log.failed_context)
    if rule.category == "access_denied" and action:
        result.next_step = (f"Grant {action}" + (f" on {resource}" if resource else "")
                            + " to the CodeBuild service role (notebook 03_iam_roles), then "
                            "retry the stage.")
    if scan.error is not None:
        source_dir = log.source_dir or scan.source_dir
        result.error_index = scan.error.index
        result.excerpt = [
            (index + 1, log_text.shorten_path(redact.redact_line_in_block(text, in_key)[0],
                                              source_dir))
            for index, text, in_key in scan.error.lines]
    return result


_CONTEXT_RULES = (SERVICE_FAULT, BUILDSPEC_ERROR, SOURCE_DOWNLOAD, ARTIFACT_UPLOAD)


def _record_rule(log: BuildLog) -> Rule | None:
    """What the build record alone decides: a FAULT is CodeBuild's, not the commands'; a
    buildspec the agent refused, a source it could not fetch and artifacts it could not find
    fail outside any command, and only the phase context message says why (the detail)."""
    if log.status == "FAULT":
        return SERVICE_FAULT
    if "YAML_FILE_ERROR" in (log.status_code or "").split("; "):
        return BUILDSPEC_ERROR
    if log.status in ("STOPPED", "TIMED_OUT"):
        return None
    if log.failed_phase == "DOWNLOAD_SOURCE":
        return SOURCE_DOWNLOAD
    if log.failed_phase == "UPLOAD_ARTIFACTS":
        return ARTIFACT_UPLOAD
    return None


def parse_failing_command(context: str) -> tuple[str, int | None]:
    """``(command, exit code)`` from a phase context such as CodeBuild's
    ``Error while executing command: npm test. Reason: exit status 1``."""
    match = _COMMAND.search(context or "")
    if not match:
        return "", None
    return match["command"], int(match["code"])


def classify(lines: Iterable[str], status: str = "", status_code: str = "",
             exit_code: int | None = None, command: str = "") -> Rule:
    """The first rule that matches the status, the exit code or a line; else ``unknown``.

    With no telling line, the failing command decides between install and test failures.
    """
    return _classify(scan_lines(lines, 0).rule_hits, status, status_code, exit_code, command)


def _classify(rule_hits: list[bool], status: str, status_code: str, exit_code: int | None,
              command: str) -> Rule:
    codes = {status, *status_code.split("; ")}
    for rule, hit in zip(RULES, rule_hits, strict=True):
        if codes & set(rule.statuses) or (exit_code is not None and exit_code in
                                          rule.exit_codes) or hit:
            return rule
    if command and INSTALL_COMMAND.match(command):
        return rule_named("dependency_install")
    if command and TEST_COMMAND.match(command):
        return rule_named("test_failure")
    return UNKNOWN


def missing_permission(lines: Iterable[str]) -> tuple[str, str]:
    """``(action, resource)`` from the first "is not authorized to perform" line."""
    return scan_lines(lines, 0).access


def render_text(result: Triage) -> str:
    """The headless report: summary, then the excerpt with the error line marked."""
    width = max(len(k) for k, _ in result.summary_rows())
    out = [f"{k.ljust(width)}  {v}" for k, v in result.summary_rows()]
    if result.excerpt and result.error_index is not None:
        out.append("")
        where = " of the lines read (log filtered server-side)" if result.filtered else ""
        out.append(f"first error at line {result.error_index + 1}{where}:")
        for number, text in result.excerpt:
            mark = ">" if number == result.error_index + 1 else " "
            out.append(f"{mark}{number:>5} | {text}".rstrip())
    return "\n".join(out)


def _detail(category: str, tests: list[str], action: str, resource: str, code: str) -> str:
    if category == "test_failure" and tests:
        return f"failing tests: {', '.join(tests)}"
    if category == "access_denied":
        if action:
            return f"missing {action}" + (f" on {resource}" if resource else "")
        return f"{code}: the log does not name the action" if code else ""
    return ""
