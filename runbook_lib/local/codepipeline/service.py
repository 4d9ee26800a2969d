"""CodePipeline, served by the local AWS itself instead of moto, with executions that run.

moto stores pipelines but never runs them, so all of CodePipeline lives here: pipelines (with
their version history, tags and stage transitions) in the state directory, executions in
:mod:`runbook_lib.local.codepipeline.engine`. Declarations are validated as CodePipeline does
(``InvalidStructureException``), responses follow botocore's service model, errors use AWS's
codes. ``start_execution`` and ``declarations`` are the Python API of the sources watcher.
"""

from __future__ import annotations

import copy
import re
import time
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from runbook_lib.local.codepipeline.actions import executor_for
from runbook_lib.local.codepipeline.engine import ACCOUNT_ID, ACTIVE, PipelineEngine
from runbook_lib.local.codepipeline.variables import pipeline_variables
from runbook_lib.local.server.store import JsonStore
from runbook_lib.local.server.wire import AwsError, Request, Response, json_response

if TYPE_CHECKING:
    from runbook_lib.local.server.context import LocalContext

_NAME_RE = re.compile(r"^[A-Za-z0-9.@\-_]{1,100}$")
_ARTIFACT_RE = re.compile(r"^[a-zA-Z0-9_\-]{1,100}$")
_NAMESPACE_RE = re.compile(r"^[A-Za-z0-9@\-_]{1,100}$")
_ARN_RE = re.compile(r"^arn:aws[\w-]*:codepipeline:([a-z0-9-]+):(\d{12}):([A-Za-z0-9.@\-_]+)$")
_MODES = ("QUEUED", "SUPERSEDED", "PARALLEL")
_REVISION_TYPES = ("COMMIT_ID", "IMAGE_DIGEST", "S3_OBJECT_VERSION_ID", "S3_OBJECT_KEY")
_ACTION_DEFAULTS = {"runOrder": 1, "configuration": {}, "inputArtifacts": [],
                    "outputArtifacts": []}
_OPERATIONS = (
    "CreatePipeline", "GetPipeline", "UpdatePipeline", "DeletePipeline", "ListPipelines",
    "TagResource", "UntagResource", "ListTagsForResource", "GetPipelineState",
    "StartPipelineExecution", "GetPipelineExecution", "ListPipelineExecutions",
    "ListActionExecutions", "PutApprovalResult", "StopPipelineExecution", "RetryStageExecution",
    "RollbackStage", "EnableStageTransition", "DisableStageTransition",
)


