"""CodePipeline, served by the local AWS itself instead of moto, with executions that run.

moto stores pipelines but never runs them, so all of CodePipeline lives here: pipelines (with
their version history, tags and stage transitions) in the state directory, executions in
:mod:`runbook_lib.local.codepipeline.engine`. Declarations are validated as CodePipeline does
(``InvalidStructureException``), responses follow botocore's service model, errors use AWS's
codes. ``start_execution`` and ``declarations`` are the Python API of the sources watcher.
"""

from __future__ import annotations

import copy
import getpass
import re
import time
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from runbook_lib.local.codepipeline import pipeline_views as views
from runbook_lib.local.codepipeline.action_types import ActionTypes
from runbook_lib.local.codepipeline.actions import executor_for
from runbook_lib.local.codepipeline.engine import PipelineEngine
from runbook_lib.local.codepipeline.execution_api import ExecutionApi
from runbook_lib.local.codepipeline.pipeline_validation import (
    check_source_revisions,
    validate_declaration,
    with_defaults,
)
from runbook_lib.local.codepipeline.records import ACCOUNT_ID
from runbook_lib.local.codepipeline.variables import pipeline_variables
from runbook_lib.local.server.paging import page
from runbook_lib.local.server.store import JsonStore
from runbook_lib.local.server.wire import AwsError, Request, Response, json_response

if TYPE_CHECKING:
    from runbook_lib.local.server.context import LocalContext

_ARN_RE = re.compile(r"^arn:aws[\w-]*:codepipeline:([a-z0-9-]+):(\d{12}):([A-Za-z0-9.@\-_]+)$")
_OPERATIONS = (
    "CreatePipeline", "GetPipeline", "UpdatePipeline", "DeletePipeline", "ListPipelines",
    "TagResource", "UntagResource", "ListTagsForResource", "GetPipelineState",
    "StartPipelineExecution", "GetPipelineExecution", "ListPipelineExecutions",
    "ListActionExecutions", "PutApprovalResult", "StopPipelineExecution", "RetryStageExecution",
    "RollbackStage", "EnableStageTransition", "DisableStageTransition",
    "ListRuleExecutions", "ListRuleTypes", "OverrideStageCondition",
)


