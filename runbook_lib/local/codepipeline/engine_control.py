"""Operator control of executions: stop, retry a stage, roll back, and recovery at start.

A mixin of :class:`runbook_lib.local.codepipeline.engine.PipelineEngine`; these change the
same records under the same lock as the running executions, and wake them.
"""

from __future__ import annotations

import copy
import time
from typing import Any

from runbook_lib.local.codepipeline import approvals
from runbook_lib.local.codepipeline.actions import ActionOutcome
from runbook_lib.local.codepipeline.engine_actions import action_output
from runbook_lib.local.codepipeline.engine_host import EngineHost
from runbook_lib.local.codepipeline.records import ACTIVE, EVENT_STATES, ExecutionKey
from runbook_lib.local.server.wire import AwsError

RESTART_SUMMARY = "The local AWS restarted while this was in progress"


class EngineControl(EngineHost):
    """StopPipelineExecution, RetryStageExecution, RollbackStage, and restart recovery."""

    def request_stop(self, key: ExecutionKey, abandon: bool, reason: str) -> None:
        """StopPipelineExecution: ``abandon`` ends it now, else running actions finish first."""
        with self.changing():
            execution = self.existing(key)
            if execution["status"] not in ACTIVE:
                raise AwsError("PipelineExecutionNotStoppableException",
                               f"Execution {key.execution_id} is {execution['status']}; only "
                               "an execution in progress can be stopped")
            mode = execution.get("stopMode")
            if mode == "abandon" or (mode == "stop" and not abandon):
                raise AwsError("DuplicatedStopRequestException",
                               f"Execution {key.execution_id} is already being stopped")
            execution.update(stopMode="abandon" if abandon else "stop", status="Stopping",
                             lastUpdateTime=time.time())
            if reason:
                execution["stopTrigger"] = {"reason": reason}
            if abandon:
                self._stop_flag(key.execution_id).set()
            self.cancel_gates(key.execution_id)
            snap = copy.deepcopy(execution)
        self.events.pipeline(snap, "STOPPING")
        self.approvals.wake()

    def retry_stage(self, key: ExecutionKey, stage: str, mode: str) -> None:
        """RetryStageExecution on the latest execution's failed (or stopped) stage."""
        if mode not in ("FAILED_ACTIONS", "ALL_ACTIONS"):
            raise AwsError("ValidationException", "retryMode must be FAILED_ACTIONS or "
                                                  "ALL_ACTIONS")
        with self.changing():
            execution = self.existing(key)
            self._check_retryable(key, execution, stage)
            execution.update(status="InProgress", attempt=execution["attempt"] + 1,
                             lastUpdateTime=time.time(), stopMode=None)
            for field in ("statusSummary", "stopTrigger"):
                execution.pop(field, None)
            record_retry(execution["stages"][stage], "ManualStageRetry")
            self._stops.pop(key.execution_id, None)
            snap = copy.deepcopy(execution)
        self.events.pipeline(snap, "RESUMED")
        self.launch(snap, first_stage=stage, resumed=True,
                    rerun="failed" if mode == "FAILED_ACTIONS" else "all")

    def _check_retryable(self, key: ExecutionKey, execution: dict[str, Any], stage: str) -> None:
        if stage not in [s["name"] for s in execution["declaration"]["stages"]]:
            raise AwsError("StageNotFoundException", f"Stage {stage} not found")
        if execution["status"] in ACTIVE:
            raise AwsError("ConflictException",
                           f"Execution {key.execution_id} is still in progress")
        latest = max((e for e in self.book(key.region, key.pipeline)["executions"].values()
                      if e["executionType"] == "STANDARD"), key=lambda e: e["seq"])
        if latest["pipelineExecutionId"] != key.execution_id:
            raise AwsError("NotLatestPipelineExecutionException",
                           f"Execution {key.execution_id} is not the latest execution")
        if execution["stages"].get(stage, {}).get("status") not in ("Failed", "Stopped"):
            raise AwsError("StageNotRetryableException",
                           f"Stage {stage} of execution {key.execution_id} has not failed")

    def last_success_in(self, region: str, pipeline: str, stage: str,
                        exclude: str | None = None) -> str | None:
        """The execution that most recently succeeded in ``stage``: what a rollback re-runs."""
        with self.lock:
            done = [e for e in self.book(region, pipeline)["executions"].values()
                    if e["pipelineExecutionId"] != exclude
                    and e["stages"].get(stage, {}).get("status") == "Succeeded"]
            done.sort(key=lambda e: e["stages"][stage]["lastUpdateTime"])
            return done[-1]["pipelineExecutionId"] if done else None

    def start_rollback(self, target: ExecutionKey, stage: str, trigger: dict[str, str]) -> str:
        """A ROLLBACK execution: ``stage`` again, with the target execution's artifacts."""
        found = self.execution(target)
        if found is None:
            raise AwsError("PipelineExecutionNotFoundException",
                           f"Execution {target.execution_id} not found in pipeline "
                           f"{target.pipeline}")
        if found["stages"].get(stage, {}).get("status") != "Succeeded":
            raise AwsError("UnableToRollbackStageException",
                           f"Execution {target.execution_id} did not succeed in stage {stage}")
        with self.lock:
            busy = [e for e in self.book(target.region, target.pipeline)["executions"].values()
                    if e["status"] in ACTIVE and e.get("currentStage") == stage]
        if busy:
            raise AwsError("ConflictException", f"Stage {stage} has an execution in progress: "
                                                f"{busy[0]['pipelineExecutionId']}")
        kept = {k: found[k] for k in ("artifacts", "outputVariables", "artifactRevisions",
                                      "sourceSummaries", "commitId")}
        execution = self.new_execution(
            target.region, found["declaration"], trigger=trigger, variables=found["variables"],
            source_revisions=found["sourceRevisions"], execution_type="ROLLBACK",
            rollbackMetadata={"rollbackTargetPipelineExecutionId": target.execution_id},
            rollbackStage=stage, **kept)
        self.launch(execution)
        return execution["pipelineExecutionId"]

    def roll_back_automatically(self, failed: ExecutionKey, stage: str) -> None:
        """An automated rollback of ``stage`` to the last execution that succeeded in it
        (none: nothing to roll back to, as on AWS; PARALLEL mode has no rollback)."""
        with self.lock:
            record = self.book(failed.region, failed.pipeline)["executions"][failed.execution_id]
            if record["executionType"] != "STANDARD" or record["executionMode"] == "PARALLEL":
                return
            target = self.last_success_in(failed.region, failed.pipeline, stage,
                                          exclude=failed.execution_id)
        if target:
            self.start_rollback(ExecutionKey(failed.region, failed.pipeline, target), stage,
                                {"triggerType": "AutomatedRollback",
                                 "triggerDetail": failed.execution_id})

    def recover(self) -> None:
        """After a restart: nothing stays InProgress. Executions waiting only on a manual
        approval wait again (same token); anything else ends Failed (Stopped if a stop was
        requested), saying the local AWS restarted."""
        ended, resumed = [], []
        now = time.time()
        with self.changing():
            for books in self.store.data.values():
                for book in books.values():
                    for execution in book["executions"].values():
                        if execution["status"] not in ACTIVE:
                            continue
                        running = [a for a in book["actions"].values()
                                   if a["pipelineExecutionId"] == execution["pipelineExecutionId"]
                                   and a["status"] == "InProgress"]
                        if running and not execution.get("stopMode") and all(
                                (self.approvals.get(a["actionExecutionId"]) or {}).get("status")
                                == approvals.PENDING for a in running):
                            resumed.append(copy.deepcopy(execution))
                            continue
                        _end_rules_after_restart(book, execution, now)
                        ended.append(_end_after_restart(execution, running, now))
        for execution in ended:
            self.events.pipeline(execution, EVENT_STATES[execution["status"]])
        for execution in resumed:
            self.launch(execution, first_stage=execution["currentStage"], rerun="resume",
                        resumed=True)

    def existing(self, key: ExecutionKey) -> dict[str, Any]:
        """The live record (caller holds the lock); unknown ids are AWS's not-found error."""
        execution = self.book(key.region, key.pipeline)["executions"].get(key.execution_id)
        if execution is None:
            raise AwsError("PipelineExecutionNotFoundException",
                           f"Execution {key.execution_id} not found in pipeline {key.pipeline}")
        return execution


