"""``PutActionRevision`` and ``ListDeployActionExecutionTargets``, served over the engine's books.

PutActionRevision tells CodePipeline a source action has a new revision: a revision not seen
before for that action starts a run (trigger ``PutActionRevision``) and answers
``newRevision: true`` with its execution id; the same revision again answers ``false``, as on
AWS. ListDeployActionExecutionTargets lists the instances an EC2 deploy action worked on: the
local AWS runs no EC2 deploys, so for any action execution it finds the list is empty, and an
unknown id is ``ActionExecutionNotFoundException``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from runbook_lib.local.codepipeline.pipeline_views import LIST_DEPLOY_TARGETS
from runbook_lib.local.codepipeline.service import CodePipelineService
from runbook_lib.local.server.paging import page
from runbook_lib.local.server.store import JsonStore
from runbook_lib.local.server.wire import AwsError, Request, Response, json_response

if TYPE_CHECKING:
    from runbook_lib.local.server.context import LocalContext


class RevisionsApi:
    """Two operations that read the pipeline service's declarations and execution books."""

    def __init__(self, ctx: LocalContext) -> None:
        self.ctx = ctx
        # {region: {pipeline: {"stage/action": {"revisionId": ..., "executionId": ...}}}}
        self.store = JsonStore(ctx.state_dir / "codepipeline-action-revisions.json", {})

    def routes(self):
        return {("codepipeline", "PutActionRevision"): self.put_action_revision,
                ("codepipeline", "ListDeployActionExecutionTargets"):
                    self.list_deploy_action_execution_targets}

    @property
    def pipelines(self) -> CodePipelineService:
        return self.ctx.peers.get(CodePipelineService)

    def put_action_revision(self, request: Request) -> Response:
        body = request.json()
        name, stage, action = (body.get(k, "") for k in ("pipelineName", "stageName",
                                                          "actionName"))
        revision = body.get("actionRevision") or {}
        if not all(revision.get(k) for k in ("revisionId", "revisionChangeId")):
            raise AwsError("ValidationException", "actionRevision needs revisionId and "
                                                  "revisionChangeId")
        declared = self.pipelines._stage_of(request.region, name, stage)
        if action not in [a["name"] for a in declared["actions"]]:
            raise AwsError("ActionNotFoundException", f"Action {action} not found in stage "
                                                      f"{stage}")
        key = f"{stage}/{action}"
        with self.store.lock:
            seen = self.store.data.get(request.region, {}).get(name, {}).get(key)
        if seen and seen["revisionId"] == revision["revisionId"]:
            return json_response({"newRevision": False,
                                  "pipelineExecutionId": seen["executionId"]})
        execution_id = self.pipelines.start_execution(
            request.region, name, trigger_type="PutActionRevision",
            trigger_detail=f"{action}: {revision['revisionId']}")
        with self.store.transaction():
            self.store.data.setdefault(request.region, {}).setdefault(name, {})[key] = {
                "revisionId": revision["revisionId"], "executionId": execution_id}
        return json_response({"newRevision": True, "pipelineExecutionId": execution_id})

    def list_deploy_action_execution_targets(self, request: Request) -> Response:
        body = request.json()
        action_id = body.get("actionExecutionId", "")
        names = [body["pipelineName"]] if body.get("pipelineName") else self._pipeline_names(
            request.region)
        for name in names:
            self.pipelines._record(request.region, name)  # PipelineNotFoundException
            book = self.pipelines.engine.snapshot(request.region, name)
            if action_id in book["actions"]:
                return json_response(page([], body, LIST_DEPLOY_TARGETS))
        raise AwsError("ActionExecutionNotFoundException",
                       f"Action execution {action_id} was not found")

    def _pipeline_names(self, region: str) -> list[str]:
        return [d["name"] for d in self.pipelines.declarations(region)]


