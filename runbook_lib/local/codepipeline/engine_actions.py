"""Running a stage's actions: runOrder groups in parallel, each action through its executor.

A mixin of :class:`runbook_lib.local.codepipeline.engine.PipelineEngine`: it shares the
engine's lock, records and threads. Results are recorded with real times; a crash in an
executor fails its action with the cause, never the engine.
"""

from __future__ import annotations

import copy
import logging
import os
import time
import uuid
from typing import Any

from runbook_lib.local.codepipeline.actions import (
    ActionContext,
    ActionOutcome,
    ArtifactRef,
    executor_for,
)
from runbook_lib.local.codepipeline.engine_host import EngineHost
from runbook_lib.local.codepipeline.records import ACCOUNT_ID, EVENT_STATES, ExecutionKey
from runbook_lib.local.codepipeline.variables import UnresolvedVariable, resolve_configuration

log = logging.getLogger("runbook.local.pipelines")


class ActionRunner(EngineHost):
    """Runs the actions of one stage of one execution (see the module docstring)."""

    def run_actions(self, key: ExecutionKey, stage: dict[str, Any], rerun: str) -> str:
        """The stage's runOrder groups in order; Succeeded, Failed or Stopped."""
        status = "Succeeded"
        orders = sorted({a.get("runOrder", 1) for a in stage["actions"]})
        for position, order in enumerate(orders):
            group = [a for a in stage["actions"] if a.get("runOrder", 1) == order]
            status = self._run_group(key, stage["name"], group, rerun)
            if status != "Succeeded" or self.closing:
                break
            stopping = self._stop_flag(key.execution_id).is_set() or self.stop_mode(key)
            if stopping and position < len(orders) - 1:
                status = "Stopped"
                break
        return status

    def _run_group(self, key: ExecutionKey, stage: str, group: list[dict[str, Any]],
                   rerun: str) -> str:
        """Start the group's actions in parallel; wait until all end or the run is abandoned."""
        started: list[str] = []
        for action in group:
            with self.lock:
                book = self.book(key.region, key.pipeline)
                ids = book["executions"][key.execution_id]["stages"][stage]["actions"]
                previous = book["actions"].get(ids.get(action["name"], ""))
            if rerun != "all" and previous and previous["status"] == "Succeeded":
                continue
            reuse = previous["actionExecutionId"] if (
                rerun == "resume" and previous and previous["status"] == "InProgress") else None
            action_id = self._open_action(key, stage, action, reuse)
            started.append(action_id)
            self.spawn(self._run_action, key, stage, action, action_id)
        with self.changed:
            while True:
                book = self.book(key.region, key.pipeline)
                statuses = [book["actions"][a]["status"] for a in started if a in book["actions"]]
                if len(statuses) < len(started):
                    return "Failed"  # the pipeline was deleted meanwhile
                if "InProgress" not in statuses:
                    return "Failed" if "Failed" in statuses else "Succeeded"
                if self.closing:
                    return "Stopped"
                if book["executions"][key.execution_id].get("stopMode") == "abandon":
                    break
                self.changed.wait()
        self._abandon(key, started)
        return "Stopped"

    def _abandon(self, key: ExecutionKey, action_ids: list[str]) -> None:
        abandoned = []
        with self.changing():
            book = self.book(key.region, key.pipeline)
            for action_id in action_ids:
                record = book["actions"][action_id]
                if record["status"] == "InProgress":
                    record.update(status="Abandoned", lastUpdateTime=time.time(),
                                  _summary="Abandoned by StopPipelineExecution")
                    self.approvals.cancel(action_id)
                    execution = book["executions"][record["pipelineExecutionId"]]
                    abandoned.append((copy.deepcopy(execution), copy.deepcopy(record)))
        for execution, record in abandoned:
            self.events.action(execution, record, "ABANDONED")

    def _open_action(self, key: ExecutionKey, stage: str, action: dict[str, Any],
                     reuse: str | None) -> str:
        now = time.time()
        with self.changing():
            book = self.book(key.region, key.pipeline)
            execution = book["executions"][key.execution_id]
            if reuse:
                book["actions"][reuse]["lastUpdateTime"] = now
                return reuse
            action_id = str(uuid.uuid4())
            book["actions"][action_id] = _new_action_record(execution, stage, action, action_id,
                                                            now)
            execution["stages"][stage]["actions"][action["name"]] = action_id
            execution["lastUpdateTime"] = now
            snap, rec = copy.deepcopy(execution), copy.deepcopy(book["actions"][action_id])
        self.events.action(snap, rec, "STARTED")
        return action_id

    def _run_action(self, key: ExecutionKey, stage: str, action: dict[str, Any],
                    action_id: str) -> None:
        type_id = action["actionTypeId"]
        executor = executor_for(type_id["category"], type_id["provider"],
                                type_id.get("owner", "AWS"))
        if executor is None:
            outcome = ActionOutcome("Failed", f"The local AWS cannot run {type_id['category']} "
                                    f"actions of provider {type_id['provider']} (owner "
                                    f"{type_id.get('owner', 'AWS')}); no local executor exists")
        else:
            outcome = self._call_executor(key, stage, action, action_id, executor)
        self._complete_action(key, action, action_id, outcome)

    def variable_scope(self, execution: dict[str, Any]) -> dict[str, dict[str, str]]:
        """What ``#{ns.name}`` references resolve against at this point of the execution."""
        scope = {ns: dict(values) for ns, values in execution["outputVariables"].items()}
        scope["variables"] = dict(execution["variables"])
        scope["codepipeline"] = {"PipelineExecutionId": execution["pipelineExecutionId"]}
        return scope

    def _call_executor(self, key: ExecutionKey, stage: str, action: dict[str, Any],
                       action_id: str, executor) -> ActionOutcome:
        execution = self.execution(key)
        if execution is None:  # deleted with its pipeline (DeletePipeline) meanwhile
            return ActionOutcome("Failed", f"Execution {key.execution_id} no longer exists: "
                                 f"pipeline {key.pipeline} was deleted")
        try:
            configuration = resolve_configuration(action.get("configuration", {}),
                                                  self.variable_scope(execution))
        except UnresolvedVariable as err:
            return ActionOutcome("Failed", f"Unable to resolve variable {err} in the action "
                                 "configuration: no earlier action in this execution produced "
                                 "it (check the namespace and the variable name)")
        with self.lock:
            record = self.book(key.region, key.pipeline)["actions"].get(action_id)
            if record is not None:
                record["input"]["resolvedConfiguration"] = configuration
        missing = [a["name"] for a in action.get("inputArtifacts", [])
                   if a["name"] not in execution["artifacts"]]
        if missing:
            return ActionOutcome("Failed", f"Input artifact(s) {', '.join(missing)} were not "
                                 "produced by an earlier action of this execution")
        ctx = self._action_context(key, execution, stage, action, action_id, configuration)
        try:
            return executor.run(ctx)
        except Exception as err:  # an executor crash fails its action, with the cause shown
            log.exception("action %s of %s", action["name"], key.pipeline)
            return ActionOutcome("Failed", f"{type(err).__name__}: {err}")

    def _action_context(self, key: ExecutionKey, execution: dict[str, Any], stage: str,
                        action: dict[str, Any], action_id: str,
                        configuration: dict[str, str]) -> ActionContext:
        store = execution["declaration"].get("artifactStore") or {}
        pinned = [r for r in execution["sourceRevisions"] if r.get("actionName") == action["name"]]
        artifacts = execution["artifacts"]
        return ActionContext(
            aws=self.ctx.aws, state_dir=self.ctx.state_dir, region=key.region,
            account_id=ACCOUNT_ID, pipeline_name=key.pipeline,
            pipeline_version=execution["pipelineVersion"], execution_id=key.execution_id,
            stage_name=stage, action_name=action["name"], action_execution_id=action_id,
            configuration=configuration,
            input_artifacts=[ArtifactRef(a["name"], artifacts[a["name"]]["bucket"],
                                         artifacts[a["name"]]["key"])
                             for a in action.get("inputArtifacts", [])],
            output_artifact_names=[a["name"] for a in action.get("outputArtifacts", [])],
            artifact_bucket=store.get("location", ""), namespace=action.get("namespace"),
            source_revision={r["revisionType"]: r["revisionValue"] for r in pinned} or None,
            commit_id=execution.get("commitId"),
            stop_requested=self._stop_flag(key.execution_id),
            commands=list(action.get("commands") or []),
            output_variable_names=list(action.get("outputVariables") or []),
            role_arn=action.get("roleArn") or execution["declaration"].get("roleArn", ""),
            endpoint_url=self.ctx.endpoint_url or os.environ.get("AWS_ENDPOINT_URL"),
            action_type_id=dict(action["actionTypeId"]), peers=self.ctx.peers)

    def _complete_action(self, key: ExecutionKey, action: dict[str, Any], action_id: str,
                         outcome: ActionOutcome) -> None:
        with self.lock:
            if self.closing:
                return
            book = self.store.data.get(key.region, {}).get(key.pipeline)
            record = (book or {}).get("actions", {}).get(action_id)
            if record is None or record["status"] != "InProgress":
                return  # abandoned, or the pipeline was deleted
            execution = book["executions"][key.execution_id]
            if execution.get("stopMode") == "abandon":
                return  # the execution thread marks it Abandoned, whatever the executor said
            with self.changing():
                status = "Succeeded" if outcome.status == "Succeeded" else "Failed"
                now = time.time()
                record.update(status=status, lastUpdateTime=now, _summary=outcome.summary)
                record["output"] = action_output(outcome, status)
                decided = self.approvals.get(action_id)
                if decided and decided.get("updatedBy"):
                    record["updatedBy"] = decided["updatedBy"]
                if status == "Succeeded":
                    _absorb_outputs(execution, action, outcome)
                execution["lastUpdateTime"] = now
                snap, rec = copy.deepcopy(execution), copy.deepcopy(record)
        self.events.action(snap, rec, EVENT_STATES[status])