class CodePipelineService(ExecutionApi):
    """Every CodePipeline operation the runbooks use; executions run in :class:`PipelineEngine`."""

    def __init__(self, ctx: LocalContext) -> None:
        self.ctx = ctx
        self.store = JsonStore(ctx.state_dir / "codepipeline-pipelines.json", {})
        self.engine = PipelineEngine(ctx, self.transition_enabled)

    def routes(self):
        return {("codepipeline", op): getattr(self, _snake(op)) for op in _OPERATIONS}

    def start(self) -> None:
        self.engine.recover()

    def close(self) -> None:
        self.engine.close()

    # -- Python API (sources watcher) ---------------------------------------------------------

    def start_execution(self, region: str, pipeline_name: str, *, trigger_type: str,
                        trigger_detail: str, source_revisions: list[dict[str, str]] | None = None,
                        variables: list[dict[str, str]] | None = None) -> str:
        """Start a run as a push (or any trigger) would; returns the pipeline execution id."""
        declaration = self._declaration(region, pipeline_name)
        check_source_revisions(declaration, source_revisions or [])
        values = pipeline_variables(declaration.get("variables") or [], variables)
        execution = self.engine.new_execution(
            region, declaration, trigger={"triggerType": trigger_type,
                                          "triggerDetail": trigger_detail},
            variables=values, source_revisions=list(source_revisions or []))
        self.engine.launch(execution)
        return execution["pipelineExecutionId"]

    def declarations(self, region: str) -> list[dict[str, Any]]:
        """Every pipeline's current declaration in ``region``, triggers included."""
        with self.store.lock:
            return [copy.deepcopy(p["declaration"])
                    for p in self.store.data.get(region, {}).values()]

    def regions(self) -> list[str]:
        """Regions that hold pipelines (the sources watcher polls these)."""
        with self.store.lock:
            return [region for region, pipelines in self.store.data.items() if pipelines]

    def transition_enabled(self, region: str, pipeline: str, stage: str) -> bool:
        with self.store.lock:
            record = self.store.data.get(region, {}).get(pipeline)
            if record is None:
                return True
            return record["transitions"].get(stage, {}).get("enabled", True)

    # -- pipelines ----------------------------------------------------------------------------

    def create_pipeline(self, request: Request) -> Response:
        body = request.json()
        declaration = self._validated(body.get("pipeline") or {}, request.region)
        name = declaration["name"]
        now = time.time()
        with self.store.transaction():
            pipelines = self.store.data.setdefault(request.region, {})
            if name in pipelines:
                raise AwsError("PipelineNameInUseException", f"Pipeline name {name} is in use")
            declaration["version"] = 1
            pipelines[name] = {"declaration": declaration, "history": {"1": declaration},
                               "created": now, "updated": now, "tags": body.get("tags") or [],
                               "transitions": {}, "requestTokens": {}}
        if self._source_can_start(request.region, declaration):
            self.start_execution(request.region, name, trigger_type="CreatePipeline",
                                 trigger_detail=self._caller())
        answer: dict[str, Any] = {"pipeline": declaration}
        if body.get("tags"):
            answer["tags"] = body["tags"]
        return json_response(answer)

    def update_pipeline(self, request: Request) -> Response:
        declaration = self._validated(request.json().get("pipeline") or {}, request.region)
        with self.store.transaction():
            record = self._record(request.region, declaration["name"])
            version = record["declaration"]["version"] + 1
            declaration["version"] = version
            stages = {s["name"] for s in declaration["stages"]}
            record["transitions"] = {k: v for k, v in record["transitions"].items()
                                     if k in stages}
            record.update(declaration=declaration, updated=time.time())
            record["history"][str(version)] = declaration
        return json_response({"pipeline": declaration})

    def get_pipeline(self, request: Request) -> Response:
        body = request.json()
        with self.store.lock:
            record = self._record(request.region, body.get("name", ""))
            declaration = record["declaration"]
            if body.get("version") is not None:
                declaration = record["history"].get(str(body["version"]))
                if declaration is None:
                    raise AwsError("PipelineVersionNotFoundException",
                                   f"Version {body['version']} of pipeline {body['name']} "
                                   "not found")
            return json_response({"pipeline": declaration, "metadata": {
                "pipelineArn": _arn(request.region, body["name"]),
                "created": record["created"], "updated": record["updated"]}})

    def delete_pipeline(self, request: Request) -> Response:
        name = request.json().get("name", "")
        with self.store.transaction():
            found = self.store.data.get(request.region, {}).pop(name, None)
        if found:  # AWS: deleting a pipeline that does not exist succeeds
            self.engine.forget_pipeline(request.region, name)
        return json_response({})

    def list_pipelines(self, request: Request) -> Response:
        body = request.json()
        with self.store.lock:
            rows = [{"name": n, "version": p["declaration"]["version"],
                     "pipelineType": p["declaration"].get("pipelineType", "V1"),
                     "executionMode": p["declaration"].get("executionMode", "SUPERSEDED"),
                     "created": p["created"], "updated": p["updated"]}
                    for n, p in sorted(self.store.data.get(request.region, {}).items())]
        return json_response(page(rows, body, views.LIST_PIPELINES))

    # -- tags ---------------------------------------------------------------------------------

    def tag_resource(self, request: Request) -> Response:
        body = request.json()
        with self.store.transaction():
            record = self._by_arn(body.get("resourceArn", ""))
            tags = {t["key"]: t.get("value", "") for t in record["tags"]}
            tags.update({t["key"]: t.get("value", "") for t in body.get("tags") or []})
            if len(tags) > 50:
                raise AwsError("TooManyTagsException", "A resource can have at most 50 tags")
            record["tags"] = [{"key": k, "value": v} for k, v in tags.items()]
        return json_response({})

    def untag_resource(self, request: Request) -> Response:
        body = request.json()
        with self.store.transaction():
            record = self._by_arn(body.get("resourceArn", ""))
            drop = set(body.get("tagKeys") or [])
            record["tags"] = [t for t in record["tags"] if t["key"] not in drop]
        return json_response({})

    def list_tags_for_resource(self, request: Request) -> Response:
        body = request.json()
        with self.store.lock:
            tags = copy.deepcopy(self._by_arn(body.get("resourceArn", ""))["tags"])
        return json_response(page(tags, body, views.LIST_TAGS_FOR_RESOURCE))

    # -- transitions --------------------------------------------------------------------------

    def enable_stage_transition(self, request: Request) -> Response:
        return self._set_transition(request, enabled=True)

    def disable_stage_transition(self, request: Request) -> Response:
        return self._set_transition(request, enabled=False)

    def _set_transition(self, request: Request, enabled: bool) -> Response:
        body = request.json()
        kind = body.get("transitionType")
        if kind not in ("Inbound", "Outbound"):
            raise AwsError("ValidationException", "transitionType must be Inbound or Outbound")
        who = self._caller()
        with self.store.transaction():
            record = self._record(request.region, body.get("pipelineName", ""))
            names = [s["name"] for s in record["declaration"]["stages"]]
            stage = body.get("stageName", "")
            if stage not in names:
                raise AwsError("StageNotFoundException", f"Stage {stage} not found")
            if kind == "Outbound":  # out of this stage = into the next one
                index = names.index(stage) + 1
                if index == len(names):
                    return json_response({})
                stage = names[index]
            state: dict[str, Any] = {"enabled": enabled, "lastChangedBy": who,
                                     "lastChangedAt": time.time()}
            if not enabled:
                state["disabledReason"] = body.get("reason", "")
            record["transitions"][stage] = state
        with self.engine.changed:
            self.engine.changed.notify_all()  # executions waiting at the boundary re-check
        return json_response({})

    # -- helpers ------------------------------------------------------------------------------

    def _record(self, region: str, name: str) -> dict[str, Any]:
        record = self.store.data.get(region, {}).get(name)
        if record is None:
            raise AwsError("PipelineNotFoundException",
                           f"Account '{ACCOUNT_ID}' does not have a pipeline with name '{name}'")
        return record

    def _declaration(self, region: str, name: str) -> dict[str, Any]:
        with self.store.lock:
            return copy.deepcopy(self._record(region, name)["declaration"])

    def _stage_of(self, region: str, pipeline: str, stage: str) -> dict[str, Any]:
        for declared in self._declaration(region, pipeline)["stages"]:
            if declared["name"] == stage:
                return declared
        raise AwsError("StageNotFoundException", f"Stage {stage} not found in {pipeline}")

    def _by_arn(self, arn: str) -> dict[str, Any]:
        match = _ARN_RE.match(arn)
        if not match:
            raise AwsError("InvalidArnException", f"The ARN {arn} is not valid")
        record = self.store.data.get(match.group(1), {}).get(match.group(3))
        if record is None or match.group(2) != ACCOUNT_ID:
            raise AwsError("ResourceNotFoundException", f"The resource {arn} was not found")
        return record

    def _caller(self) -> str:
        """Who is calling: on the local AWS, moto's STS identity for the request's key, with
        the OS user (the operator, the only holder of the key pair) instead of ``moto``."""
        arn = self.ctx.aws.client("sts").get_caller_identity()["Arn"]
        if arn.endswith("/moto"):
            arn = f"{arn.rsplit('/', 1)[0]}/{getpass.getuser()}"
        return arn

    def _validated(self, declaration: dict[str, Any], region: str) -> dict[str, Any]:
        declaration = with_defaults(declaration)
        validate_declaration(declaration)
        action_types = self.ctx.peers.find(ActionTypes)
        if action_types is not None:  # every declared action type must exist
            action_types.check_declaration(region, declaration)
        role = declaration["roleArn"]
        try:
            self.ctx.aws.client("iam").get_role(RoleName=role.rsplit("/", 1)[-1])
        except ClientError as err:
            if err.response["Error"]["Code"] != "NoSuchEntity":
                raise
            raise AwsError("InvalidStructureException",
                           f"CodePipeline is not authorized to perform AssumeRole on role "
                           f"{role}") from err
        return declaration

    def _source_can_start(self, region: str, declaration: dict[str, Any]) -> bool:
        """AWS runs a new pipeline once; locally only when its sources can run here.

        A source executor may define ``can_start(aws, state_dir, region, configuration)`` to
        say whether its source is there (a registered repository, an existing object)."""
        for action in declaration["stages"][0]["actions"]:
            type_id = action["actionTypeId"]
            executor = executor_for(type_id["category"], type_id["provider"],
                                    type_id.get("owner", "AWS"))
            if executor is None:
                return False
            can_start = getattr(executor, "can_start", None)
            if can_start and not can_start(self.ctx.aws, self.ctx.state_dir, region,
                                           action.get("configuration", {})):
                return False
        return True


def _arn(region: str, name: str) -> str:
    return f"arn:aws:codepipeline:{region}:{ACCOUNT_ID}:{name}"


def _snake(op: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", op).lower()