class CodePipelineService:
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
        _check_source_revisions(declaration, source_revisions or [])
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
        declaration = self._validated(body.get("pipeline") or {})
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
        declaration = self._validated(request.json().get("pipeline") or {})
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
        return json_response(_page(rows, body, "pipelines", limit=1000))

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
        return json_response(_page(tags, body, "tags", limit=100))

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

    # -- executions ---------------------------------------------------------------------------

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
        execution = self.engine.execution(request.region, name,
                                          body.get("pipelineExecutionId", ""))
        if execution is None:
            raise AwsError("PipelineExecutionNotFoundException",
                           f"Execution {body.get('pipelineExecutionId')} not found")
        view = {k: execution[k] for k in (
            "pipelineName", "pipelineVersion", "pipelineExecutionId", "status", "trigger",
            "executionMode", "executionType", "artifactRevisions")}
        view["variables"] = [{"name": k, "resolvedValue": v}
                             for k, v in sorted(execution["variables"].items())]
        _copy_optional(execution, view, "statusSummary", "rollbackMetadata")
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
            _copy_optional(e, row, "statusSummary", "stopTrigger", "rollbackMetadata")
            rows.append(row)
        return json_response(_page(rows, body, "pipelineExecutionSummaries", limit=100))

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
        records.sort(key=lambda r: r["startTime"], reverse=True)
        rows = [_action_detail(r) for r in records]
        return json_response(_page(rows, body, "actionExecutionDetails", limit=100))

    def stop_pipeline_execution(self, request: Request) -> Response:
        body = request.json()
        name, execution_id = body.get("pipelineName", ""), body.get("pipelineExecutionId", "")
        self._record(request.region, name)
        self.engine.request_stop(request.region, name, execution_id,
                                 bool(body.get("abandon")), body.get("reason", ""))
        return json_response({"pipelineExecutionId": execution_id})

    def retry_stage_execution(self, request: Request) -> Response:
        body = request.json()
        name, execution_id = body.get("pipelineName", ""), body.get("pipelineExecutionId", "")
        self._stage_of(request.region, name, body.get("stageName", ""))
        self.engine.retry_stage(request.region, name, execution_id, body["stageName"],
                                body.get("retryMode", ""))
        return json_response({"pipelineExecutionId": execution_id})

    def rollback_stage(self, request: Request) -> Response:
        body = request.json()
        name, stage = body.get("pipelineName", ""), body.get("stageName", "")
        self._stage_of(request.region, name, stage)
        execution_id = self.engine.start_rollback(
            request.region, name, stage, body.get("targetPipelineExecutionId", ""),
            {"triggerType": "ManualRollback", "triggerDetail": self._caller()})
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
            request.region, name, stage, action, body.get("token", ""), result.get("status"),
            result.get("summary", ""), self._caller())
        return json_response({"approvedAt": approved_at})

    def get_pipeline_state(self, request: Request) -> Response:
        name = request.json().get("name", "")
        with self.store.lock:
            record = copy.deepcopy(self._record(request.region, name))
        book = self.engine.snapshot(request.region, name)
        stages = record["declaration"]["stages"]
        states = [self._stage_state(book, stage, record["transitions"], first=i == 0)
                  for i, stage in enumerate(stages)]
        return json_response({"pipelineName": name,
                              "pipelineVersion": record["declaration"]["version"],
                              "stageStates": states, "created": record["created"],
                              "updated": record["updated"]})

    def _stage_state(self, book: dict[str, Any], stage: dict[str, Any],
                     transitions: dict[str, Any], first: bool) -> dict[str, Any]:
        name = stage["name"]
        state: dict[str, Any] = {"stageName": name}
        if not first:
            state["inboundTransitionState"] = transitions.get(name, {"enabled": True})
        executions = book["executions"].values()
        entered = [e for e in executions if name in e["stages"]]
        if entered:
            latest = max(entered, key=lambda e: e["stages"][name]["startTime"])
            state["latestExecution"] = _stage_execution(latest, latest["stages"][name]["status"])
        waiting = sorted((e for e in executions
                          if e.get("waitingAt") == name and e["status"] in ACTIVE),
                         key=lambda e: e["seq"])
        if waiting:
            state["inboundExecution"] = _stage_execution(waiting[-1], "InProgress")
            state["inboundExecutions"] = [_stage_execution(e, "InProgress") for e in waiting]
        state["actionStates"] = [self._action_state(book, name, a) for a in stage["actions"]]
        return state

    def _action_state(self, book: dict[str, Any], stage: str,
                      action: dict[str, Any]) -> dict[str, Any]:
        state: dict[str, Any] = {"actionName": action["name"]}
        runs = [r for r in book["actions"].values()
                if (r["stageName"], r["actionName"]) == (stage, action["name"])]
        if not runs:
            return state
        latest = max(runs, key=lambda r: r["startTime"])
        result = (latest.get("output") or {}).get("executionResult") or {}
        view: dict[str, Any] = {"actionExecutionId": latest["actionExecutionId"],
                                "status": latest["status"],
                                "lastStatusChange": latest["lastUpdateTime"]}
        if latest.get("_summary"):
            view["summary"] = latest["_summary"][:2048]
        if latest.get("updatedBy"):
            view["lastUpdatedBy"] = latest["updatedBy"]
        for key in ("externalExecutionId", "externalExecutionUrl", "errorDetails"):
            if result.get(key):
                view[key] = result[key]
        approval = self.engine.approvals.get(latest["actionExecutionId"])
        if approval and latest["status"] == "InProgress":
            view["token"] = approval["token"]
        state["latestExecution"] = view
        revision = _current_revision(book, action)
        if revision:
            url = revision.pop("_url")
            state["currentRevision"] = revision
            if url:
                state["revisionUrl"] = url
        return state

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
        """Who is calling: on the local AWS, moto's STS identity for the request's key."""
        return self.ctx.aws.client("sts").get_caller_identity()["Arn"]

    def _validated(self, declaration: dict[str, Any]) -> dict[str, Any]:
        declaration = _with_defaults(declaration)
        validate_declaration(declaration)
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
            executor = executor_for(type_id["category"], type_id["provider"])
            if executor is None:
                return False
            can_start = getattr(executor, "can_start", None)
            if can_start and not can_start(self.ctx.aws, self.ctx.state_dir, region,
                                           action.get("configuration", {})):
                return False
        return True


