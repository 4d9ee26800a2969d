"""DORA metrics from pipeline execution records, and the metric drawn under deploys.

Definitions (each computed over the records given, usually the last N executions):

- **production stage**: ``Deploy-<production_name>``, the stage the pipeline notebook (07)
  declares; named from the parameters, never hard-coded.
- **deployment**: a STANDARD execution whose production stage succeeded, at that stage's end.
  Rollback executions restore, they do not count as deployments.
- **deployment frequency**: deployments per day over the records' span (at least one day).
- **lead time**: from the source revision's commit (its ``AuthorDate`` output variable, git
  sources) to the end of the production stage; unknown for sources without a commit time.
- **change failure rate**: of the production deployment attempts (STANDARD executions that
  reached the production stage and finished), those that failed in production: the production
  stage failed, the execution failed after it, or a rollback of the production stage came
  before the next attempt. A run failing before production (a red build) is not a change
  failure: production never saw it.
- **time to restore**: from a failed execution (any stage) to the next successful production
  deploy (a deployment or a successful rollback); consecutive failures are one incident,
  timed from the first.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from runbook_lib.core.errors import ParameterError, StepError
from runbook_lib.core.params import Params
from runbook_lib.core.session import AwsSession
from runbook_lib.core.text import format_duration, iso_time
from runbook_lib.operate import sample_repo
from runbook_lib.operate.durations import (
    ACTIVE,
    ExecutionRecord,
    StageRecord,
    percentile,
)

SECONDS_PER_DAY = 86400.0


def production_stage(params: Params) -> str:
    """The production deploy stage's name, as runbook_lib.setup.pipeline declares it."""
    return f"Deploy-{params.production_name}"


@dataclass
class Deployment:
    """A successful production deploy of a STANDARD execution."""

    execution_id: str
    commit_id: str
    commit_time: datetime | None
    deployed_at: datetime
    failed: bool = False
    failure_reason: str = ""

    @property
    def lead_time_s(self) -> float | None:
        if self.commit_time is None:
            return None
        return max(0.0, (self.deployed_at - self.commit_time).total_seconds())


@dataclass
class Rollback:
    """A ROLLBACK execution of the production stage."""

    execution_id: str
    target_execution_id: str
    at: datetime
    status: str


@dataclass
class Restore:
    """An incident: from a failed execution to the next successful production deploy."""

    failed_execution_id: str
    failed_at: datetime
    restored_by: str = ""  # execution id; empty while not restored
    restored_at: datetime | None = None

    @property
    def duration_s(self) -> float | None:
        if self.restored_at is None:
            return None
        return max(0.0, (self.restored_at - self.failed_at).total_seconds())


@dataclass
class DoraReport:
    production_stage: str
    executions: int
    span_days: float
    deployments: list[Deployment] = field(default_factory=list)
    attempts: int = 0
    failed_attempts: list[str] = field(default_factory=list)  # execution ids
    rollbacks: list[Rollback] = field(default_factory=list)
    restores: list[Restore] = field(default_factory=list)
    timed_from_push: int = 0  # deploys of sample-history commits (fixed dates): from the push

    @property
    def deployment_frequency_per_day(self) -> float:
        return len(self.deployments) / max(1.0, self.span_days)

    @property
    def lead_times_s(self) -> list[float]:
        return [d.lead_time_s for d in self.deployments if d.lead_time_s is not None]

    @property
    def lead_time_p50_s(self) -> float | None:
        return percentile(self.lead_times_s, 50)

    @property
    def change_failure_rate(self) -> float | None:
        return len(self.failed_attempts) / self.attempts if self.attempts else None

    @property
    def restore_times_s(self) -> list[float]:
        return [r.duration_s for r in self.restores if r.duration_s is not None]

    @property
    def time_to_restore_p50_s(self) -> float | None:
        return percentile(self.restore_times_s, 50)

    @property
    def open_incident(self) -> Restore | None:
        return next((r for r in self.restores if r.restored_at is None), None)


def compute_dora(records: Sequence[ExecutionRecord], production: str) -> DoraReport:
    """The four DORA metrics over ``records`` (any order); pure."""
    records = sorted(records, key=lambda r: r.start or datetime.min.replace(tzinfo=UTC))
    report = DoraReport(production, len(records), _span_days(records))
    commit_times = {r.commit_id: r.commit_time for r in records if r.commit_time}
    events: list[tuple[datetime, str, ExecutionRecord]] = []  # (when, kind, record)
    for record in records:
        stage = record.stage(production)
        when = (stage.start if stage is not None else None) or record.start
        if stage is not None and when is not None:  # a run without any start time has no place
            events += _production_events(report, record, stage, when, commit_times)
        if record.status == "Failed" and record.end is not None:
            events.append((record.end, "failed", record))
    events.sort(key=lambda e: (e[0], e[1] != "failed"))
    _mark_change_failures(report, records, events)
    _find_restores(report, events)
    return report


