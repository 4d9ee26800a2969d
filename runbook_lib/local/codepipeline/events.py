"""Execution state changes put on the local EventBridge, in CodePipeline's event shapes.

Operators watch pipelines with EventBridge rules ("pipeline FAILED" to an SNS topic); the same
rules must fire locally, so every pipeline, stage and action state change is put as CodePipeline
puts it (detail-type, source ``aws.codepipeline``, the pipeline ARN in ``resources``). A failed
put is logged and never breaks the execution, as a monitoring outage never stops a release.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from runbook_lib.core.text import iso_time

log = logging.getLogger("runbook.local.pipelines")

SOURCE = "aws.codepipeline"
PIPELINE_DETAIL_TYPE = "CodePipeline Pipeline Execution State Change"
STAGE_DETAIL_TYPE = "CodePipeline Stage Execution State Change"
ACTION_DETAIL_TYPE = "CodePipeline Action Execution State Change"
# AWS's event reference lists only the three above; condition and rule changes are put with
# these two detail types, shaped like the stage and action events (an unverified reading).
CONDITION_DETAIL_TYPE = "CodePipeline Stage Condition State Change"
RULE_DETAIL_TYPE = "CodePipeline Rule Execution State Change"


class PipelineEvents:
    """Puts CodePipeline's three kinds of state-change events through ``aws`` (in-process)."""

    def __init__(self, aws, account_id: str) -> None:
        self.aws = aws
        self.account_id = account_id

    def pipeline(self, execution: dict[str, Any], state: str) -> None:
        detail = self._base(execution)
        detail["execution-trigger"] = {
            "trigger-type": execution["trigger"]["triggerType"],
            "trigger-detail": execution["trigger"].get("triggerDetail", ""),
        }
        if execution.get("executionType") == "ROLLBACK":
            detail["execution-type"] = "ROLLBACK"
        self._put(execution, PIPELINE_DETAIL_TYPE, detail, state)

    def stage(self, execution: dict[str, Any], stage: str, state: str) -> None:
        detail = self._base(execution)
        detail["stage"] = stage
        self._put(execution, STAGE_DETAIL_TYPE, detail, state)

    def action(self, execution: dict[str, Any], record: dict[str, Any], state: str) -> None:
        """``record`` is the ActionExecutionDetail the engine keeps for the action."""
        detail = self._base(execution)
        action_input = record.get("input", {})
        type_id = action_input.get("actionTypeId", {})
        detail.update({
            "stage": record["stageName"],
            "action": record["actionName"],
            "region": execution["region"],
            "type": {k: type_id.get(k) for k in ("owner", "provider", "category", "version")},
            "input-artifacts": action_input.get("inputArtifacts", []),
        })
        output = record.get("output") or {}
        if output.get("outputArtifacts"):
            detail["output-artifacts"] = output["outputArtifacts"]
        result = output.get("executionResult")
        if result and state in ("SUCCEEDED", "FAILED", "ABANDONED"):
            detail["execution-result"] = {
                "external-execution-id": result.get("externalExecutionId", ""),
                "external-execution-summary": result.get("externalExecutionSummary", ""),
                "external-execution-url": result.get("externalExecutionUrl", ""),
                "error-code": (result.get("errorDetails") or {}).get("code", ""),
            }
        self._put(execution, ACTION_DETAIL_TYPE, detail, state)

    def condition(self, execution: dict[str, Any], stage: str, block: str, state: str) -> None:
        """A condition block started, passed, failed or was overridden."""
        detail = self._base(execution)
        recorded = execution.get("conditions", {}).get(stage, {}).get(block, {})
        detail.update({"stage": stage, "condition-type": block,
                       "result": recorded.get("result", ""),
                       "summary": recorded.get("summary", "")})
        self._put(execution, CONDITION_DETAIL_TYPE, detail, state)

    def rule(self, execution: dict[str, Any], record: Mapping[str, Any], state: str) -> None:
        """``record`` is the RuleExecutionDetail the engine keeps for the rule run."""
        detail = self._base(execution)
        type_id = record.get("input", {}).get("ruleTypeId", {})
        detail.update({"stage": record["stageName"], "rule": record["ruleName"],
                       "condition-type": record.get("_block", ""),
                       "region": execution["region"],
                       "type": {k: type_id.get(k) for k in ("owner", "provider", "category",
                                                            "version")}})
        result = (record.get("output") or {}).get("executionResult")
        if result:
            detail["execution-result"] = {
                "external-execution-summary": result.get("externalExecutionSummary", ""),
                "error-code": (result.get("errorDetails") or {}).get("code", "")}
        self._put(execution, RULE_DETAIL_TYPE, detail, state)

    def _base(self, execution: dict[str, Any]) -> dict[str, Any]:
        return {
            "pipeline": execution["pipelineName"],
            "execution-id": execution["pipelineExecutionId"],
            "start-time": iso_time(execution["startTime"], "milliseconds"),
            "version": float(execution["pipelineVersion"]),
            "pipeline-execution-attempt": float(execution.get("attempt", 1)),
        }

    def _put(self, execution: dict[str, Any], detail_type: str, detail: dict[str, Any],
             state: str) -> None:
        detail["state"] = state
        region = execution["region"]
        arn = f"arn:aws:codepipeline:{region}:{self.account_id}:{execution['pipelineName']}"
        entry = {"Source": SOURCE, "DetailType": detail_type, "Detail": json.dumps(detail),
                 "Resources": [arn], "Time": datetime.now(UTC)}
        try:
            answer = self.aws.client("events", region).put_events(Entries=[entry])
        except (ClientError, BotoCoreError) as err:
            log.warning("put %s %s for %s: %s", detail_type, state, arn, err)
            return
        if answer.get("FailedEntryCount"):
            log.warning("put %s %s for %s: %s", detail_type, state, arn, answer["Entries"])
