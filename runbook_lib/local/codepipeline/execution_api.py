"""The execution side of the CodePipeline API: runs, action and rule executions, control,
approvals, condition overrides and the pipeline state.

A mixin of :class:`runbook_lib.local.codepipeline.service.CodePipelineService`; it reads the
engine's records through :mod:`.pipeline_views` and asks the engine to act.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from runbook_lib.local.codepipeline import pipeline_views as views
from runbook_lib.local.codepipeline.records import ExecutionKey
from runbook_lib.local.codepipeline.rules import rule_types
from runbook_lib.local.server.paging import page
from runbook_lib.local.server.wire import AwsError, Request, Response, json_response

if TYPE_CHECKING:
    from runbook_lib.local.codepipeline.engine import PipelineEngine
    from runbook_lib.local.server.store import JsonStore


class ExecutionApi:
    """StartPipelineExecution ... GetPipelineState (see the module docstring)."""

    if TYPE_CHECKING:  # what the host class (CodePipelineService) provides
        store: JsonStore
        engine: PipelineEngine

        def start_execution(self, region: str, pipeline_name: str, *, trigger_type: str,
                            trigger_detail: str,
                            source_revisions: list[dict[str, str]] | None = None,
                            variables: list[dict[str, str]] | None = None) -> str: ...

        def _record(self, region: str, name: str) -> dict[str, Any]: ...

        def _stage_of(self, region: str, pipeline: str, stage: str) -> dict[str, Any]: ...

        def _caller(self) -> str: ...

    def start_pipeline_execution(self, request: Request) -> Response:
        body = request.json()
        name = body.get("name", "")
        token = body.get("clientRequestToken")
        with self.store.lock:
            record = self._record(request.region, name)
            if token and token in record.get("requestTokens", {}):
                return json_response({"pipelineExecutionId": record["requestTokens"][token]})
        execution_id = self.start_execution(
            request.region, name, trigger_type="StartPipelineExecution",
            trigger_detail=self._caller(), source_revisions=body.get("sourceRevisions"),
            variables=body.get("variables"))
        if token:
            with self.store.transaction():
                self._record(request.region, name).setdefault("requestTokens", {})[token] = \
                    execution_id
        return json_response({"pipelineExecutionId": execution_id})

    def get_pipeline_execution(self, request: Request) -> Response:
        body = request.json()
        name = body.get("pipelineName", "")
        self._record(request.region, name)
        execution = self.engine.execution(
            ExecutionKey(request.region, name, body.get("pipelineExecutionId", "")))
        if execution is None:
            raise AwsError("PipelineExecutionNotFoundException",
                           f"Execution {body.get('pipelineExecutionId')} not found")
        view = {k: execution[k] for k in (
            "pipelineName", "pipelineVersion", "pipelineExecutionId", "status", "trigger",
            "executionMode", "executionType", "artifactRevisions")}
        view["variables"] = [{"name": k, "resolvedValue": v}
                             for k, v in sorted(execution["variables"].items())]
        views.copy_optional(execution, view, "statusSummary", "rollbackMetadata")
        return json_response({"pipelineExecution": view})

    def list_pipeline_executions(self, request: Request) -> Response:
        body = request.json()
        name = body.get("pipelineName", "")
        self._record(request.region, name)
        executions = sorted(self.engine.snapshot(request.region, name)["executions"].values(),
                            key=lambda e: e["seq"], reverse=True)
        stage = ((body.get("filter") or {}).get("succeededInStage") or {}).get("stageName")
        if stage:
            executions = [e for e in executions
                          if e["stages"].get(stage, {}).get("status") == "Succeeded"]
        rows = []
        for e in executions:
            row = {k: e[k] for k in ("pipelineExecutionId", "status", "startTime",
                                     "lastUpdateTime", "trigger", "executionMode",
                                     "executionType")}
            row["sourceRevisions"] = e["sourceSummaries"]
            views.copy_optional(e, row, "statusSummary", "stopTrigger", "rollbackMetadata")
            rows.append(row)
        return json_response(page(rows, body, views.LIST_PIPELINE_EXECUTIONS))

    def list_action_executions(self, request: Request) -> Response:
        body = request.json()
        name = body.get("pipelineName", "")
        self._record(request.region, name)
        book = self.engine.snapshot(request.region, name)
        records = list(book["actions"].values())
        wanted = (body.get("filter") or {}).get("pipelineExecutionId")
        if wanted:
            if wanted not in book["executions"]:
                raise AwsError("PipelineExecutionNotFoundException",
                               f"Execution {wanted} not found")
            records = [r for r in records if r["pipelineExecutionId"] == wanted]
        records.sort(key=lambda r: (r["startTime"], r["actionExecutionId"]), reverse=True)
        rows = [views.action_detail(r) for r in records]
        return json_response(page(rows, body, views.LIST_ACTION_EXECUTIONS))

    def stop_pipeline_execution(self, request: Request) -> Response:
        body = request.json()
        name, execution_id = body.get("pipelineName", ""), body.get("pipelineExecutionId", "")
        self._record(request.region, name)
        self.engine.request_stop(ExecutionKey(request.region, name, execution_id),
                                 bool(body.get("abandon")), body.get("reason", ""))
        return json_response({"pipelineExecutionId": execution_id})

    def retry_stage_execution(self, request: Request) -> Response:
        body = request.json()
        name, execution_id = body.get("pipelineName", ""), body.get("pipelineExecutionId", "")
        self._stage_of(request.region, name, body.get("stageName", ""))
        self.engine.retry_stage(ExecutionKey(request.region, name, execution_id),
                                body["stageName"], body.get("retryMode", ""))
        return json_response({"pipelineExecutionId": execution_id})

    def rollback_stage(self, request: Request) -> Response:
        body = request.json()
        name, stage = body.get("pipelineName", ""), body.get("stageName", "")
        self._stage_of(request.region, name, stage)
        target = ExecutionKey(request.region, name, body.get("targetPipelineExecutionId", ""))
        execution_id = self.engine.start_rollback(
            target, stage, {"triggerType": "ManualRollback", "triggerDetail": self._caller()})
        return json_response({"pipelineExecutionId": execution_id})

    def put_approval_result(self, request: Request) -> Response:
        body = request.json()
        name, stage, action = (body.get("pipelineName", ""), body.get("stageName", ""),
                               body.get("actionName", ""))
        declared = self._stage_of(request.region, name, stage)
        if action not in [a["name"] for a in declared["actions"]]:
            raise AwsError("ActionNotFoundException", f"Action {action} not found")
        result = body.get("result") or {}
        approved_at = self.engine.approvals.decide(
            request.region, name, stage, action, body.get("token", ""), result.get("status") or "",
            result.get("summary", ""), self._caller())
        return json_response({"approvedAt": approved_at})

    def list_rule_executions(self, request: Request) -> Response:
        body = request.json()
        name = body.get("pipelineName", "")
        self._record(request.region, name)
        book = self.engine.snapshot(request.region, name)
        wanted = body.get("filter") or {}
        for execution_id in (wanted.get("pipelineExecutionId"),
                             (wanted.get("latestInPipelineExecution") or {}).get(
                                 "pipelineExecutionId")):
            if execution_id and execution_id not in book["executions"]:
                raise AwsError("PipelineExecutionNotFoundException",
                               f"Execution {execution_id} not found in pipeline {name}")
        rows = views.rule_executions(book, wanted)
        return json_response(page(rows, body, views.LIST_RULE_EXECUTIONS))

    def list_rule_types(self, request: Request) -> Response:
        body = request.json()
        owner = body.get("ruleOwnerFilter")
        if owner not in (None, "AWS"):
            raise AwsError("ValidationException", "ruleOwnerFilter must be AWS")
        return json_response({"ruleTypes": rule_types()})

    def override_stage_condition(self, request: Request) -> Response:
        body = request.json()
        name, stage = body.get("pipelineName", ""), body.get("stageName", "")
        self._stage_of(request.region, name, stage)
        key = ExecutionKey(request.region, name, body.get("pipelineExecutionId", ""))
        with self.engine.lock:
            self.engine.existing(key)
        self.engine.override_condition(key, stage, body.get("conditionType", ""),
                                       self._caller())
        return json_response({})

    def get_pipeline_state(self, request: Request) -> Response:
        name = request.json().get("name", "")
        with self.store.lock:
            record = copy.deepcopy(self._record(request.region, name))
        book = self.engine.snapshot(request.region, name)
        stages = record["declaration"]["stages"]
        states = [views.stage_state(book, stage, record["transitions"], i == 0,
                                    self.engine.approvals.get)
                  for i, stage in enumerate(stages)]
        return json_response({"pipelineName": name,
                              "pipelineVersion": record["declaration"]["version"],
                              "stageStates": states, "created": record["created"],
                              "updated": record["updated"]})