def _production_events(report: DoraReport, record: ExecutionRecord, stage: StageRecord,
                       when: datetime, commit_times: dict[str, datetime]
                       ) -> list[tuple[datetime, str, ExecutionRecord]]:
    """One run's production events (rollback, attempt, restored), from ``when`` its production
    stage started; adds its rollback or deployment to ``report``."""
    events: list[tuple[datetime, str, ExecutionRecord]] = []
    if record.is_rollback:
        report.rollbacks.append(Rollback(record.execution_id, record.rollback_target, when,
                                         stage.status))
        events.append((when, "rollback", record))
        if stage.status == "Succeeded" and stage.end is not None:
            events.append((stage.end, "restored", record))
    elif stage.status not in ACTIVE and stage.end is not None:  # finished
        events.append((when, "attempt", record))
        if stage.status == "Succeeded":
            commit_time = record.commit_time or commit_times.get(record.commit_id)
            if commit_time is not None and sample_repo.has_fixed_date(commit_time):
                commit_time = record.start
                report.timed_from_push += 1
            report.deployments.append(Deployment(
                record.execution_id, record.commit_id, commit_time, stage.end))
            events.append((stage.end, "restored", record))
    return events


def _mark_change_failures(report: DoraReport, records: Sequence[ExecutionRecord],
                          events: list[tuple[datetime, str, ExecutionRecord]]) -> None:
    """Each attempt's outcome; a rollback between it and the next attempt is found by
    bisection over the rollbacks' times (events are sorted), so this is O(N log N)."""
    by_id = {d.execution_id: d for d in report.deployments}
    attempts = [e for e in events if e[1] == "attempt"]
    rollbacks = [e for e in events if e[1] == "rollback"]
    rollback_times = [e[0] for e in rollbacks]
    report.attempts = len(attempts)
    for index, (when, _, record) in enumerate(attempts):
        stage = record.stage(report.production_stage)
        reason = ""
        if stage is None:  # attempts are runs that reached the stage
            continue
        if stage.status != "Succeeded":
            reason = f"{report.production_stage} {stage.status}"
        elif record.status == "Failed":
            reason = "the execution failed after the production deploy"
        else:
            until = attempts[index + 1][0] if index + 1 < len(attempts) else None
            first = bisect_right(rollback_times, when)
            if first < len(rollbacks) and (until is None or rollback_times[first] < until):
                reason = f"rolled back by {rollbacks[first][2].execution_id}"
        if reason:
            report.failed_attempts.append(record.execution_id)
            if record.execution_id in by_id:
                by_id[record.execution_id].failed = True
                by_id[record.execution_id].failure_reason = reason


def _find_restores(report: DoraReport, events: list[tuple[datetime, str, ExecutionRecord]]
                   ) -> None:
    current: Restore | None = None
    for when, kind, record in events:
        if kind == "failed" and current is None:
            current = Restore(record.execution_id, when)
            report.restores.append(current)
        elif kind == "restored" and current is not None:
            current.restored_by, current.restored_at = record.execution_id, when
            current = None


def _span_days(records: Sequence[ExecutionRecord]) -> float:
    starts = [r.start for r in records if r.start]
    ends = [end for r in records if (end := r.end or r.start)]
    if not starts:
        return 0.0
    return (max(ends) - min(starts)).total_seconds() / SECONDS_PER_DAY


# -- tables -------------------------------------------------------------------------------------

# A timing only ever in a table's last column, so masked outputs keep their layout.
DORA_HEADERS = ("metric", "over", "value")


def dora_rows(report: DoraReport) -> list[tuple[str, str, str]]:
    """The four metrics as table rows, each with what it was measured over."""
    rate = report.change_failure_rate
    open_incident = report.open_incident
    return [
        ("deployment frequency",
         f"{len(report.deployments)} production deploys in {report.executions} executions "
         "(per day over their span, one day at least)",
         f"{report.deployment_frequency_per_day:.1f} per day"),
        ("lead time (median)",
         f"commit to end of {report.production_stage}, {len(report.lead_times_s)} deploys "
         "with a commit time" + (f"; {report.timed_from_push} sample-history commits (fixed "
                                 "dates) timed from their push" if report.timed_from_push
                                 else ""), format_duration(report.lead_time_p50_s)),
        ("change failure rate",
         f"{len(report.failed_attempts)} of {report.attempts} production deploy attempts "
         "failed or were rolled back", "-" if rate is None else f"{100 * rate:.1f}%"),
        ("time to restore (median)",
         f"incidents restored: {len(report.restore_times_s)}"
         + ("; one still open since " + iso_time(open_incident.failed_at) if open_incident
            else ""), format_duration(report.time_to_restore_p50_s)),
    ]


