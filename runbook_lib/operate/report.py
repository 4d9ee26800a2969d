"""The pipeline health report: what ran in the last N days, how it went, what failed and why.

:func:`build_health_report` reads the history once (:mod:`.report_reading`: each execution
page and each action page once, records built as the pages arrive) and each failed build's
log once, page by page, through triage's scanner; everything else here is pure: tables and the
log excerpt around the first error (triage's error detection and path shortener). Its figure is
drawn by :mod:`runbook_lib.views.operate_plots` (``execution_duration_data``).
``notebooks/reports/pipeline_health.ipynb`` displays it and ``runbook report`` renders that
notebook to HTML with the code hidden.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from runbook_lib.core import redact
from runbook_lib.core.errors import RunbookError, StepError
from runbook_lib.core.session import AwsSession
from runbook_lib.core.text import format_duration, iso_time
from runbook_lib.operate import executions, log_text, logs, report_reading, test_reports
from runbook_lib.operate.build_status import status_meaning
from runbook_lib.operate.durations import ExecutionRecord, percentile
from runbook_lib.operate.executions import FailureDetails
from runbook_lib.operate.gates import GateCounts, gate_counts
from runbook_lib.operate.summaries import ExecutionSummary
from runbook_lib.operate.triage_scan import ScanResult


class ReportError(RunbookError):
    """The health report cannot be produced; the message says why and what to do."""


@dataclass
class RecentFailure:
    """A failed execution with its failed action, failing tests and a log excerpt."""

    execution: ExecutionSummary
    details: FailureDetails | None
    failing_tests: list[str] = field(default_factory=list)
    excerpt: list[str] = field(default_factory=list)

    @property
    def headline(self) -> str:
        when = _when(self.execution.start_time)
        commit = self.execution.commit_id[:7] or "-"
        where = (f"{self.details.stage}/{self.details.action}" if self.details
                 else "no failed action recorded")
        tests = f"; failing tests: {', '.join(self.failing_tests)}" if self.failing_tests else ""
        build = self.details.build_status if self.details else ""
        said = f" (build {status_meaning(build)})" if build not in ("", "FAILED") else ""
        return f"{when} commit {commit}: failed in {where}{said}{tests}"


@dataclass
class HealthReport:
    pipeline: str
    days: int
    since: datetime
    until: datetime
    executions: list[ExecutionSummary] = field(default_factory=list)  # newest first
    failures: list[RecentFailure] = field(default_factory=list)  # newest first
    # The same executions with stages and actions, oldest first: what runbook_lib.operate.durations,
    # runbook_lib.operate.dora and their plots take.
    records: list[ExecutionRecord] = field(default_factory=list)
    gates: GateCounts | None = None  # what the release gates did in the window

    def status_counts(self) -> dict[str, int]:
        return dict(sorted(Counter(e.status for e in self.executions).items()))

    @property
    def failure_rate(self) -> float:
        """Failed among finished executions (superseded and stopped ones count as finished)."""
        finished = [e for e in self.executions if e.finished]
        return sum(e.status == "Failed" for e in finished) / len(finished) if finished else 0.0

    def summary_rows(self) -> list[tuple[str, str]]:
        counts = self.status_counts()
        durations = [d for d in (execution_seconds(e) for e in self.executions
                                 if e.status == "Succeeded") if d is not None]
        return [
            ("pipeline", self.pipeline),
            ("window", f"{_when(self.since)} to {_when(self.until)} ({self.days} d)"),
            ("executions", str(len(self.executions))),
            ("by status", ", ".join(f"{k} {v}" for k, v in counts.items()) or "-"),
            ("failure rate", f"{self.failure_rate:.0%}"),
            ("median successful run", format_duration(percentile(durations, 50))),
            ("release gates", self.gates.summary() if self.gates else "-"),
        ]

    def execution_rows(self) -> list[tuple[str, str, str, str, str]]:
        return [(_when(e.start_time), e.status, e.trigger_text, e.commit_id[:7] or "-",
                 format_duration(execution_seconds(e))) for e in self.executions]


SUMMARY_HEADERS = ("measure", "value")
EXECUTION_HEADERS = ("started", "status", "trigger", "commit", "duration")


def build_health_report(session: AwsSession, pipeline: str, days: int = 30,
                        now: datetime | None = None, max_failures: int = 3,
                        on_progress: Callable[[str], None] | None = None) -> HealthReport:
    """Executions of the last ``days`` days and the newest ``max_failures`` failures with their
    log excerpts; raises :class:`ReportError` when there is nothing to report on.

    ``on_progress`` receives a line after each page read ("read 300 executions, ..."), so a
    long history shows it is moving.
    """
    if days < 1:
        raise ReportError(f"days={days}: the window must be at least 1 day. Fix: --days 7")
    until = now or datetime.now(UTC)
    since = until - timedelta(days=days)
    try:
        history = report_reading.read_history(session, pipeline, since, until, on_progress)
    except StepError as err:
        raise ReportError(f"cannot read the executions of {pipeline}: {err}") from err
    if not history.executions:
        raise ReportError(f"{pipeline} has no executions since {_when(since)} (the last {days} "
                          "days). Fix: widen the window with --days, or check the pipeline "
                          "name and region.")
    report = HealthReport(pipeline, days, since, until, history.executions,
                          records=history.records)
    report.gates = gate_counts(session, pipeline,
                               within={e.execution_id for e in history.executions},
                               declaration=history.declaration, runs=history.runs)
    for failed in [e for e in history.executions if e.status == "Failed"][:max_failures]:
        report.failures.append(_recent_failure(session, pipeline, failed))
    return report


def _recent_failure(session: AwsSession, pipeline: str, execution: ExecutionSummary
                    ) -> RecentFailure:
    details = executions.failure_details(session, pipeline, execution.execution_id)
    failure = RecentFailure(execution, details)
    if details and details.build_id:
        record, scan = logs.scan_build_log(session, details.build_id, _EXCERPT_LIMIT)
        failure.failing_tests = test_reports.failing_tests_or(
            session, details.build_id, [redact.redact_line(t) for t in scan.failing_tests])
        failure.excerpt = excerpt_of(scan, record.source_dir or scan.source_dir)
    return failure


_EXCERPT_LIMIT = 20


def excerpt_of(scan: ScanResult, source_dir: str = "", before: int = 3, after: int = 8,
               limit: int = _EXCERPT_LIMIT) -> list[str]:
    """From one scan of the log: the lines around the first error, else its last lines;
    redacted, with the build's paths shortened."""
    if scan.error is not None:
        low, high = scan.error.index - before, scan.error.index + after
        window = [(t, k) for i, t, k in scan.error.lines if low <= i <= high][:limit]
    else:
        window = [(t, k) for _, t, k in scan.tail[-limit:]]
    return [_shown(redact.redact_line_in_block(text, in_key)[0], source_dir)
            for text, in_key in window]


def log_excerpt(lines: list[str], before: int = 3, after: int = 8, limit: int = _EXCERPT_LIMIT
                ) -> list[str]:
    """:func:`excerpt_of` for lines already in memory."""
    from runbook_lib.operate import triage

    return excerpt_of(triage.scan_lines(lines, max(before, after, limit)), "", before, after,
                      limit)


def _shown(line: str, source_dir: str) -> str:
    return log_text.shorten_build_paths(log_text.shorten_path(line, source_dir))


def execution_seconds(execution: ExecutionSummary) -> float | None:
    """Start to last update of a finished execution; None while it runs."""
    if not (execution.finished and execution.start_time and execution.last_update_time):
        return None
    return max(0.0, (execution.last_update_time - execution.start_time).total_seconds())


# -- helpers --------------------------------------------------------------------------------------


def _when(moment: datetime | None) -> str:
    """The report's times: core.text's ISO form, '-' when unknown."""
    return iso_time(moment, missing="-")
