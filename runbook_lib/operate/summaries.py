"""Read pipeline executions as AWS writes them: optional fields may be absent, lists unordered.

Every list here is put in time order (newest first) by its timestamps, never taken in the order
the service sent it; a summary without ``sourceRevisions`` gets its commit from the Source
action (:mod:`.revisions`); no request is sent with an empty identifier.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from runbook_lib.core.errors import ParameterError, RunbookError, StepError
from runbook_lib.core.session import AwsSession
from runbook_lib.operate import revisions
from runbook_lib.operate.revisions import SourceCommit

TERMINAL = ("Succeeded", "Failed", "Stopped", "Superseded", "Cancelled")
UNKNOWN_TRIGGER = "unknown"
_PAGE = 100  # ListPipelineExecutions' and ListActionExecutions' largest page
_EPOCH = datetime.min.replace(tzinfo=UTC)


class WaitTimeout(RunbookError):
    """An execution did not reach the awaited state in time; says what it last saw."""


@dataclass
class ExecutionSummary:
    """One execution as ListPipelineExecutions / GetPipelineExecution report it."""

    execution_id: str
    status: str
    status_summary: str = ""
    trigger: str = ""  # '' when the service did not say: show it with trigger_text
    start_time: datetime | None = None
    last_update_time: datetime | None = None
    revisions: list[dict[str, Any]] = field(default_factory=list)
    source: SourceCommit | None = None  # from the Source action, when revisions are absent
    execution_type: str = ""  # STANDARD or ROLLBACK ('' when not said)
    rollback_target: str = ""  # a ROLLBACK's target execution, when the summary says

    @property
    def commit_id(self) -> str:
        revision = revisions.first_revision(self.revisions)
        return revision.get("revisionId") or (self.source.commit_id if self.source else "")

    @property
    def commit_message(self) -> str:
        revision = revisions.first_revision(self.revisions)
        if revision:
            return revisions.revision_message(revision)
        return self.source.message if self.source else ""

    @property
    def trigger_text(self) -> str:
        return self.trigger or UNKNOWN_TRIGGER

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL


def require_id(name: str, value: str, fix: str = "") -> str:
    """``value`` when it names something; an empty id never goes into a request."""
    if not (value or "").strip():
        raise ParameterError(name, value, "must not be empty: AWS rejects an empty identifier",
                             fix or "an id from the pipeline's recent executions")
    return value


def newest_first(items: Iterable[ExecutionSummary]) -> list[ExecutionSummary]:
    """By start time, newest first; those without one keep their order, at the end."""
    items = list(items)
    return sorted(items, key=lambda s: s.start_time or _EPOCH, reverse=True)


def start_execution(session: AwsSession, pipeline: str,
                    source_revisions: list[dict[str, Any]] | None = None) -> str:
    """Start a run; ``source_revisions`` pins a commit or object version."""
    kwargs: dict[str, Any] = {"name": require_id("pipeline", pipeline, "my-app-pipeline")}
    if source_revisions:
        kwargs["sourceRevisions"] = source_revisions
    try:
        return str(session.client("codepipeline").start_pipeline_execution(**kwargs)[
            "pipelineExecutionId"])
    except ClientError as err:
        raise StepError(f"start pipeline execution {pipeline}: {err}") from err


def list_executions(session: AwsSession, pipeline: str, limit: int = 50
                    ) -> list[ExecutionSummary]:
    """The ``limit`` newest executions, newest first by start time.

    Whole pages are read (the order inside a page is not relied upon), then sorted; commits
    missing from the summaries come from the Source actions.
    """
    out: list[ExecutionSummary] = []
    paginator = session.client("codepipeline").get_paginator("list_pipeline_executions")
    for page in paginator.paginate(pipelineName=require_id("pipeline", pipeline),
                                   PaginationConfig={"PageSize": min(max(limit, 1), _PAGE)}):
        out.extend(summary_of(item) for item in page.get("pipelineExecutionSummaries") or [])
        if len(out) >= limit:
            break
    out = newest_first(out)[:limit]
    fill_source_commits(session, pipeline, out)
    return out


def get_execution(session: AwsSession, pipeline: str, execution_id: str,
                  with_commit: bool = True) -> ExecutionSummary:
    """One execution; ``with_commit=False`` skips the Source-action lookup a summary without
    revisions needs (pollers only want the status)."""
    require_id("execution_id", execution_id)
    item = session.client("codepipeline").get_pipeline_execution(
        pipelineName=pipeline, pipelineExecutionId=execution_id)["pipelineExecution"]
    summary = summary_of(item, execution_id)
    if with_commit:
        fill_source_commits(session, pipeline, [summary])
    return summary


def executions_since(session: AwsSession, pipeline: str, since: datetime
                     ) -> list[ExecutionSummary]:
    """Executions started at or after ``since``, newest first.

    Pages come newest first, so paging stops after a page where every run started before
    ``since``; within a page, each run is judged by its own start time.
    """
    out: list[ExecutionSummary] = []
    paginator = session.client("codepipeline").get_paginator("list_pipeline_executions")
    try:
        for page in paginator.paginate(pipelineName=require_id("pipeline", pipeline),
                                       PaginationConfig={"PageSize": _PAGE}):
            items = [summary_of(i) for i in page.get("pipelineExecutionSummaries") or []]
            out.extend(s for s in items if not (s.start_time and s.start_time < since))
            if items and all(s.start_time and s.start_time < since for s in items):
                break
        out = newest_first(out)
        fill_source_commits(session, pipeline, out)
    except ClientError as err:
        raise pipeline_error(pipeline, "list executions", err) from err
    return out


def fill_source_commits(session: AwsSession, pipeline: str,
                        summaries: list[ExecutionSummary]) -> None:
    """Give summaries without revisions the commit their Source action delivered (a
    rollback: its target's).

    One execution: a filtered ListActionExecutions. Several: one unfiltered listing (newest
    first, page by page) until every missing one is found or the pages reach back past them.
    """
    missing = {s.execution_id: s for s in summaries if not s.commit_id and s.execution_id}
    if not missing:
        return
    starts = {s.execution_id: s.start_time for s in summaries}
    wanted = set(missing) | {s.rollback_target for s in missing.values() if s.rollback_target}
    times = [t for t in (starts.get(execution_id) for execution_id in wanted) if t]
    oldest = min(times) if len(times) == len(wanted) else None  # an unlisted target: all pages
    found = revisions.commits_by_execution(_source_items(session, pipeline, wanted, oldest))
    known = {s.execution_id: s.commit_id for s in summaries if s.commit_id}
    for execution_id, summary in missing.items():
        # A rollback runs no Source action: it deploys its target's commit again.
        target = summary.rollback_target
        summary.source = found.get(execution_id) or found.get(target) or (
            SourceCommit(known[target]) if target in known else None)


def _source_items(session: AwsSession, pipeline: str, missing: set[str],
                  oldest: datetime | None) -> Iterator[dict[str, Any]]:
    """Action executions, page by page, until every ``missing`` run's Source action is seen
    or a page lies wholly before ``oldest``."""
    paginator = session.client("codepipeline").get_paginator("list_action_executions")
    kwargs: dict[str, Any] = {"pipelineName": pipeline, "PaginationConfig": {"PageSize": _PAGE}}
    if len(missing) == 1:
        kwargs["filter"] = {"pipelineExecutionId": next(iter(missing))}
    seen: set[str] = set()
    for page in paginator.paginate(**kwargs):
        items = page.get("actionExecutionDetails") or []
        yield from items
        seen.update(revisions.commits_by_execution(items))
        if missing <= seen:
            return
        if oldest and items and all(i.get("startTime") and i["startTime"] < oldest
                                    for i in items):
            return


def summary_of(item: dict[str, Any], execution_id: str = "") -> ExecutionSummary:
    """A summary from a ListPipelineExecutions or GetPipelineExecution item; every field but
    the id may be absent."""
    trigger = item.get("trigger") or {}
    return ExecutionSummary(
        execution_id=item.get("pipelineExecutionId") or execution_id,
        status=item.get("status") or "",
        status_summary=item.get("statusSummary") or "",
        trigger=trigger.get("triggerType") or "",
        start_time=item.get("startTime"),
        last_update_time=item.get("lastUpdateTime"),
        revisions=list(item.get("sourceRevisions") or item.get("artifactRevisions") or []),
        execution_type=item.get("executionType") or "",
        rollback_target=(item.get("rollbackMetadata") or {}).get(
            "rollbackTargetPipelineExecutionId") or "",
    )


def pipeline_error(pipeline: str, what: str, err: ClientError) -> StepError:
    code = err.response["Error"]["Code"]
    if code == "PipelineNotFoundException":
        return StepError(f"pipeline {pipeline} not found. Fix: check the pipeline name and the "
                         "region (AWS_REGION), or create it with the pipeline notebook.")
    if code == "PipelineExecutionNotFoundException":
        return StepError(f"{what} of {pipeline}: no such execution. Fix: pick an id from "
                         "the pipeline's recent executions.")
    return StepError(f"{what} of {pipeline}: {err}")
