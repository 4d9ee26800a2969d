"""What a pipeline is doing now (GetPipelineState): stages of a run, approvals waiting.

GetPipelineState's stage-level ``latestExecution`` is optional (AWS's own example has none), so
the execution a stage or a pending approval belongs to falls back to the action executions
(ListActionExecutions), and an approval whose execution cannot be found says so instead of
carrying an empty id into later requests.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain
from typing import Any

from botocore.exceptions import ClientError

from runbook_lib.core.errors import ParameterError, StepError
from runbook_lib.core.session import AwsSession
from runbook_lib.operate.durations import combine_statuses
from runbook_lib.operate.summaries import action_items, require_id


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

    @property
    def answerable(self) -> bool:
        """Whether PutApprovalResult can be sent: it needs the approval's token."""
        return bool(self.token)


# Why a run can wait on an approval whose token the caller does not see (ActionExecution.token
# is optional in GetPipelineState's model, and AWS documents one case where it is left out).
TOKEN_MISSING = (
    "GetPipelineState showed no token for it, and PutApprovalResult needs one. AWS leaves the "
    "token out for a pipeline in PARALLEL execution mode (there the approval action's "
    "externalExecutionId in ListActionExecutions is its token), and the field is optional in "
    "any response. Answer it in the CodePipeline console, or with `aws codepipeline "
    "put-approval-result` and that id as --token.")


def read_state(session: AwsSession, pipeline: str) -> dict[str, Any]:
    state: dict[str, Any] = session.client("codepipeline").get_pipeline_state(
        name=require_id("pipeline", pipeline, "my-app-pipeline"))
    return state


def stage_statuses(session: AwsSession, pipeline: str, execution_id: str
                   ) -> list[tuple[str, str]]:
    """(stage, status) for the stages this execution has reached, in pipeline order, also
    those a later run has been through since (a rollback that follows a failed deploy at once:
    the stage's ``latestExecution`` is already the rollback's)."""
    return stages_of(session, pipeline, read_state(session, pipeline), execution_id,
                     past_later_runs=True)


def pending_approvals(session: AwsSession, pipeline: str) -> list[PendingApproval]:
    """Manual approvals waiting for an answer, with their tokens and executions."""
    return pending_in(session, pipeline, read_state(session, pipeline))


def stages_of(session: AwsSession, pipeline: str, state: dict[str, Any], execution_id: str,
              past_later_runs: bool = False) -> list[tuple[str, str]]:
    """Stages of ``state`` this execution reached; from its action and rule executions for
    stages whose ``latestExecution`` the state leaves out, and, with ``past_later_runs``, for
    those whose ``latestExecution`` is another run's (two List reads more: not for polls)."""
    require_id("execution_id", execution_id)
    stages = state.get("stageStates") or []
    out, unknown = [], []
    for stage in stages:
        latest = stage.get("latestExecution")
        if latest is not None and latest.get("pipelineExecutionId") == execution_id:
            out.append((stage.get("stageName", ""), latest.get("status", "")))
        elif latest is None or past_later_runs:
            unknown.append(stage.get("stageName", ""))
    if unknown:
        by_stage = _statuses_by_stage(session, pipeline, execution_id)
        out += [(name, combine_statuses(by_stage[name])) for name in unknown if name in by_stage]
    order = [s.get("stageName", "") for s in stages]
    return sorted(out, key=lambda pair: order.index(pair[0]))


def _statuses_by_stage(session: AwsSession, pipeline: str, execution_id: str
                       ) -> dict[str, list[str]]:
    """The statuses of an execution's actions and of its stage conditions' rules, by stage: a
    stage whose actions all succeeded still failed when a condition's rule failed it."""
    cp = session.client("codepipeline")
    by_stage: dict[str, list[str]] = {}
    for item in chain(action_items(cp, pipeline, {execution_id}),
                      rule_items(cp, pipeline, execution_id)):
        by_stage.setdefault(item.get("stageName", ""), []).append(item.get("status", ""))
    return by_stage