# -- declaration checks -------------------------------------------------------------------------


def _with_defaults(declaration: dict[str, Any]) -> dict[str, Any]:
    """What CodePipeline fills in: action defaults, V1 and SUPERSEDED when not declared."""
    out = copy.deepcopy(declaration)
    out.pop("version", None)
    out.setdefault("pipelineType", "V1")
    out.setdefault("executionMode", "SUPERSEDED")
    for stage in out.get("stages") or []:
        stage["actions"] = [{**copy.deepcopy(_ACTION_DEFAULTS), **a}
                            for a in stage.get("actions") or []]
    return out


def validate_declaration(d: dict[str, Any]) -> None:
    """CodePipeline's structure rules; a broken one is an ``InvalidStructureException``."""
    if not _NAME_RE.match(d.get("name") or ""):
        raise AwsError("ValidationException", f"Invalid pipeline name {d.get('name')!r}")
    if not d.get("roleArn"):
        raise AwsError("ValidationException", "roleArn is required")
    store = d.get("artifactStore") or {}
    if not (store.get("location") and store.get("type") == "S3") and not d.get("artifactStores"):
        _invalid("an artifactStore of type S3 with a location is required")
    if d["executionMode"] not in _MODES or d["pipelineType"] not in ("V1", "V2"):
        raise AwsError("ValidationException", "executionMode or pipelineType is not valid")
    stages = d.get("stages") or []
    if len(stages) < 2:
        _invalid("A pipeline must contain at least two stages")
    produced: set[str] = set()
    seen_stages: set[str] = set()
    namespaces: set[str] = set()
    for index, stage in enumerate(stages):
        _check_name(stage.get("name"), "stage", seen_stages)
        actions = stage.get("actions") or []
        if not actions:
            _invalid(f"Stage {stage['name']} must contain at least one action")
        sources = [a for a in actions if a.get("actionTypeId", {}).get("category") == "Source"]
        if index == 0 and len(sources) != len(actions):
            _invalid("The first stage may contain only source actions")
        if index > 0 and sources:
            _invalid(f"Source actions are allowed only in the first stage, not {stage['name']}")
        _check_actions(stage["name"], actions, produced, namespaces)


def _check_actions(stage: str, actions: list[dict[str, Any]], produced: set[str],
                   namespaces: set[str]) -> None:
    names: set[str] = set()
    for order in sorted({a["runOrder"] for a in actions}):
        if not isinstance(order, int) or not 1 <= order <= 999:
            _invalid(f"runOrder in stage {stage} must be between 1 and 999")
        new: set[str] = set()
        for action in [a for a in actions if a["runOrder"] == order]:
            _check_name(action.get("name"), f"action in stage {stage}", names)
            type_id = action.get("actionTypeId") or {}
            if not all(type_id.get(k) for k in ("category", "owner", "provider", "version")):
                _invalid(f"Action {action['name']} needs a full actionTypeId")
            namespace = action.get("namespace")
            if namespace:
                if not _NAMESPACE_RE.match(namespace) or namespace in namespaces:
                    _invalid(f"Namespace {namespace!r} is invalid or used twice")
                namespaces.add(namespace)
            for artifact in action["inputArtifacts"]:
                if artifact.get("name") not in produced:
                    _invalid(f"Input artifact {artifact.get('name')!r} of action "
                             f"{action['name']} is not produced by an earlier action")
            for artifact in action["outputArtifacts"]:
                name = artifact.get("name") or ""
                if not _ARTIFACT_RE.match(name) or name in produced or name in new:
                    _invalid(f"Output artifact {name!r} is invalid or not unique")
                new.add(name)
        produced.update(new)