def _new_action_record(execution: dict[str, Any], stage: str, action: dict[str, Any],
                       action_id: str, now: float) -> dict[str, Any]:
    """An ActionExecutionDetail as CodePipeline starts it, plus the artifact bucket."""
    store = execution["declaration"].get("artifactStore", {})
    inputs = [{"name": a["name"], "s3location": execution["artifacts"][a["name"]]}
              for a in action.get("inputArtifacts", []) if a["name"] in execution["artifacts"]]
    action_input = {"actionTypeId": action["actionTypeId"],
                    "configuration": action.get("configuration", {}),
                    "region": action.get("region", execution["region"]),
                    "inputArtifacts": inputs}
    for optional in ("roleArn", "namespace"):
        if action.get(optional):
            action_input[optional] = action[optional]
    return {"pipelineExecutionId": execution["pipelineExecutionId"],
            "actionExecutionId": action_id, "pipelineVersion": execution["pipelineVersion"],
            "stageName": stage, "actionName": action["name"], "startTime": now,
            "lastUpdateTime": now, "status": "InProgress", "input": action_input, "output": {},
            "_bucket": store.get("location", "")}


def action_output(outcome: ActionOutcome, status: str) -> dict[str, Any]:
    result: dict[str, Any] = {"externalExecutionSummary": outcome.summary[:2048]}
    if outcome.external_execution_id:
        result["externalExecutionId"] = outcome.external_execution_id
    if outcome.external_execution_url:
        result["externalExecutionUrl"] = outcome.external_execution_url
    if status == "Failed":
        result["errorDetails"] = {"code": outcome.error_code, "message": outcome.summary[:5000]}
    out: dict[str, Any] = {"executionResult": result,
                           "outputArtifacts": [{"name": a.name, "s3location": {
                               "bucket": a.bucket, "key": a.key}}
                               for a in outcome.output_artifacts]}
    if outcome.output_variables:
        out["outputVariables"] = {k: str(v) for k, v in outcome.output_variables.items()}
    return out


def _absorb_outputs(execution: dict[str, Any], action: dict[str, Any],
                    outcome: ActionOutcome) -> None:
    """What later actions see: artifacts by name, variables by namespace, the revision."""
    for artifact in outcome.output_artifacts:
        execution["artifacts"][artifact.name] = {"bucket": artifact.bucket, "key": artifact.key}
    if action.get("namespace"):
        execution["outputVariables"][action["namespace"]] = {
            k: str(v) for k, v in outcome.output_variables.items()}
    revision = outcome.revision
    if action["actionTypeId"]["category"] == "Source" and revision:
        names = [a["name"] for a in action.get("outputArtifacts", [])] or [action["name"]]
        entry = {k: revision[k] for k in ("revisionId", "revisionSummary", "revisionUrl",
                                          "created", "revisionChangeIdentifier")
                 if revision.get(k) is not None}
        execution["artifactRevisions"].append({"name": names[0], **entry})
        summary: dict[str, Any] = {"actionName": action["name"]}
        summary.update((k, entry[k]) for k in ("revisionId", "revisionSummary", "revisionUrl")
                       if k in entry)
        execution["sourceSummaries"].append(summary)
        if not execution.get("commitId") and revision.get("revisionId"):
            execution["commitId"] = revision["revisionId"]
