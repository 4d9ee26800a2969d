"""Manual approval actions: the SNS notification, the wait, and PutApprovalResult.

An approval is the pipeline's audit trail (who let a release into production, and why), so each
one is kept in the state directory with its token, decision, approver and time; a waiting
approval survives a restart of the local AWS and is waited for again with the same token.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from runbook_lib.local import clock
from runbook_lib.local.codepipeline.actions import ActionContext, ActionOutcome, register
from runbook_lib.local.server.store import JsonStore, PerStateDir
from runbook_lib.local.server.wire import AwsError

log = logging.getLogger("runbook.local.pipelines")

TIMEOUT_ENV = "RUNBOOK_LOCAL_APPROVAL_TIMEOUT_SECONDS"
DEFAULT_TIMEOUT_SECONDS = 7 * 24 * 3600  # CodePipeline's: approvals expire after seven days
PENDING = "Pending"
_CONSOLE = "https://console.aws.amazon.com/codepipeline/home?region={region}#/view/{pipeline}"



def approval_timeout_seconds() -> float:
    """Read when an approval opens, so a test (or an operator) can shorten it per run."""
    return float(os.environ.get(TIMEOUT_ENV) or clock.scaled(DEFAULT_TIMEOUT_SECONDS))


class ApprovalBook:
    """Approvals by action execution id: pending ones are waited on, decided ones kept."""

    def __init__(self, state_dir: Path) -> None:
        self.store = JsonStore(state_dir / "codepipeline-approvals.json", {})
        self._changed = threading.Condition(self.store.lock)
        self._closed = False

    def get(self, action_execution_id: str) -> dict[str, Any] | None:
        with self.store.lock:
            record = self.store.data.get(action_execution_id)
            return dict(record) if record else None

    def open(self, ctx: ActionContext) -> tuple[dict[str, Any], bool]:
        """The approval of this action execution, created (True) or found again (False)."""
        with self.store.transaction():
            self._closed = False
            record = self.store.data.get(ctx.action_execution_id)
            if record:
                return dict(record), False
            record = {
                "region": ctx.region, "pipelineName": ctx.pipeline_name,
                "pipelineExecutionId": ctx.execution_id, "stageName": ctx.stage_name,
                "actionName": ctx.action_name, "token": str(uuid.uuid4()),
                "expires": time.time() + approval_timeout_seconds(), "status": PENDING,
            }
            self.store.data[ctx.action_execution_id] = record
            return dict(record), True

    def decide(self, region: str, pipeline: str, stage: str, action: str, token: str,
               status: str, summary: str, who: str) -> float:
        """PutApprovalResult: check the token, record the decision, wake the waiting action."""
        if status not in ("Approved", "Rejected"):
            raise AwsError("ValidationException", "result.status must be Approved or Rejected")
        with self.store.lock:
            mine = [r for r in self.store.data.values()
                    if (r["region"], r["pipelineName"], r["stageName"], r["actionName"])
                    == (region, pipeline, stage, action)]
            record = next((r for r in mine if r["token"] == token), None)
            if record is None:
                raise AwsError("InvalidApprovalTokenException",
                               f"The approval action {action} does not have a token {token}")
            if record["status"] != PENDING:
                raise AwsError("ApprovalAlreadyCompletedException",
                               f"The approval action {action} has already been completed")
            now = time.time()
            record.update(status=status, summary=summary, updatedBy=who, decidedAt=now)
            self.store.save()
            self._changed.notify_all()
            return now

    def wait(self, action_execution_id: str, stop: threading.Event) -> dict[str, Any]:
        """Block until decided, expired, stopped or closed; no polling (the book is notified)."""
        with self.store.lock:
            record = self.store.data[action_execution_id]
            while record["status"] == PENDING and not stop.is_set() and not self._closed:
                remaining = record["expires"] - time.time()
                if remaining <= 0:
                    record.update(status="Expired", decidedAt=time.time(),
                                  summary="The approval expired before anyone approved it")
                    self.store.save()
                    break
                self._changed.wait(remaining)
            return dict(record)

    def cancel(self, action_execution_id: str) -> None:
        """The action was abandoned: its token can no longer approve anything."""
        with self.store.lock:
            record = self.store.data.get(action_execution_id)
            if record and record["status"] == PENDING:
                record.update(status="Abandoned", decidedAt=time.time())
                self.store.save()
                self._changed.notify_all()

    def wake(self) -> None:
        """Stop requests are events the book does not see: waiters re-check when woken."""
        with self.store.lock:
            self._changed.notify_all()

    def close(self) -> None:
        """Shutdown: waiters return; pending approvals stay pending for the next start."""
        with self.store.lock:
            self._closed = True
            self._changed.notify_all()

    def forget_pipeline(self, region: str, pipeline: str) -> None:
        with self.store.transaction():
            for key in [k for k, r in self.store.data.items()
                        if (r["region"], r["pipelineName"]) == (region, pipeline)]:
                del self.store.data[key]


# The approval book of the local AWS serving a state folder (executors only get a context).
book_for = PerStateDir(ApprovalBook)


def notification(ctx: ActionContext, token: str, expires: float) -> dict[str, Any]:
    """The JSON CodePipeline publishes to the approval topic (user guide, approvals JSON)."""
    console = _CONSOLE.format(region=ctx.region, pipeline=ctx.pipeline_name)
    config = ctx.configuration
    return {
        "region": ctx.region,
        "consoleLink": console,
        "approval": {
            "pipelineName": ctx.pipeline_name,
            "stageName": ctx.stage_name,
            "actionName": ctx.action_name,
            "token": token,
            "expires": datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%dT%H:%MZ"),
            "externalEntityLink": config.get("ExternalEntityLink"),
            "approvalReviewLink": (f"{console}/{ctx.stage_name}/{ctx.action_name}/approve/"
                                   f"{token}"),
            "customData": config.get("CustomData"),
        },
    }


@register("Approval", "Manual")
class ManualApproval:
    """Tell the approvers (SNS), then wait for PutApprovalResult, expiry or a stop."""

    def run(self, ctx: ActionContext) -> ActionOutcome:
        book = book_for(ctx.state_dir)
        record, created = book.open(ctx)
        topic = ctx.configuration.get("NotificationArn")
        if created and topic:
            message = notification(ctx, record["token"], record["expires"])
            subject = f"APPROVAL NEEDED: AWS CodePipeline {ctx.pipeline_name} for action " \
                      f"{ctx.action_name}"
            try:
                ctx.aws.client("sns", ctx.region).publish(
                    TopicArn=topic, Subject=subject[:100], Message=json.dumps(message))
            except (ClientError, BotoCoreError) as err:
                return ActionOutcome("Failed", f"Could not notify the approvers on {topic}: "
                                               f"{err}", error_code="JobFailed")
        decided = book.wait(ctx.action_execution_id, ctx.stop_requested)
        status = decided["status"]
        if status == "Approved":
            return ActionOutcome("Succeeded", decided.get("summary", ""))
        if status in ("Rejected", "Expired"):
            return ActionOutcome("Failed", decided.get("summary", ""))
        return ActionOutcome("Failed", "The approval was stopped before a decision")