def rule_items(client: Any, pipeline: str, execution_id: str) -> Iterator[dict[str, Any]]:
    """Every rule execution (of the stage conditions) of one run, in AWS's order."""
    paginator = client.get_paginator("list_rule_executions")
    for page in paginator.paginate(pipelineName=pipeline,
                                   filter={"pipelineExecutionId": execution_id}):
        yield from page.get("ruleExecutionDetails") or []


def pending_in(session: AwsSession, pipeline: str, state: dict[str, Any]) -> list[PendingApproval]:
    """Manual approvals of ``state`` waiting for an answer, with a token to answer them."""
    pairs = [(a, latest) for a, latest in _running_actions(pipeline, state) if a.token]
    _place_missing(session, pipeline, pairs)
    return [a for a, _ in pairs]


def approvals_without_token(session: AwsSession, pipeline: str, state: dict[str, Any]
                            ) -> list[PendingApproval]:
    """Approval actions a run waits on whose token ``state`` does not show (see
    :data:`TOKEN_MISSING`); the declaration (GetPipeline, read only when some running action
    has no token) says which running actions are approvals."""
    tokenless = [(a, latest) for a, latest in _running_actions(pipeline, state) if not a.token]
    if not tokenless:
        return []
    declared = session.client("codepipeline").get_pipeline(name=pipeline)["pipeline"]
    kinds = {(stage.get("name"), action.get("name"))
             for stage in declared.get("stages") or []
             for action in stage.get("actions") or []
             if (action.get("actionTypeId") or {}).get("category") == "Approval"}
    pairs = [(a, latest) for a, latest in tokenless if (a.stage, a.action) in kinds]
    _place_missing(session, pipeline, pairs)
    return [a for a, _ in pairs]


def _running_actions(pipeline: str, state: dict[str, Any]
                     ) -> list[tuple[PendingApproval, dict[str, Any]]]:
    """Every action of ``state`` in progress, as an approval would be named (token '' when
    the state shows none), with its ``latestExecution``."""
    out = []
    for stage in state.get("stageStates") or []:
        execution_id = (stage.get("latestExecution") or {}).get("pipelineExecutionId", "")
        for action in stage.get("actionStates") or []:
            latest = action.get("latestExecution") or {}
            if latest.get("status") == "InProgress":
                out.append((PendingApproval(pipeline, stage.get("stageName", ""),
                                            action.get("actionName", ""),
                                            latest.get("token") or "", execution_id,
                                            latest.get("summary") or ""), latest))
    return out


def _place_missing(session: AwsSession, pipeline: str,
                   pairs: list[tuple[PendingApproval, dict[str, Any]]]) -> None:
    unplaced = [(a, latest.get("actionExecutionId") or "") for a, latest in pairs
                if not a.execution_id]
    if unplaced:
        _place(session, pipeline, unplaced)


def _place(session: AwsSession, pipeline: str,
           approvals: list[tuple[PendingApproval, str]]) -> None:
    """Find the execution of approvals the state did not place: the action execution with the
    same id, else the running one of the same stage and action. Pages come in no documented
    order, so the reading goes on until every approval is placed or the pages end."""
    paginator = session.client("codepipeline").get_paginator("list_action_executions")
    pages = paginator.paginate(pipelineName=pipeline, PaginationConfig={"PageSize": 100})
    for page in pages:
        for approval, action_execution_id in approvals:
            for item in page.get("actionExecutionDetails") or []:
                same_id = action_execution_id and item.get("actionExecutionId") == \
                    action_execution_id
                running = (item.get("stageName"), item.get("actionName"), item.get("status")) \
                    == (approval.stage, approval.action, "InProgress")
                if not approval.execution_id and (same_id or running):
                    approval.execution_id = item.get("pipelineExecutionId") or ""
        if all(a.execution_id for a, _ in approvals):
            return


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
