"""Read pipeline executions as AWS writes them: optional fields may be absent, lists unordered.

AWS documents no order for ListPipelineExecutions or ListActionExecutions, neither inside a page
nor across pages, so no page can say that the ones after it are older. "The newest N" is decided
by start time over every page (:func:`list_summaries`), and the action executions of some runs
are read until nothing of theirs can be missing (:func:`action_items`). A summary without an id
is skipped; a summary without ``sourceRevisions`` gets its commit from the Source action
(:mod:`.revisions`); no request is sent with an empty identifier.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
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
PAGE_SIZE = 100  # ListPipelineExecutions' and ListActionExecutions' largest page
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


def list_summaries(session: AwsSession, pipeline: str) -> list[ExecutionSummary]:
    """Every execution ListPipelineExecutions lists (AWS keeps 12 months), newest first by
    start time, without commits; summaries without an id are skipped.

    Every page is read: with no documented order, a later page may hold a newer run, so
    "the newest" is only certain once the pages end. One call per 100 executions.
    """
    out: list[ExecutionSummary] = []
    paginator = session.client("codepipeline").get_paginator("list_pipeline_executions")
    for page in paginator.paginate(pipelineName=require_id("pipeline", pipeline),
                                   PaginationConfig={"PageSize": PAGE_SIZE}):
        out.extend(s for s in map(summary_of, page.get("pipelineExecutionSummaries") or [])
                   if s.execution_id)
    return newest_first(out)


def list_executions(session: AwsSession, pipeline: str, limit: int = 50
                    ) -> list[ExecutionSummary]:
    """The ``limit`` newest executions, newest first by start time, decided over every page
    (:func:`list_summaries`); commits missing from the summaries come from the Source
    actions."""
    out = list_summaries(session, pipeline)[:max(limit, 0)]
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
    """Executions started at or after ``since`` (or with no start time), newest first.

    Each run is judged by its own start time over every page: pages come in no documented
    order, so none can end the reading early.
    """
    try:
        out = [s for s in list_summaries(session, pipeline)
               if not (s.start_time and s.start_time < since)]
        fill_source_commits(session, pipeline, out)
    except ClientError as err:
        raise pipeline_error(pipeline, "list executions", err) from err
    return out


def fill_source_commits(session: AwsSession, pipeline: str,
                        summaries: list[ExecutionSummary]) -> None:
    """Give summaries without revisions the commit their Source action delivered (a
    rollback: its target's).

    The action executions of those runs (and of the rollbacks' targets) are read with
    :func:`action_items`, until each of them has shown a Source commit or nothing of theirs
    can be left.
    """
    missing = {s.execution_id: s for s in summaries if not s.commit_id and s.execution_id}
    if not missing:
        return
    wanted = set(missing) | {s.rollback_target for s in missing.values() if s.rollback_target}
    found: dict[str, SourceCommit] = {}
    seen: list[dict[str, Any]] = []
    client = session.client("codepipeline")
    for item in action_items(client, pipeline, wanted, settled=lambda eid: eid in found):
        if revisions.source_commit(item) is not None:
            seen.append(item)
            found.update(revisions.commits_by_execution(seen))  # the first-started Source's
            if wanted <= set(found):
                break
    known = {s.execution_id: s.commit_id for s in summaries if s.commit_id}
    for execution_id, summary in missing.items():
        # A rollback runs no Source action: it deploys its target's commit again.
        target = summary.rollback_target
        summary.source = found.get(execution_id) or found.get(target) or (
            SourceCommit(known[target]) if target in known else None)


def action_items(client: Any, pipeline: str, wanted: set[str], page_size: int = PAGE_SIZE,
                 settled: Callable[[str], bool] | None = None,
                 on_page: Callable[[int], None] | None = None) -> Iterator[dict[str, Any]]:
    """Every action execution of the ``wanted`` runs, once each, whatever order AWS lists in.

    No page of ListActionExecutions says the rest are older, so an unfiltered listing is only
    complete at its end. It is read (one call a page, many runs a page) while that costs no
    more calls than a filtered listing per run would; when it goes on longer, each wanted run
    not yet ``settled`` is read with its own filtered listing instead (items already handed
    out are not repeated). ``on_page`` gets the number of items read so far.
    """
    wanted = {w for w in wanted if w}
    if not wanted:
        return
    handed: set[tuple[str, ...]] = set()
    if len(wanted) > 1:
        pages = client.get_paginator("list_action_executions").paginate(
            pipelineName=pipeline, PaginationConfig={"PageSize": page_size})
        read = 0
        for number, page in enumerate(pages, start=1):
            items = page.get("actionExecutionDetails") or []
            read += len(items)
            if on_page:
                on_page(read)
            for item in items:
                if item.get("pipelineExecutionId") in wanted:
                    handed.add(_action_key(item))
                    yield item
            if not page.get("nextToken"):
                return  # the listing ended: nothing is missing
            if number >= len(wanted):
                break  # more pages than runs: one listing per run is cheaper
    yield from _filtered_items(client, pipeline, wanted, settled, handed)


def _filtered_items(client: Any, pipeline: str, wanted: set[str],
                    settled: Callable[[str], bool] | None,
                    handed: set[tuple[str, ...]]) -> Iterator[dict[str, Any]]:
    paginator = client.get_paginator("list_action_executions")
    for execution_id in sorted(wanted):
        if settled is not None and settled(execution_id):
            continue
        for page in paginator.paginate(pipelineName=pipeline,
                                       filter={"pipelineExecutionId": execution_id},
                                       PaginationConfig={"PageSize": PAGE_SIZE}):
            for item in page.get("actionExecutionDetails") or []:
                if item.get("pipelineExecutionId", execution_id) == execution_id and \
                        _action_key(item) not in handed:
                    yield item


def _action_key(item: dict[str, Any]) -> tuple[str, ...]:
    """Its ``actionExecutionId``; where AWS leaves that optional id out, its run, stage,
    action and start."""
    if item.get("actionExecutionId"):
        return ("id", item["actionExecutionId"])
    return (item.get("pipelineExecutionId") or "", item.get("stageName") or "",
            item.get("actionName") or "", str(item.get("startTime") or ""))


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
