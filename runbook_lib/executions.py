"""Start, find and wait for pipeline executions; find and answer pending approvals.

CodePipeline has no waiters, so :func:`wait_for_execution` is the one polling helper: an explicit
timeout, and on timeout an error that reports the last status it saw.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from botocore.exceptions import ClientError

from runbook_lib.errors import RunbookError, StepError
from runbook_lib.session import AwsSession

TERMINAL = ("Succeeded", "Failed", "Stopped", "Superseded", "Cancelled")


class WaitTimeout(RunbookError):
    """An execution did not reach the awaited state in time; says what it last saw."""


@dataclass
class ExecutionSummary:
    """One execution as ListPipelineExecutions / GetPipelineExecution report it."""

    execution_id: str
    status: str
    status_summary: str = ""
    trigger: str = ""
    start_time: datetime | None = None
    last_update_time: datetime | None = None
    revisions: list[dict] = field(default_factory=list)

    @property
    def commit_id(self) -> str:
        for rev in self.revisions:
            if rev.get("revisionId"):
                return rev["revisionId"]
        return ""

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL


@dataclass
class PendingApproval:
    pipeline: str
    stage: str
    action: str
    token: str
    execution_id: str = ""
    summary: str = ""


def start_execution(session: AwsSession, pipeline: str,
                    source_revisions: list[dict] | None = None) -> str:
    """Start a run; ``source_revisions`` pins a commit or object version."""
    kwargs = {"name": pipeline}
    if source_revisions:
        kwargs["sourceRevisions"] = source_revisions
    try:
        return session.client("codepipeline").start_pipeline_execution(**kwargs)[
            "pipelineExecutionId"]
    except ClientError as err:
        raise StepError(f"start pipeline execution {pipeline}: {err}") from err


def list_executions(session: AwsSession, pipeline: str, limit: int = 50
                    ) -> list[ExecutionSummary]:
    """Newest first, read with the paginator until ``limit``."""
    out: list[ExecutionSummary] = []
    paginator = session.client("codepipeline").get_paginator("list_pipeline_executions")
    for page in paginator.paginate(pipelineName=pipeline,
                                   PaginationConfig={"MaxItems": limit, "PageSize": 50}):
        for item in page["pipelineExecutionSummaries"]:
            out.append(_summary(item))
    return out


def get_execution(session: AwsSession, pipeline: str, execution_id: str) -> ExecutionSummary:
    item = session.client("codepipeline").get_pipeline_execution(
        pipelineName=pipeline, pipelineExecutionId=execution_id)["pipelineExecution"]
    return _summary(item)


def wait_for_new_execution(session: AwsSession, pipeline: str, known: set[str],
                           timeout: float = 60, poll: float = 0.5) -> ExecutionSummary:
    """Wait for a run that is not in ``known`` (one a push started)."""
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    while time.monotonic() < deadline:
        for summary in list_executions(session, pipeline, limit=10):
            if summary.execution_id not in known:
                return summary
        seen = sorted(known)
        time.sleep(poll)
    raise WaitTimeout(f"no new execution of {pipeline} started within {timeout:.0f}s "
                      f"({len(seen)} executions known). Check that the commit is on the "
                      "watched branch and that the repository is registered.")


def wait_for_execution(session: AwsSession, pipeline: str, execution_id: str,
                       timeout: float = 600, poll: float = 0.5, stop_at_approval: bool = False,
                       on_progress: Callable[[list[tuple[str, str]]], None] | None = None
                       ) -> ExecutionSummary:
    """Poll until the execution ends (or waits for approval); report progress on change.

    ``on_progress`` gets [(stage, status)] for this execution whenever it changes.
    """
    deadline = time.monotonic() + timeout
    last_status, last_stages = "unknown", []
    while True:
        summary = get_execution(session, pipeline, execution_id)
        last_status = summary.status
        stages = stage_statuses(session, pipeline, execution_id)
        if on_progress and stages != last_stages:
            on_progress(stages)
        last_stages = stages
        if summary.finished:
            return summary
        if stop_at_approval and any(a.execution_id == execution_id
                                    for a in pending_approvals(session, pipeline)):
            return summary
        if time.monotonic() >= deadline:
            raise WaitTimeout(
                f"execution {execution_id} of {pipeline} still {last_status} after "
                f"{timeout:.0f}s; stages: {', '.join(f'{s} {st}' for s, st in last_stages)}")
        time.sleep(poll)


def stage_statuses(session: AwsSession, pipeline: str, execution_id: str
                   ) -> list[tuple[str, str]]:
    """(stage, status) for the stages this execution has reached, in pipeline order."""
    state = session.client("codepipeline").get_pipeline_state(name=pipeline)
    out = []
    for stage in state.get("stageStates", []):
        latest = stage.get("latestExecution") or {}
        if latest.get("pipelineExecutionId") == execution_id:
            out.append((stage["stageName"], latest.get("status", "")))
    return out


def pending_approvals(session: AwsSession, pipeline: str) -> list[PendingApproval]:
    """Manual approvals waiting for an answer, with their tokens."""
    state = session.client("codepipeline").get_pipeline_state(name=pipeline)
    found = []
    for stage in state.get("stageStates", []):
        execution_id = (stage.get("latestExecution") or {}).get("pipelineExecutionId", "")
        for action in stage.get("actionStates", []):
            latest = action.get("latestExecution") or {}
            if latest.get("status") == "InProgress" and latest.get("token"):
                found.append(PendingApproval(pipeline, stage["stageName"], action["actionName"],
                                             latest["token"], execution_id,
                                             latest.get("summary", "")))
    return found


def answer_approval(session: AwsSession, approval: PendingApproval, approve: bool,
                    summary: str) -> None:
    """Approve or reject; a summary is required because it is the audit trail."""
    if not summary.strip():
        from runbook_lib.errors import ParameterError

        raise ParameterError("summary", summary, "an approval needs a summary for the audit "
                             "trail", "staging checked, release notes reviewed")
    try:
        session.client("codepipeline").put_approval_result(
            pipelineName=approval.pipeline, stageName=approval.stage,
            actionName=approval.action, token=approval.token,
            result={"summary": summary, "status": "Approved" if approve else "Rejected"})
    except ClientError as err:
        raise StepError(f"answer approval {approval.stage}/{approval.action} of "
                        f"{approval.pipeline}: {err}") from err


def _summary(item: dict) -> ExecutionSummary:
    trigger = item.get("trigger") or {}
    return ExecutionSummary(
        execution_id=item["pipelineExecutionId"],
        status=item.get("status", ""),
        status_summary=item.get("statusSummary", "") or "",
        trigger=trigger.get("triggerType", ""),
        start_time=item.get("startTime"),
        last_update_time=item.get("lastUpdateTime"),
        revisions=item.get("artifactRevisions") or item.get("sourceRevisions") or [],
    )


@dataclass
class FailedAction:
    stage: str
    action: str
    summary: str
    external_id: str = ""  # a build id for CodeBuild actions


def failed_action(session: AwsSession, pipeline: str, execution_id: str) -> FailedAction | None:
    """The first failed action of an execution, with its summary and external id."""
    paginator = session.client("codepipeline").get_paginator("list_action_executions")
    failed = []
    for page in paginator.paginate(pipelineName=pipeline,
                                   filter={"pipelineExecutionId": execution_id}):
        for item in page["actionExecutionDetails"]:
            if item.get("status") == "Failed":
                result = (item.get("output") or {}).get("executionResult") or {}
                failed.append((item.get("startTime"), FailedAction(
                    item["stageName"], item["actionName"],
                    result.get("externalExecutionSummary", ""),
                    result.get("externalExecutionId", ""))))
    failed.sort(key=lambda pair: pair[0] or 0)
    return failed[0][1] if failed else None


EXECUTION_HEADERS = ("execution", "status", "trigger", "commit")


def execution_rows(session: AwsSession, pipeline: str, limit: int = 10
                   ) -> list[tuple[str, str, str, str]]:
    """Recent executions, newest first, as table rows."""
    return [(e.execution_id, e.status, e.trigger, e.commit_id[:7] or "-")
            for e in list_executions(session, pipeline, limit)]
