"""What a pipeline is doing now (GetPipelineState): stages of a run, approvals waiting.

GetPipelineState's stage-level ``latestExecution`` is optional (AWS's own example has none), so
the execution a stage or a pending approval belongs to falls back to the action executions
(ListActionExecutions), and an approval whose execution cannot be found says so instead of
carrying an empty id into later requests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from runbook_lib.core.errors import ParameterError, StepError
from runbook_lib.core.session import AwsSession
from runbook_lib.operate.durations import combine_statuses
from runbook_lib.operate.summaries import require_id

_SCAN_PAGES = 3  # newest pages of action executions searched for a pending approval's run


@dataclass
class PendingApproval:
    pipeline: str
    stage: str
    action: str
    token: str
    execution_id: str = ""  # '' only when neither the state nor the action executions say
    summary: str = ""

    @property
    def execution_text(self) -> str:
        return self.execution_id or "(execution unknown)"


def read_state(session: AwsSession, pipeline: str) -> dict[str, Any]:
    state: dict[str, Any] = session.client("codepipeline").get_pipeline_state(
        name=require_id("pipeline", pipeline, "my-app-pipeline"))
    return state


def stage_statuses(session: AwsSession, pipeline: str, execution_id: str
                   ) -> list[tuple[str, str]]:
    """(stage, status) for the stages this execution has reached, in pipeline order."""
    return stages_of(session, pipeline, read_state(session, pipeline), execution_id)


def pending_approvals(session: AwsSession, pipeline: str) -> list[PendingApproval]:
    """Manual approvals waiting for an answer, with their tokens and executions."""
    return pending_in(session, pipeline, read_state(session, pipeline))


def stages_of(session: AwsSession, pipeline: str, state: dict[str, Any], execution_id: str
              ) -> list[tuple[str, str]]:
    """Stages of ``state`` this execution reached; from the action executions for stages whose
    ``latestExecution`` the state leaves out."""
    require_id("execution_id", execution_id)
    stages = state.get("stageStates") or []
    out, unknown = [], []
    for stage in stages:
        latest = stage.get("latestExecution")
        if latest is None:
            unknown.append(stage.get("stageName", ""))
        elif latest.get("pipelineExecutionId") == execution_id:
            out.append((stage.get("stageName", ""), latest.get("status", "")))
    if unknown:
        by_stage: dict[str, list[str]] = {}
        for item in _action_items(session, pipeline, execution_id):
            by_stage.setdefault(item.get("stageName", ""), []).append(item.get("status", ""))
        out += [(name, combine_statuses(by_stage[name])) for name in unknown if name in by_stage]
    order = [s.get("stageName", "") for s in stages]
    return sorted(out, key=lambda pair: order.index(pair[0]))


def pending_in(session: AwsSession, pipeline: str, state: dict[str, Any]) -> list[PendingApproval]:
    found, unplaced = [], []
    for stage in state.get("stageStates") or []:
        execution_id = (stage.get("latestExecution") or {}).get("pipelineExecutionId", "")
        for action in stage.get("actionStates") or []:
            latest = action.get("latestExecution") or {}
            if latest.get("status") == "InProgress" and latest.get("token"):
                approval = PendingApproval(pipeline, stage.get("stageName", ""),
                                           action.get("actionName", ""), latest["token"],
                                           execution_id, latest.get("summary") or "")
                found.append(approval)
                if not execution_id:
                    unplaced.append((approval, latest.get("actionExecutionId") or ""))
    if unplaced:
        _place(session, pipeline, unplaced)
    return found


def _place(session: AwsSession, pipeline: str,
           approvals: list[tuple[PendingApproval, str]]) -> None:
    """Find the execution of approvals the state did not place: the action execution with the
    same id, else the running one of the same stage and action (newest pages only)."""
    paginator = session.client("codepipeline").get_paginator("list_action_executions")
    pages = paginator.paginate(pipelineName=pipeline, PaginationConfig={"PageSize": 100})
    for number, page in enumerate(pages):
        for approval, action_execution_id in approvals:
            for item in page.get("actionExecutionDetails") or []:
                same_id = action_execution_id and item.get("actionExecutionId") == \
                    action_execution_id
                running = (item.get("stageName"), item.get("actionName"), item.get("status")) \
                    == (approval.stage, approval.action, "InProgress")
                if not approval.execution_id and (same_id or running):
                    approval.execution_id = item.get("pipelineExecutionId") or ""
        if all(a.execution_id for a, _ in approvals) or number + 1 >= _SCAN_PAGES:
            return


def _action_items(session: AwsSession, pipeline: str, execution_id: str) -> list[dict[str, Any]]:
    paginator = session.client("codepipeline").get_paginator("list_action_executions")
    out: list[dict[str, Any]] = []
    for page in paginator.paginate(pipelineName=pipeline,
                                   filter={"pipelineExecutionId": execution_id}):
        out.extend(page.get("actionExecutionDetails") or [])
    return out


def answer_approval(session: AwsSession, approval: PendingApproval, approve: bool,
                    summary: str) -> None:
    """Approve or reject; a summary is required because it is the audit trail."""
    if not summary.strip():
        raise ParameterError("summary", summary, "an approval needs a summary for the audit "
                             "trail", "staging checked, release notes reviewed")
    require_id("token", approval.token, "the token of a pending approval (pending_approvals)")
    try:
        session.client("codepipeline").put_approval_result(
            pipelineName=approval.pipeline, stageName=approval.stage,
            actionName=approval.action, token=approval.token,
            result={"summary": summary, "status": "Approved" if approve else "Rejected"})
    except ClientError as err:
        raise StepError(f"answer approval {approval.stage}/{approval.action} of "
                        f"{approval.pipeline}: {err}") from err