def record_retry(stage_record: dict[str, Any], trigger: str) -> None:
    """Count a retry in the stage's RetryStageMetadata (automatic or manual)."""
    meta = stage_record.setdefault("retry", {})
    counter = "autoStageRetryAttempt" if trigger == "AutomatedStageRetry" else \
        "manualStageRetryAttempt"
    meta[counter] = meta.get(counter, 0) + 1
    meta["latestRetryTrigger"] = trigger


def _end_rules_after_restart(book: dict[str, Any], execution: dict[str, Any],
                             now: float) -> None:
    for record in book.get("rules", {}).values():
        if (record["pipelineExecutionId"] == execution["pipelineExecutionId"]
                and record["status"] == "InProgress"):
            record.update(status="Abandoned", lastUpdateTime=now, _summary=RESTART_SUMMARY)
    for blocks in execution.get("conditions", {}).values():
        for state in blocks.values():
            if state.get("status") == "InProgress":
                state.update(status="Abandoned", summary=RESTART_SUMMARY, lastStatusChange=now)


def _end_after_restart(execution: dict[str, Any], running: list[dict[str, Any]],
                       now: float) -> dict[str, Any]:
    stopped = bool(execution.get("stopMode"))
    for record in running:
        record.update(status="Abandoned" if stopped else "Failed", lastUpdateTime=now,
                      _summary=RESTART_SUMMARY)
        record["output"] = action_output(ActionOutcome("Failed", RESTART_SUMMARY), "Failed")
    stage = execution["stages"].get(execution.get("currentStage") or "")
    if stage and stage["status"] == "InProgress":
        stage.update(status="Stopped" if stopped else "Failed", lastUpdateTime=now)
    execution.update(status="Stopped" if stopped else "Failed", statusSummary=RESTART_SUMMARY,
                     lastUpdateTime=now, waitingAt=None)
    return copy.deepcopy(execution)
