"""The health report's reading of a pipeline's history: every page once, records as they come.

ListPipelineExecutions is paged at its maximum (100) to its end: AWS documents no order, so
no page says the rest lie before the window. The kept runs' action executions come from
:func:`.summaries.action_items` (unfiltered pages of 100 while that is the cheaper way, else
one filtered listing per run); one GetPipeline gives the stage order. Nothing is listed twice.
Action pages are handed to :func:`.durations.build_records` as they arrive, so only the
records are kept, not the pages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from runbook_lib.core.errors import StepError
from runbook_lib.core.session import AwsSession
from runbook_lib.operate import durations
from runbook_lib.operate.durations import ExecutionRecord
from runbook_lib.operate.revisions import SourceCommit
from runbook_lib.operate.summaries import (
    ExecutionSummary,
    action_items,
    newest_first,
    summary_of,
)

PAGE_SIZE = 100  # the most either List call returns in one page


@dataclass
class History:
    """Executions in the window, newest first, and the same runs as records, oldest first."""

    executions: list[ExecutionSummary] = field(default_factory=list)
    records: list[ExecutionRecord] = field(default_factory=list)
    declaration: dict[str, Any] = field(default_factory=dict)  # GetPipeline's pipeline
    # the window's ListPipelineExecutions items
    runs: list[dict[str, Any]] = field(default_factory=list)


def read_history(session: AwsSession, pipeline: str, since: datetime, until: datetime,
                 on_progress: Callable[[str], None] | None = None) -> History:
    """Runs started in ``[since, until]`` with their stages and actions."""
    client = session.client("codepipeline")
    say = on_progress or (lambda _text: None)
    try:
        items = _execution_items(client, pipeline, since, until, say)
        if not items:
            return History()
        declaration = client.get_pipeline(name=pipeline)["pipeline"]
        order = [s["name"] for s in declaration["stages"]]
        actions = _action_items(client, pipeline, items, say)
        records = durations.build_records(pipeline, items, actions, order)
    except ClientError as err:
        if err.response["Error"]["Code"] == "PipelineNotFoundException":
            raise StepError(f"pipeline {pipeline} not found. Fix: check the pipeline name and "
                            "the region (AWS_REGION), or create it with the pipeline "
                            "notebook.") from err
        raise StepError(f"read the history of {pipeline}: {err}") from err
    return History(_summaries(items, records), records, declaration, items)


def _summaries(items: list[dict[str, Any]],
               records: list[ExecutionRecord]) -> list[ExecutionSummary]:
    """Newest first (by start time: the order inside a page is not relied upon); a summary
    without revisions takes its commit from its record, which read it from the Source action
    (so no second listing of the actions is needed)."""
    by_id = {r.execution_id: r for r in records}
    out = newest_first(summary_of(item) for item in items)
    for summary in out:
        record = by_id.get(summary.execution_id)
        if not summary.commit_id and record is not None and record.commit_id:
            summary.source = SourceCommit(record.commit_id, record.commit_message,
                                          record.commit_time)
    return out


def _execution_items(client: Any, pipeline: str, since: datetime, until: datetime,
                     say: Callable[[str], None]) -> list[dict[str, Any]]:
    """ListPipelineExecutions items in the window, every page read (each run judged by its
    own start time, wherever it is listed)."""
    kept: list[dict[str, Any]] = []
    paginator = client.get_paginator("list_pipeline_executions")
    for page in paginator.paginate(pipelineName=pipeline,
                                   PaginationConfig={"PageSize": PAGE_SIZE}):
        items = [i for i in page.get("pipelineExecutionSummaries") or []
                 if i.get("pipelineExecutionId")]
        kept += [i for i in items if not _outside(i.get("startTime"), since, until)]
        say(f"read {len(kept)} executions")
    return kept


def _outside(start: datetime | None, since: datetime, until: datetime) -> bool:
    return start is not None and not since <= start <= until


def _action_items(client: Any, pipeline: str, items: list[dict[str, Any]],
                  say: Callable[[str], None]) -> Iterator[dict[str, Any]]:
    """Action executions of the kept runs, as :func:`.summaries.action_items` finds them."""
    wanted = {item["pipelineExecutionId"] for item in items}
    return action_items(client, pipeline, wanted, PAGE_SIZE,
                        on_page=lambda read: say(f"read {read} action executions"))
