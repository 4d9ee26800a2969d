"""V2 stage conditions, evaluated: each rule a recorded run, each block a recorded state.

A mixin of :class:`runbook_lib.local.codepipeline.engine.PipelineEngine`. A block (beforeEntry,
onSuccess, onFailure) holds one condition; its rules run in declared order and the first that
fails fails the condition ("if one rule fails in the condition, then the condition fails",
User Guide, Configure conditions for a stage). An operator may override a condition that is
still being evaluated (OverrideStageCondition): the rules in progress are abandoned and the
condition counts as passed. A stop or a shutdown cancels it.
"""

from __future__ import annotations

import copy
import logging
import os
import threading
import time
import uuid
from typing import Any

from runbook_lib.local.codepipeline.engine_host import EngineHost
from runbook_lib.local.codepipeline.records import (
    CONDITION_BLOCKS,
    ConditionRecord,
    ExecutionKey,
    RuleExecutionRecord,
)
from runbook_lib.local.codepipeline.rules import RuleContext, RuleOutcome, evaluator_for
from runbook_lib.local.codepipeline.variables import UnresolvedVariable, resolve_configuration
from runbook_lib.local.server.wire import AwsError

log = logging.getLogger("runbook.local.pipelines")

# Condition verdicts the engine acts on.
PASSED = ("Succeeded", "Overridden")


