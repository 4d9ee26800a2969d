"""Where a pipeline's time goes: per-execution, per-stage and per-action records and their maths.

The records come from two paginated List calls: every page of ListPipelineExecutions (AWS
documents no order, so the newest N by start time are known only at the end), then the action
executions of those runs (:func:`.summaries.action_items`: unfiltered pages, many runs a
page, or one filtered listing per run when that takes fewer calls). One GetPipeline gives the
stage order. Everything
after the reads (:func:`build_records`, percentiles, failure rates) is pure and unit-tested.
Records go out as CSV and JSON (:func:`.records_io.save_records`) for other tools. DORA
metrics, and the CloudWatch metric drawn under production deploys and rollbacks, are in
:mod:`.dora`.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from runbook_lib.core.errors import ParameterError, StepError
from runbook_lib.core.session import AwsSession
from runbook_lib.core.text import format_duration, iso_time
from runbook_lib.operate import revisions
from runbook_lib.operate.summaries import action_items

ACTIVE = ("InProgress", "Stopping")
_NEVER_STARTED = datetime.min.replace(tzinfo=UTC)


@dataclass(slots=True)  # slots: 100,000 executions fit in memory
class ActionRecord:
    """One action execution (one attempt) of one pipeline execution."""

    execution_id: str
    stage: str
    action: str
    category: str
    provider: str
    status: str
    start: datetime | None
    end: datetime | None  # None while it runs
    external_id: str = ""  # a build id for CodeBuild actions

    @property
    def duration_s(self) -> float | None:
        return _seconds(self.start, self.end)


@dataclass(slots=True)  # slots: 100,000 executions fit in memory
class StageRecord:
    """A stage as one execution went through it: from its first action's start to its last
    action's end. Status combines the latest attempt of each action: any Failed is Failed,
    else any still running is InProgress, else any other non-success status, else Succeeded."""

    execution_id: str
    stage: str
    status: str
    start: datetime | None
    end: datetime | None
    actions: list[ActionRecord] = field(default_factory=list)

    @property
    def duration_s(self) -> float | None:
        return _seconds(self.start, self.end)


@dataclass(slots=True)  # slots: 100,000 executions fit in memory
class ExecutionRecord:
    """One pipeline execution with its stages in pipeline order (only the stages it reached)."""

    pipeline: str
    execution_id: str
    status: str
    execution_type: str  # STANDARD or ROLLBACK
    trigger: str
    start: datetime | None
    end: datetime | None  # None while it runs
    commit_id: str = ""
    commit_message: str = ""
    commit_time: datetime | None = None  # the source revision's author date (git sources)
    rollback_target: str = ""  # for a ROLLBACK execution: the execution it went back to
    stages: list[StageRecord] = field(default_factory=list)

    @property
    def duration_s(self) -> float | None:
        return _seconds(self.start, self.end)

    @property
    def is_rollback(self) -> bool:
        return self.execution_type == "ROLLBACK"

    def stage(self, name: str) -> StageRecord | None:
        return next((s for s in self.stages if s.stage == name), None)


# -- reading ------------------------------------------------------------------------------------


def read_records(session: AwsSession, pipeline: str, last: int = 20,
                 page_size: int = 100) -> list[ExecutionRecord]:
    """The ``last`` newest executions of ``pipeline`` (by start time), oldest first, with
    stages and actions.

    ListActionExecutions is called without an execution filter, one call per page: the cost
    grows with the number of action executions read, not with a call per execution.
    """
    if not isinstance(last, int) or last < 1:
        raise ParameterError("last_executions", last, "must be a whole number of at least 1",
                             "20")
    client = session.client("codepipeline")
    try:
        summaries = _newest_summaries(client, pipeline, last)
        stage_order = [s["name"] for s in client.get_pipeline(name=pipeline)["pipeline"]["stages"]]
        actions = _read_actions(client, pipeline, summaries, page_size)
    except ClientError as err:
        code = err.response["Error"]["Code"]
        fix = (" Fix: check app_name and region, and that the pipeline notebook (07) was applied."
               if code == "PipelineNotFoundException" else "")
        raise StepError(f"read executions of {pipeline}: {err}.{fix}") from err
    return build_records(pipeline, summaries, actions, stage_order)


def _newest_summaries(client: Any, pipeline: str, last: int) -> list[dict[str, Any]]:
    """The newest ``last`` summaries with an id, by start time over every page: no page
    order is documented, so a newer run may come on the last page."""
    summaries: list[dict[str, Any]] = []
    for page in client.get_paginator("list_pipeline_executions").paginate(
            pipelineName=pipeline, PaginationConfig={"PageSize": 100}):
        summaries.extend(s for s in page.get("pipelineExecutionSummaries") or []
                         if s.get("pipelineExecutionId"))
    summaries.sort(key=lambda s: s.get("startTime") or _NEVER_STARTED, reverse=True)
    return summaries[:last]


def _read_actions(client: Any, pipeline: str, summaries: list[dict[str, Any]],
                  page_size: int) -> list[dict[str, Any]]:
    """Every action execution of the given runs, in whatever order the pages come."""
    wanted = {s["pipelineExecutionId"] for s in summaries}
    return list(action_items(client, pipeline, wanted, page_size))


def build_records(pipeline: str, summaries: Sequence[Mapping[str, Any]],
                  actions: Iterable[Mapping[str, Any]],
                  stage_order: Sequence[str] = ()) -> list[ExecutionRecord]:
    """Records from ListPipelineExecutions summaries and ListActionExecutions details; pure.

    Stages follow ``stage_order`` (the pipeline's declaration); a stage no longer declared
    comes after, in the order it ran. Oldest execution first. A summary without revisions
    takes its commit from its Source action (:mod:`.revisions`).
    """
    by_execution: dict[str, list[ActionRecord]] = {}
    first_sources: dict[str, tuple[datetime, revisions.SourceCommit]] = {}
    for item in actions:  # one pass, keeping records only: the pages need not be kept
        record = _action_record(item)
        by_execution.setdefault(record.execution_id, []).append(record)
        commit = revisions.source_commit(item) if record.category == "Source" else None
        if commit is not None and record.execution_id:
            started = record.start or datetime.max.replace(tzinfo=UTC)
            known = first_sources.get(record.execution_id)
            if known is None or started < known[0]:  # the first-started Source action's
                first_sources[record.execution_id] = (started, commit)
    sources = {eid: commit for eid, (_, commit) in first_sources.items()}
    commit_times = {c.commit_id: c.author_date for c in sources.values() if c.author_date}
    records = [_execution_record(pipeline, summary, sources, commit_times, by_execution,
                                 stage_order)
               for summary in summaries if summary.get("pipelineExecutionId")]
    records.sort(key=lambda r: r.start or _NEVER_STARTED)
    return records


def _execution_record(pipeline: str, summary: Mapping[str, Any], sources: dict[str, Any],
                      commit_times: dict[str, Any], by_execution: dict[str, Any],
                      stage_order: Sequence[str]) -> ExecutionRecord:
    execution_id = summary["pipelineExecutionId"]
    status = summary.get("status") or ""
    revision = revisions.first_revision(summary.get("sourceRevisions")
                                        or summary.get("artifactRevisions") or [])
    target = (summary.get("rollbackMetadata") or {}).get("rollbackTargetPipelineExecutionId")
    source = sources.get(execution_id) or sources.get(target or "")  # a rollback: its target's
    commit_id = revision.get("revisionId") or (source.commit_id if source else "")
    return ExecutionRecord(
        pipeline=pipeline,
        execution_id=execution_id,
        status=status,
        execution_type=summary.get("executionType") or "STANDARD",
        trigger=(summary.get("trigger") or {}).get("triggerType") or "",
        start=summary.get("startTime"),
        end=None if status in ACTIVE else summary.get("lastUpdateTime"),
        commit_id=commit_id,
        commit_message=revisions.revision_message(revision) if revision else
        (source.message if source else ""),
        commit_time=commit_times.get(commit_id),
        rollback_target=target or "",
        stages=_stages(execution_id, by_execution.get(execution_id, []), stage_order),
    )


def _action_record(item: Mapping[str, Any]) -> ActionRecord:
    status = item.get("status", "")
    type_id = (item.get("input") or {}).get("actionTypeId") or {}
    result = (item.get("output") or {}).get("executionResult") or {}
    # Interned: over a long history the same few names repeat in every record.
    return ActionRecord(
        execution_id=sys.intern(item.get("pipelineExecutionId", "")),
        stage=sys.intern(item.get("stageName", "")),
        action=sys.intern(item.get("actionName", "")),
        category=sys.intern(type_id.get("category", "")),
        provider=sys.intern(type_id.get("provider", "")),
        status=sys.intern(status),
        start=item.get("startTime"),
        end=None if status in ACTIVE else item.get("lastUpdateTime"),
        external_id=result.get("externalExecutionId", "") if type_id.get(
            "category") != "Source" else "",
    )


def _stages(execution_id: str, actions: list[ActionRecord],
            order: Sequence[str]) -> list[StageRecord]:
    never = datetime.max.replace(tzinfo=UTC)
    actions = sorted(actions, key=lambda a: a.start or never)
    ran = list(dict.fromkeys(a.stage for a in actions))  # in the order they started
    names = sorted(ran, key=lambda n: order.index(n) if n in order else len(order) + ran.index(n))
    stages = []
    for name in names:
        mine = [a for a in actions if a.stage == name]
        latest = {a.action: a for a in mine}  # sorted by start: the last attempt wins
        status = combine_statuses([a.status for a in latest.values()])
        starts = [a.start for a in mine if a.start]
        ends = [a.end for a in mine if a.end]
        end = None if status in ACTIVE or len(ends) < len(mine) or not ends else max(ends)
        stages.append(StageRecord(execution_id, name, status, min(starts) if starts else None,
                                  end, mine))
    return stages


def combine_statuses(statuses: Sequence[str]) -> str:
    """A stage's status from its actions' (latest attempts'): Failed wins, then running, then
    any other non-success (Abandoned, Stopped...), else Succeeded."""
    if not statuses:
        return ""
    if "Failed" in statuses:
        return "Failed"
    for status in statuses:
        if status in ACTIVE:
            return "InProgress"
    return next((s for s in statuses if s != "Succeeded"), "Succeeded")


# -- maths --------------------------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float | None:
    """The p-th percentile (0-100) with linear interpolation between closest ranks, as
    numpy's default; None for no values."""
    data = sorted(v for v in values if v is not None)
    if not data:
        return None
    if not 0 <= p <= 100:
        raise ValueError(f"percentile must be within 0..100, not {p}")
    rank = (len(data) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    return data[low] + (data[high] - data[low]) * (rank - low)


@dataclass
class DurationStats:
    """Durations and outcomes of one stage (``action`` empty) or one action over many runs."""

    stage: str
    action: str
    runs: int  # executions that reached it
    failures: int
    durations_s: list[float]  # finished runs only, oldest first

    @property
    def failure_rate(self) -> float:
        return self.failures / self.runs if self.runs else 0.0

    @property
    def p50_s(self) -> float | None:
        return percentile(self.durations_s, 50)

    @property
    def p90_s(self) -> float | None:
        return percentile(self.durations_s, 90)

    @property
    def last_s(self) -> float | None:
        return self.durations_s[-1] if self.durations_s else None


def stage_stats(records: Sequence[ExecutionRecord]) -> list[DurationStats]:
    """Per stage, in pipeline order: runs, failures and finished durations."""
    stats: dict[str, DurationStats] = {}
    for record in records:
        for stage in record.stages:
            entry = stats.setdefault(stage.stage, DurationStats(stage.stage, "", 0, 0, []))
            _count(entry, stage.status, stage.duration_s)
    return _ordered(stats.values(), records)


def action_stats(records: Sequence[ExecutionRecord]) -> list[DurationStats]:
    """Per (stage, action), every attempt counted, in pipeline order."""
    stats: dict[tuple[str, str], DurationStats] = {}
    for record in records:
        for stage in record.stages:
            for action in stage.actions:
                entry = stats.setdefault((action.stage, action.action),
                                         DurationStats(action.stage, action.action, 0, 0, []))
                _count(entry, action.status, action.duration_s)
    return _ordered(stats.values(), records)


def _count(entry: DurationStats, status: str, duration: float | None) -> None:
    entry.runs += 1
    entry.failures += status == "Failed"
    if duration is not None and status not in ACTIVE:
        entry.durations_s.append(duration)


def _ordered(stats: Iterable[DurationStats], records: Sequence[ExecutionRecord]
             ) -> list[DurationStats]:
    order = stage_order(records)
    return sorted(stats, key=lambda s: order.index(s.stage))


def stage_order(records: Sequence[ExecutionRecord]) -> list[str]:
    """Stage names in pipeline order, merged from the runs (newest first, as the current
    declaration has it): a stage a newer run skipped goes before the next stage it ran
    before, so a rollback that ran only the last stage does not move it to the front."""
    order: list[str] = []
    for record in reversed(records):
        names = [s.stage for s in record.stages]
        for index, name in enumerate(names):
            if name in order:
                continue
            later = next((n for n in names[index + 1:] if n in order), None)
            order.insert(order.index(later) if later else len(order), name)
    return order


# Stored notebook outputs are compared after timings are masked, so a timing is only ever in a
# table's last column (lines are right-stripped, so its width moves nothing), timestamps have
# one width, and the last header is wider than the timings under it.
STATS_HEADERS = ("stage", "action", "runs", "failed", "failure rate",
                 "duration p50 / p90 / last run")


def stats_rows(stats: Sequence[DurationStats]) -> list[tuple[Any, ...]]:
    """Table rows for :func:`stage_stats` or :func:`action_stats`."""
    return [(s.stage, s.action or "-", s.runs, s.failures, f"{100 * s.failure_rate:.1f}%",
             " / ".join(format_duration(v) for v in (s.p50_s, s.p90_s, s.last_s)))
            for s in stats]


EXECUTION_HEADERS = ("execution", "type", "status", "trigger", "commit", "stages reached",
                     "started", "run duration")


def execution_rows(records: Sequence[ExecutionRecord]) -> list[tuple[Any, ...]]:
    """One row per execution, newest first."""
    return [(r.execution_id, r.execution_type, r.status, r.trigger or "unknown",
             r.commit_id[:7] or "-", len(r.stages), iso_time(r.start, missing="-"),
             format_duration(r.duration_s)) for r in reversed(records)]


def pick_execution(records: Sequence[ExecutionRecord], execution_id: str = "",
                   status: str = "") -> ExecutionRecord | None:
    """The named execution, else the newest one (with ``status`` when given)."""
    for record in reversed(records):
        if execution_id and record.execution_id != execution_id:
            continue
        if status and record.status != status:
            continue
        return record
    return None


# -- helpers ------------------------------------------------------------------------------------


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return max(0.0, (end - start).total_seconds())