def _check_name(name: Any, what: str, seen: set[str]) -> None:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise AwsError("ValidationException", f"Invalid {what} name {name!r}")
    if name in seen:
        _invalid(f"Duplicate {what} name {name}")
    seen.add(name)


def _check_source_revisions(declaration: dict[str, Any], revisions: list[dict[str, str]]) -> None:
    sources = {a["name"] for a in declaration["stages"][0]["actions"]}
    for revision in revisions:
        if revision.get("actionName") not in sources:
            raise AwsError("ValidationException", f"sourceRevisions names "
                           f"{revision.get('actionName')!r}, which is not a source action")
        if revision.get("revisionType") not in _REVISION_TYPES:
            raise AwsError("ValidationException",
                           f"revisionType must be one of {', '.join(_REVISION_TYPES)}")


def _invalid(message: str) -> None:
    raise AwsError("InvalidStructureException", message)


# -- views --------------------------------------------------------------------------------------


def _stage_execution(execution: dict[str, Any], status: str) -> dict[str, Any]:
    return {"pipelineExecutionId": execution["pipelineExecutionId"], "status": status,
            "type": execution["executionType"]}


def _action_detail(record: dict[str, Any]) -> dict[str, Any]:
    """An ActionExecutionDetail: the record without the engine's own (``_``) fields."""
    detail = {k: v for k, v in record.items() if not k.startswith("_")}
    if not detail.get("output"):
        detail.pop("output", None)
    return detail


def _current_revision(book: dict[str, Any], action: dict[str, Any]) -> dict[str, Any] | None:
    if action["actionTypeId"]["category"] != "Source":
        return None
    names = [a["name"] for a in action.get("outputArtifacts", [])] or [action["name"]]
    for execution in sorted(book["executions"].values(), key=lambda e: e["seq"], reverse=True):
        for revision in execution["artifactRevisions"]:
            if revision["name"] == names[0] and revision.get("revisionId"):
                return {"revisionId": revision["revisionId"],
                        "revisionChangeId": revision.get("revisionChangeIdentifier",
                                                         revision["revisionId"]),
                        "created": revision.get("created", execution["startTime"]),
                        "_url": revision.get("revisionUrl")}
    return None


def _copy_optional(source: dict[str, Any], target: dict[str, Any], *keys: str) -> None:
    for key in keys:
        if source.get(key):
            target[key] = source[key]


def _page(items: list, body: dict[str, Any], key: str, limit: int) -> dict[str, Any]:
    """Offset tokens; a token this server did not hand out is ``InvalidNextTokenException``."""
    token = body.get("nextToken")
    if token and not (token.isdigit() and int(token) <= len(items)):
        raise AwsError("InvalidNextTokenException", "The next token is not valid")
    size = int(body.get("maxResults") or limit)
    if not 1 <= size <= limit:
        raise AwsError("ValidationException", f"maxResults must be between 1 and {limit}")
    start = int(token or 0)
    out: dict[str, Any] = {key: items[start:start + size]}
    if start + size < len(items):
        out["nextToken"] = str(start + size)
    return out


def _arn(region: str, name: str) -> str:
    return f"arn:aws:codepipeline:{region}:{ACCOUNT_ID}:{name}"


def _snake(op: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", op).lower()
