"""A build's CodeBuild test reports: counts and the failing tests, read before the log.

When a buildspec declares ``reports``, CodeBuild keeps each test case with its suite, status,
message and the report file it came from. That is exact where reading the build log is a
guess (each test runner prints failures its own way), so triage, the health report and the
approvals cockpit ask here first and fall back to the log when a build has no test report.
Reads are paginated (DescribeTestCases, filtered to FAILED and ERROR on the server).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from runbook_lib.core.session import AwsSession

FAILING_STATUSES = ("FAILED", "ERROR")
TEST_HEADERS = ("suite", "test", "message", "file")
_BATCH = 100
_UNREADABLE = ("AccessDeniedException", "ResourceNotFoundException", "InvalidInputException")


@dataclass(frozen=True)
class FailingTest:
    """One failed (or erroring) test case: where it lives and what it said."""

    suite: str
    test: str  # prefix.name, as the report names it
    message: str
    file: str  # the raw report file (testRawDataPath)
    status: str = "FAILED"
    report: str = ""  # the report group's name

    def label(self) -> str:
        return f"{self.suite}: {self.test}" if self.suite else self.test


@dataclass
class ReportCounts:
    """One test report's summary, as BatchGetReports gives it."""

    name: str
    status: str
    total: int
    status_counts: dict[str, int] = field(default_factory=dict)


@dataclass
class BuildTestReports:
    """Every test report of one build; ``note`` says why none could be read, if so."""

    build_id: str
    reports: list[ReportCounts] = field(default_factory=list)
    failing: list[FailingTest] = field(default_factory=list)
    note: str = ""

    @property
    def found(self) -> bool:
        return bool(self.reports)

    def count(self, *statuses: str) -> int:
        return sum(r.status_counts.get(s, 0) for r in self.reports for s in statuses)

    @property
    def counts(self) -> tuple[int, int, int, int]:
        """(total, passed, failed, skipped); errors count as failed."""
        return (sum(r.total for r in self.reports), self.count("SUCCEEDED"),
                self.count(*FAILING_STATUSES), self.count("SKIPPED"))

    def names(self) -> list[str]:
        return [t.label() for t in self.failing]

    def rows(self) -> list[tuple[str, str, str, str]]:
        """(suite, test, message, file) rows for ``nb.table(rows, TEST_HEADERS)``; one row
        says why there is none."""
        return [(t.suite or "-", t.test, _first_line(t.message) or "-", t.file or "-")
                for t in self.failing] or [("-", "-", self.render(), "-")]

    def render(self) -> str:
        if not self.found:
            return self.note or "no test report"
        total, passed, failed, skipped = self.counts
        text = f"{passed} passed, {failed} failed"
        if skipped:
            text += f", {skipped} skipped"
        reports = "report" if len(self.reports) == 1 else "reports"
        return f"{text} (of {total}, from {len(self.reports)} test {reports})"


def read_test_reports(session: AwsSession, build_id: str, max_failing: int = 50
                      ) -> BuildTestReports:
    """The build's test reports and up to ``max_failing`` failing tests."""
    result = BuildTestReports(build_id)
    client = session.client("codebuild")
    try:
        builds = client.batch_get_builds(ids=[build_id]).get("builds") or []
        arns = list((builds[0].get("reportArns") if builds else None) or [])
        reports = _reports(client, arns)
    except ClientError as err:
        return _unreadable(result, err)
    result.reports = [ReportCounts(r.get("name", ""), r.get("status", ""),
                                   (r.get("testSummary") or {}).get("total", 0),
                                   dict((r.get("testSummary") or {}).get("statusCounts") or {}))
                      for r in reports]
    try:
        for report in reports:
            for status in FAILING_STATUSES:
                if len(result.failing) >= max_failing:
                    break
                if (report.get("testSummary") or {}).get("statusCounts", {}).get(status):
                    result.failing += _failing(client, report, status,
                                               max_failing - len(result.failing))
    except ClientError as err:
        result.note = f"failing tests unreadable: {err.response['Error']['Code']}"
    return result


def failing_tests_or(session: AwsSession, build_id: str, from_log: list[str]) -> list[str]:
    """Failing tests from the build's test reports, else ``from_log`` (the log's guess)."""
    reports = read_test_reports(session, build_id)
    return reports.names() if reports.failing else from_log


def _reports(client: Any, arns: list[str]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for start in range(0, len(arns), _BATCH):
        found += client.batch_get_reports(reportArns=arns[start:start + _BATCH])["reports"]
    return [r for r in found if r.get("type", "TEST") == "TEST"]


def _failing(client: Any, report: dict[str, Any], status: str, limit: int) -> list[FailingTest]:
    tests: list[FailingTest] = []
    paginator = client.get_paginator("describe_test_cases")
    for page in paginator.paginate(reportArn=report["arn"], filter={"status": status}):
        for case in page.get("testCases") or []:
            prefix, name = case.get("prefix", ""), case.get("name", "")
            tests.append(FailingTest(
                case.get("testSuiteName", ""), f"{prefix}.{name}" if prefix else name,
                case.get("message", ""), case.get("testRawDataPath", ""),
                case.get("status", status), report.get("name", "")))
            if len(tests) >= limit:
                return tests
    return tests


def _unreadable(result: BuildTestReports, err: ClientError) -> BuildTestReports:
    code = err.response["Error"]["Code"]
    if code not in _UNREADABLE:
        raise err
    result.note = f"test reports unreadable ({code}); falling back to the build log"
    return result


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""
