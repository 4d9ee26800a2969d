"""Answered approvals as CodePipeline itself recorded them (ListActionExecutions)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from botocore.exceptions import ClientError

from runbook_lib.core.errors import StepError
from runbook_lib.core.session import AwsSession


@dataclass
class PastApproval:
    """An answered approval as CodePipeline itself recorded it."""

    pipeline: str
    execution_id: str
    stage: str
    status: str
    by: str
    summary: str
    when: datetime | None


PAST_HEADERS = ("pipeline", "execution", "stage", "status", "by", "summary")


def past_approvals(session: AwsSession, pipeline: str, limit: int = 20) -> list[PastApproval]:
    """Answered (or expired) manual approvals, newest first, from ListActionExecutions."""
    paginator = session.client("codepipeline").get_paginator("list_action_executions")
    out: list[PastApproval] = []
    try:
        for page in paginator.paginate(pipelineName=pipeline):
            for item in page.get("actionExecutionDetails") or []:
                kind = (item.get("input") or {}).get("actionTypeId") or {}
                if kind.get("category") != "Approval" or item.get("status") == "InProgress":
                    continue
                result = (item.get("output") or {}).get("executionResult") or {}
                out.append(PastApproval(pipeline, item.get("pipelineExecutionId") or "-",
                                        item.get("stageName", ""),
                                        item.get("status", ""), item.get("updatedBy", ""),
                                        result.get("externalExecutionSummary", ""),
                                        item.get("lastUpdateTime")))
    except ClientError as err:
        raise StepError(f"list action executions of {pipeline}: {err}") from err
    out.sort(key=lambda p: p.when.timestamp() if p.when else 0, reverse=True)
    return out[:limit]


def past_rows(items: list[PastApproval]) -> list[tuple[str, ...]]:
    return [(p.pipeline, p.execution_id, p.stage, p.status, p.by or "-", p.summary or "-")
            for p in items]