DEPLOYMENT_HEADERS = ("execution", "commit", "committed", "deployed", "change failure",
                      "lead time")


def deployment_rows(report: DoraReport) -> list[tuple[Any, ...]]:
    """Production deployments, newest first."""
    return [(d.execution_id, d.commit_id[:7] or "-", iso_time(d.commit_time) or "-",
             iso_time(d.deployed_at), d.failure_reason if d.failed else "no",
             format_duration(d.lead_time_s))
            for d in reversed(report.deployments)]


RESTORE_HEADERS = ("failed execution", "failed at", "restored by", "time to restore")


def restore_rows(report: DoraReport) -> list[tuple[Any, ...]]:
    return [(r.failed_execution_id, iso_time(r.failed_at), r.restored_by or "not yet",
             format_duration(r.duration_s)) for r in report.restores]


# -- a CloudWatch metric for the deploy timeline ----------------------------------------------


@dataclass
class MetricSeries:
    """Points of one CloudWatch metric (timestamps ascending)."""

    namespace: str
    name: str
    stat: str
    period_s: int
    dimensions: dict[str, str]
    timestamps: list[datetime]
    values: list[float]

    @property
    def label(self) -> str:
        dims = ", ".join(f"{k}={v}" for k, v in sorted(self.dimensions.items()))
        return f"{self.namespace} {self.name} ({self.stat}{', ' + dims if dims else ''})"


def parse_dimensions(text: str) -> dict[str, str]:
    """"Name:Value,Name2:Value2" (notebook parameters cannot hold a second "=") -> dict."""
    out = {}
    for entry in filter(None, (e.strip() for e in (text or "").split(","))):
        name, sep, value = entry.partition(":")
        if not sep or not name.strip() or not value.strip():
            raise ParameterError("metric_dimensions", text,
                                 "comma-separated NAME:VALUE pairs", "Service:sample-app")
        out[name.strip()] = value.strip()
    return out


def metric_period(start: datetime, end: datetime, max_points: int = 500) -> int:
    """A period (seconds, a multiple of 60) that keeps the window under ``max_points``."""
    span = max(60.0, (end - start).total_seconds())
    return max(60, math.ceil(span / max_points / 60) * 60)


def read_metric(session: AwsSession, namespace: str, name: str, start: datetime,
                end: datetime, dimensions: Mapping[str, str] | None = None,
                stat: str = "Average", period_s: int | None = None) -> MetricSeries:
    """One metric over [start, end] with GetMetricData (paginated)."""
    if not namespace or not name:
        raise ParameterError("metric_name", name or "", "a CloudWatch metric needs both "
                             "metric_namespace and metric_name", "AWS/ApplicationELB")
    dims = dict(dimensions or {})
    period = period_s or metric_period(start, end)
    query = {"Id": "m0", "ReturnData": True, "MetricStat": {
        "Metric": {"Namespace": namespace, "MetricName": name,
                   "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()]},
        "Period": period, "Stat": stat}}
    points: dict[datetime, float] = {}
    try:
        paginator = session.client("cloudwatch").get_paginator("get_metric_data")
        for page in paginator.paginate(MetricDataQueries=[query], StartTime=start,
                                       EndTime=end, ScanBy="TimestampAscending"):
            for result in page["MetricDataResults"]:
                points.update(zip(result.get("Timestamps", []), result.get("Values", []),
                                  strict=True))
    except ClientError as err:
        raise StepError(f"get metric data {namespace} {name}: {err}") from err
    times = sorted(points)
    return MetricSeries(namespace, name, stat, period, dims, times, [points[t] for t in times])


def metric_window(records: Sequence[ExecutionRecord], margin_s: float = 600
                  ) -> tuple[datetime, datetime]:
    """From the oldest run's start to the newest run's end, with a margin on both sides."""
    starts = [r.start for r in records if r.start]
    ends = [end for r in records if (end := r.end or r.start)]
    now = datetime.now(UTC)
    start = min(starts) if starts else now - timedelta(days=1)
    end = max(ends) if ends else now
    margin = timedelta(seconds=margin_s)
    return start - margin, min(end + margin, now)


def read_metric_for_records(session: AwsSession, records: Sequence[ExecutionRecord],
                            namespace: str, name: str, dimensions: str = "",
                            stat: str = "Average") -> MetricSeries | None:
    """The operator's metric over the records' window (:func:`metric_window`), or None when
    no metric is named; ``dimensions`` as the notebook takes them ("Name:Value,...")."""
    if not namespace and not name:
        return None
    start, end = metric_window(records)
    return read_metric(session, namespace, name, start, end, parse_dimensions(dimensions), stat)


def describe_metric(series: MetricSeries | None) -> str:
    if series is None:
        return ("no metric named (metric_namespace, metric_name): the deploy timeline is not "
                "drawn")
    return f"{series.label}: {len(series.values)} points, one per {series.period_s} s"