class StageGates(EngineHost):
    """Evaluate condition blocks and serve OverrideStageCondition."""

    def evaluate_condition(self, key: ExecutionKey, stage: dict[str, Any], block: str) -> str:
        """Run the block's condition; Succeeded, Failed, Overridden or Cancelled."""
        condition = stage[block]["conditions"][0]
        name = stage["name"]
        flag = threading.Event()
        with self.changing():
            execution = self.existing(key)
            state: ConditionRecord = {"status": "InProgress", "summary": "",
                                      "result": condition.get("result", ""),
                                      "lastStatusChange": time.time(), "rules": {}}
            execution.setdefault("conditions", {}).setdefault(name, {})[block] = state
            self._gate_flags[(key.execution_id, name, block)] = flag
            snap = copy.deepcopy(execution)
        self.events.condition(snap, name, block, "STARTED")
        verdict, summary = "Succeeded", "All rules succeeded"
        for rule in condition["rules"]:
            outcome = self._run_rule(key, stage, block, rule, flag)
            if flag.is_set():
                verdict = self.condition_status(key, name, block)
                verdict = "Overridden" if verdict == "Overridden" else "Cancelled"
                summary = outcome.summary
                break
            if outcome.status != "Succeeded":
                verdict, summary = "Failed", f"Rule {rule['name']}: {outcome.summary}"
                break
        return self._close_condition(key, name, block, verdict, summary)

    def _close_condition(self, key: ExecutionKey, stage: str, block: str, verdict: str,
                         summary: str) -> str:
        with self.changing():
            self._gate_flags.pop((key.execution_id, stage, block), None)
            execution = self.existing(key)
            state = execution["conditions"][stage][block]
            if state["status"] == "Overridden":
                verdict = "Overridden"
            else:
                state.update(status=verdict, summary=summary[:2048],
                             lastStatusChange=time.time())
            snap = copy.deepcopy(execution)
        self.events.condition(snap, stage, block, verdict.upper())
        return verdict

    def condition_status(self, key: ExecutionKey, stage: str, block: str) -> str:
        with self.lock:
            execution = self.existing(key)
            return execution.get("conditions", {}).get(stage, {}).get(block, {}).get("status", "")

    def override_condition(self, key: ExecutionKey, stage: str, condition_type: str,
                           who: str) -> None:
        """OverrideStageCondition: a condition still being evaluated counts as passed."""
        block = CONDITION_BLOCKS.get(condition_type)
        if block is None:
            raise AwsError("ValidationException", "conditionType must be BEFORE_ENTRY or "
                                                  "ON_SUCCESS")
        with self.changing():
            execution = self.existing(key)
            state = execution.get("conditions", {}).get(stage, {}).get(block)
            if state is None or state["status"] != "InProgress":
                found = state["status"] if state else "not evaluated"
                raise AwsError("ConditionNotOverridableException",
                               f"The {condition_type} condition of stage {stage} in execution "
                               f"{key.execution_id} is {found}; only a condition in progress "
                               "can be overridden")
            state.update(status="Overridden", summary=f"Overridden by {who}",
                         lastStatusChange=time.time(), overriddenBy=who)
            flag = self._gate_flags.get((key.execution_id, stage, block))
        if flag is not None:
            flag.set()

    def cancel_gates(self, execution_id: str | None = None) -> None:
        """Stop or shutdown: every rule wait of the execution (or of all) ends now."""
        with self.lock:
            for (owner, _stage, _block), flag in self._gate_flags.items():
                if execution_id is None or owner == execution_id:
                    flag.set()

    # -- one rule -------------------------------------------------------------------------------

    def _run_rule(self, key: ExecutionKey, stage: dict[str, Any], block: str,
                  rule: dict[str, Any], flag: threading.Event) -> RuleOutcome:
        rule_id = self._open_rule(key, stage["name"], block, rule)
        execution = self.execution(key)
        if execution is None:  # deleted with its pipeline (DeletePipeline) meanwhile
            return RuleOutcome("Failed", f"Execution {key.execution_id} no longer exists: "
                               f"pipeline {key.pipeline} was deleted")
        try:
            configuration = resolve_configuration(rule.get("configuration") or {},
                                                  self.variable_scope(execution))
        except UnresolvedVariable as err:
            outcome = RuleOutcome("Failed", f"Unable to resolve variable {err} in the rule "
                                  "configuration", error_code="UnresolvedVariable")
            return self._close_rule(key, rule_id, outcome, flag)
        with self.changing():
            self._rule_record(key, rule_id)["input"]["resolvedConfiguration"] = configuration
        ctx = RuleContext(
            aws=self.ctx.aws, state_dir=self.ctx.state_dir, region=key.region,
            pipeline_name=key.pipeline, execution_id=key.execution_id,
            stage_name=stage["name"], rule_name=rule["name"], rule_execution_id=rule_id,
            block=block, configuration=configuration, commands=list(rule.get("commands") or []),
            timeout_minutes=rule.get("timeoutInMinutes"), cancelled=flag,
            progress=lambda summary: self._rule_progress(key, stage["name"], block, rule_id,
                                                         summary),
            role_arn=rule.get("roleArn") or execution["declaration"].get("roleArn", ""),
            endpoint_url=self.ctx.endpoint_url or os.environ.get("AWS_ENDPOINT_URL"))
        return self._close_rule(key, rule_id, self._call_evaluator(rule, ctx), flag)

    def _call_evaluator(self, rule: dict[str, Any], ctx: RuleContext) -> RuleOutcome:
        provider = (rule.get("ruleTypeId") or {}).get("provider", "")
        evaluator = evaluator_for(provider)
        if evaluator is None:
            return RuleOutcome("Failed", f"The local AWS has no evaluator for rule provider "
                               f"{provider}", error_code="NotSupported")
        try:
            return evaluator.run(ctx)
        except Exception as err:  # a crashing evaluator fails its rule, with the cause shown
            log.exception("rule %s of %s", rule["name"], ctx.pipeline_name)
            return RuleOutcome("Failed", f"{type(err).__name__}: {err}")

    def _open_rule(self, key: ExecutionKey, stage: str, block: str,
                   rule: dict[str, Any]) -> str:
        now = time.time()
        rule_id = str(uuid.uuid4())
        with self.changing():
            book = self.book(key.region, key.pipeline)
            execution = book["executions"][key.execution_id]
            record: RuleExecutionRecord = {
                "pipelineExecutionId": key.execution_id, "ruleExecutionId": rule_id,
                "pipelineVersion": execution["pipelineVersion"], "stageName": stage,
                "ruleName": rule["name"], "startTime": now, "lastUpdateTime": now,
                "status": "InProgress",
                "input": {"ruleTypeId": {"owner": "AWS", **rule["ruleTypeId"]},
                          "configuration": rule.get("configuration") or {},
                          "region": rule.get("region", key.region),
                          "inputArtifacts": []},
                "_block": block, "_summary": ""}
            if rule.get("roleArn"):
                record["input"]["roleArn"] = rule["roleArn"]
            book.setdefault("rules", {})[rule_id] = record
            execution["conditions"][stage][block]["rules"][rule["name"]] = rule_id
            snap, rec = copy.deepcopy(execution), copy.deepcopy(record)
        self.events.rule(snap, rec, "STARTED")
        return rule_id

    def _rule_record(self, key: ExecutionKey, rule_id: str) -> RuleExecutionRecord:
        return self.book(key.region, key.pipeline)["rules"][rule_id]

    def _rule_progress(self, key: ExecutionKey, stage: str, block: str, rule_id: str,
                       summary: str) -> None:
        """An evaluator that waits says why; saved only when the reason changes."""
        with self.lock:
            record = self._rule_record(key, rule_id)
            if record.get("_summary") == summary:
                return
            with self.changing():
                record.update({"_summary": summary, "lastUpdateTime": time.time()})
                state = self.existing(key)["conditions"][stage][block]
                if state["status"] == "InProgress":
                    state["summary"] = summary[:2048]

    def _close_rule(self, key: ExecutionKey, rule_id: str, outcome: RuleOutcome,
                    flag: threading.Event) -> RuleOutcome:
        status = "Abandoned" if flag.is_set() else (
            "Succeeded" if outcome.status == "Succeeded" else "Failed")
        with self.changing():
            record = self._rule_record(key, rule_id)
            result: dict[str, Any] = {"externalExecutionSummary": outcome.summary[:2048]}
            if outcome.external_execution_id:
                result["externalExecutionId"] = outcome.external_execution_id
            if status == "Failed":
                result["errorDetails"] = {"code": outcome.error_code,
                                          "message": outcome.summary[:5000]}
            record.update({"status": status, "lastUpdateTime": time.time(),
                           "_summary": outcome.summary, "output": {"executionResult": result}})
            snap = copy.deepcopy(self.existing(key))
            rec = copy.deepcopy(record)
        self.events.rule(snap, rec, status.upper())
        return outcome
