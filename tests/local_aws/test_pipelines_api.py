"""CodePipeline's API on the local AWS: pipelines, tags, transitions and executions, with AWS's
error codes, and every response checked against botocore's service model (raw JSON, so a member
botocore would silently drop still fails the test)."""

from __future__ import annotations

import json
import time

import botocore.session
import pytest
from botocore.exceptions import ClientError
from helpers import pipeline_role, wait_for_execution, wait_until

from runbook_lib.local.codepipeline.actions import ActionOutcome, ArtifactRef, register

MODEL = botocore.session.get_session().get_service_model("codepipeline")


@register("Source", "ApiTestSource")
class _ApiTestSource:
    """Succeeds at once; with ``Hold`` = "yes" its run stays in progress until stopped."""

    def run(self, ctx):
        if ctx.configuration.get("Hold") == "yes":
            ctx.stop_requested.wait(timeout=60)
        refs = [ArtifactRef(n, ctx.artifact_bucket, ctx.new_artifact_key(n))
                for n in ctx.output_artifact_names]
        for ref in refs:
            ctx.aws.client("s3", ctx.region).put_object(Bucket=ref.bucket, Key=ref.key, Body=b"x")
        return ActionOutcome("Succeeded", "ok", refs, {"CommitId": "1234"},
                             revision={"revisionId": "1234", "created": time.time()})

    @staticmethod
    def can_start(aws, state_dir, region, configuration):
        return configuration.get("StartOnCreate") != "no"


@register("Approval", "ApiTestNoop")
class _Noop:
    def run(self, ctx):
        return ActionOutcome("Succeeded", "noop")


def _type(category, provider):
    return {"category": category, "owner": "AWS", "provider": provider, "version": "1"}


def _declaration(name, role_arn, bucket, **config):
    return {
        "name": name, "roleArn": role_arn, "pipelineType": "V2", "executionMode": "QUEUED",
        "artifactStore": {"type": "S3", "location": bucket,
                          "encryptionKey": {"id": "alias/aws/s3", "type": "KMS"}},
        "variables": [{"name": "Env", "defaultValue": "dev", "description": "target"}],
        "triggers": [{"providerType": "CodeStarSourceConnection", "gitConfiguration": {
            "sourceActionName": "Source", "push": [{"branches": {"includes": ["main"]}}]}}],
        "stages": [
            {"name": "Source", "actions": [{
                "name": "Source", "actionTypeId": _type("Source", "ApiTestSource"),
                "configuration": {"StartOnCreate": "no", **config},
                "outputArtifacts": [{"name": "Src"}], "namespace": "SourceVariables"}]},
            {"name": "Check", "onFailure": {"result": "ROLLBACK"}, "actions": [{
                "name": "Check", "actionTypeId": _type("Approval", "ApiTestNoop"),
                "runOrder": 1}]},
        ],
    }


@pytest.fixture
def setup(session, app_name):
    """(client, declaration): a role and bucket exist; the pipeline does not yet."""
    role = pipeline_role(session, app_name)
    session.client("s3").create_bucket(Bucket=f"{app_name}-art")
    declaration = _declaration(f"{app_name}-pipe", role, f"{app_name}-art")
    return session.client("codepipeline"), declaration


def _finished(cp, name, execution_id):
    return {"pipelineExecution": wait_for_execution(cp, name, execution_id, timeout=30)}


def test_create_get_update_list_delete_keep_what_was_declared(setup):
    cp, declaration = setup
    name = declaration["name"]
    created = cp.create_pipeline(pipeline=declaration, tags=[{"key": "app", "value": "a"}])
    assert created["pipeline"]["version"] == 1
    assert created["tags"] == [{"key": "app", "value": "a"}]
    # Its source says it cannot start here: no CreatePipeline run.
    assert cp.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"] == []
    got = cp.get_pipeline(name=name)
    pipeline = got["pipeline"]
    for key in ("pipelineType", "executionMode", "variables", "triggers", "artifactStore"):
        assert pipeline[key] == declaration[key], key
    assert pipeline["stages"][1]["onFailure"] == {"result": "ROLLBACK"}
    assert pipeline["stages"][1]["actions"][0]["inputArtifacts"] == []
    assert got["metadata"]["pipelineArn"].endswith(f":{name}")

    changed = {**declaration, "executionMode": "PARALLEL"}
    assert cp.update_pipeline(pipeline=changed)["pipeline"]["version"] == 2
    assert cp.get_pipeline(name=name)["pipeline"]["executionMode"] == "PARALLEL"
    assert cp.get_pipeline(name=name, version=1)["pipeline"]["executionMode"] == "QUEUED"
    listed = [p for page in cp.get_paginator("list_pipelines").paginate(
        PaginationConfig={"PageSize": 1}) for p in page["pipelines"]]
    assert [p["version"] for p in listed if p["name"] == name] == [2]

    cp.delete_pipeline(name=name)
    cp.delete_pipeline(name=name)  # AWS: idempotent
    with pytest.raises(ClientError) as err:
        cp.get_pipeline(name=name)
    assert err.value.response["Error"]["Code"] == "PipelineNotFoundException"


def test_tags_round_trip_and_paginate(setup):
    cp, declaration = setup
    cp.create_pipeline(pipeline=declaration)
    arn = cp.get_pipeline(name=declaration["name"])["metadata"]["pipelineArn"]
    cp.tag_resource(resourceArn=arn, tags=[{"key": f"k{i}", "value": str(i)} for i in range(5)])
    cp.untag_resource(resourceArn=arn, tagKeys=["k0"])
    pages = cp.get_paginator("list_tags_for_resource").paginate(
        resourceArn=arn, PaginationConfig={"PageSize": 2})
    assert [t["key"] for page in pages for t in page["tags"]] == ["k1", "k2", "k3", "k4"]


def test_start_with_client_request_token_is_idempotent(setup):
    cp, declaration = setup
    cp.create_pipeline(pipeline=declaration)
    name = declaration["name"]
    one = cp.start_pipeline_execution(name=name, clientRequestToken="tok-1")
    two = cp.start_pipeline_execution(name=name, clientRequestToken="tok-1")
    assert one["pipelineExecutionId"] == two["pipelineExecutionId"]
    _finished(cp, name, one["pipelineExecutionId"])


def _broken(declaration, edit):
    copy = json.loads(json.dumps(declaration))
    edit(copy)
    return copy


STRUCTURE_CASES = [
    ("role that does not exist",
     lambda d: d.update(roleArn="arn:aws:iam::123456789012:role/nobody")),
    ("input artifact nobody produces",
     lambda d: d["stages"][1]["actions"][0].update(inputArtifacts=[{"name": "Ghost"}])),
    ("source stage not first", lambda d: d["stages"].reverse()),
    ("source action in a later stage",
     lambda d: d["stages"].append({"name": "Again", "actions": [
         {**d["stages"][0]["actions"][0], "outputArtifacts": [{"name": "Other"}],
          "namespace": "Other"}]})),
    ("only one stage", lambda d: d["stages"].pop()),
    ("duplicate stage names", lambda d: d["stages"][1].update(name="Source")),
    ("duplicate output artifacts",
     lambda d: d["stages"][1]["actions"][0].update(outputArtifacts=[{"name": "Src"}])),
]


@pytest.mark.parametrize("case, edit", STRUCTURE_CASES, ids=[c[0] for c in STRUCTURE_CASES])
def test_create_rejects_broken_structures(setup, case, edit):
    cp, declaration = setup
    with pytest.raises(ClientError) as err:
        cp.create_pipeline(pipeline=_broken(declaration, edit))
    assert err.value.response["Error"]["Code"] == "InvalidStructureException", case


def _started(cp, declaration, **config):
    """The pipeline (its source configured with ``config``) and one finished execution."""
    declaration = _broken(declaration, lambda d: d["stages"][0]["actions"][0][
        "configuration"].update(config))
    cp.create_pipeline(pipeline=declaration)
    execution_id = cp.start_pipeline_execution(name=declaration["name"])["pipelineExecutionId"]
    if not config:
        _finished(cp, declaration["name"], execution_id)
    return declaration["name"], execution_id


ERROR_CASES = [
    ("create twice", lambda cp, n, e, d: cp.create_pipeline(pipeline=d),
     "PipelineNameInUseException"),
    ("get a missing pipeline", lambda cp, n, e, d: cp.get_pipeline(name=n + "x"),
     "PipelineNotFoundException"),
    ("get a missing version", lambda cp, n, e, d: cp.get_pipeline(name=n, version=9),
     "PipelineVersionNotFoundException"),
    ("state of a missing pipeline", lambda cp, n, e, d: cp.get_pipeline_state(name=n + "x"),
     "PipelineNotFoundException"),
    ("start a missing pipeline", lambda cp, n, e, d: cp.start_pipeline_execution(name=n + "x"),
     "PipelineNotFoundException"),
    ("undeclared variable", lambda cp, n, e, d: cp.start_pipeline_execution(
        name=n, variables=[{"name": "Nope", "value": "1"}]), "ValidationException"),
    ("revision for a non-source action", lambda cp, n, e, d: cp.start_pipeline_execution(
        name=n, sourceRevisions=[{"actionName": "Check", "revisionType": "COMMIT_ID",
                                  "revisionValue": "1"}]), "ValidationException"),
    ("missing execution", lambda cp, n, e, d: cp.get_pipeline_execution(
        pipelineName=n, pipelineExecutionId="00000000-0000-0000-0000-000000000000"),
     "PipelineExecutionNotFoundException"),
    ("actions of a missing execution", lambda cp, n, e, d: cp.list_action_executions(
        pipelineName=n, filter={"pipelineExecutionId": "00000000-0000-0000-0000-000000000000"}),
     "PipelineExecutionNotFoundException"),
    ("bad next token", lambda cp, n, e, d: cp.list_pipeline_executions(
        pipelineName=n, nextToken="garbage"), "InvalidNextTokenException"),
    ("bad next token for pipelines", lambda cp, n, e, d: cp.list_pipelines(nextToken="zz"),
     "InvalidNextTokenException"),
    ("stop a finished execution", lambda cp, n, e, d: cp.stop_pipeline_execution(
        pipelineName=n, pipelineExecutionId=e), "PipelineExecutionNotStoppableException"),
    ("transition of a missing stage", lambda cp, n, e, d: cp.disable_stage_transition(
        pipelineName=n, stageName="Nope", transitionType="Inbound", reason="r"),
     "StageNotFoundException"),
    ("retry a missing stage", lambda cp, n, e, d: cp.retry_stage_execution(
        pipelineName=n, stageName="Nope", pipelineExecutionId=e, retryMode="ALL_ACTIONS"),
     "StageNotFoundException"),
    ("retry a stage that succeeded", lambda cp, n, e, d: cp.retry_stage_execution(
        pipelineName=n, stageName="Check", pipelineExecutionId=e, retryMode="ALL_ACTIONS"),
     "StageNotRetryableException"),
    ("roll back to a missing execution", lambda cp, n, e, d: cp.rollback_stage(
        pipelineName=n, stageName="Check",
        targetPipelineExecutionId="00000000-0000-0000-0000-000000000000"),
     "PipelineExecutionNotFoundException"),
    ("approval of a missing action", lambda cp, n, e, d: cp.put_approval_result(
        pipelineName=n, stageName="Check", actionName="Nope", token="t",
        result={"summary": "s", "status": "Approved"}), "ActionNotFoundException"),
    ("approval with a token never issued", lambda cp, n, e, d: cp.put_approval_result(
        pipelineName=n, stageName="Check", actionName="Check", token="t",
        result={"summary": "s", "status": "Approved"}), "InvalidApprovalTokenException"),
    ("tag a malformed ARN", lambda cp, n, e, d: cp.tag_resource(
        resourceArn="not-an-arn", tags=[{"key": "k", "value": "v"}]), "InvalidArnException"),
    ("tags of a missing pipeline", lambda cp, n, e, d: cp.list_tags_for_resource(
        resourceArn=f"arn:aws:codepipeline:us-east-1:123456789012:{n}x"),
     "ResourceNotFoundException"),
]


@pytest.mark.parametrize("case, call, code", ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_errors_use_aws_codes(setup, case, call, code):
    cp, declaration = setup
    name, execution_id = _started(cp, declaration)
    with pytest.raises(ClientError) as err:
        call(cp, name, execution_id, declaration)
    assert err.value.response["Error"]["Code"] == code, case


def test_stop_twice_is_a_duplicated_request_and_abandon_ends_it(setup):
    cp, declaration = setup
    name, execution_id = _started(cp, declaration, Hold="yes")
    cp.stop_pipeline_execution(pipelineName=name, pipelineExecutionId=execution_id)
    with pytest.raises(ClientError) as err:
        cp.stop_pipeline_execution(pipelineName=name, pipelineExecutionId=execution_id)
    assert err.value.response["Error"]["Code"] == "DuplicatedStopRequestException"
    cp.stop_pipeline_execution(pipelineName=name, pipelineExecutionId=execution_id,
                               abandon=True, reason="now")
    assert _finished(cp, name, execution_id)["pipelineExecution"]["status"] == "Stopped"


# -- every response against the service model -----------------------------------------------------


def _check(value, shape, path, problems):
    """Required members, known members, enums and wire types, as the model says."""
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return problems.append(f"{path}: not an object")
        for member in shape.required_members:
            if member not in value:
                problems.append(f"{path}.{member}: required, missing")
        for key, item in value.items():
            if key not in shape.members:
                problems.append(f"{path}.{key}: not in the model")
            else:
                _check(item, shape.members[key], f"{path}.{key}", problems)
    elif kind == "list":
        if not isinstance(value, list):
            return problems.append(f"{path}: not a list")
        for i, item in enumerate(value):
            _check(item, shape.member, f"{path}[{i}]", problems)
    elif kind == "map":
        if not isinstance(value, dict):
            return problems.append(f"{path}: not a map")
        for key, item in value.items():
            _check(item, shape.value, f"{path}.{key}", problems)
    elif kind == "string":
        if not isinstance(value, str):
            problems.append(f"{path}: not a string")
        elif shape.enum and value not in shape.enum:
            problems.append(f"{path}: {value!r} not in {shape.enum}")
    elif kind == "timestamp":
        if not isinstance(value, int | float):
            problems.append(f"{path}: timestamp not epoch seconds")
    elif kind in ("integer", "long") and not isinstance(value, int):
        problems.append(f"{path}: not an integer")
    elif kind == "boolean" and not isinstance(value, bool):
        problems.append(f"{path}: not a boolean")


def test_every_operation_answers_in_the_models_shapes(setup):
    cp, declaration = setup
    seen: dict[str, list] = {}

    def record(http_response, model, **_):
        if http_response.status_code == 200:
            seen.setdefault(model.name, []).append(http_response.content)

    cp.meta.events.register("after-call.codepipeline", record)
    name = declaration["name"]
    cp.create_pipeline(pipeline=declaration, tags=[{"key": "a", "value": "b"}])
    arn = cp.get_pipeline(name=name)["metadata"]["pipelineArn"]
    cp.update_pipeline(pipeline=declaration)
    cp.list_pipelines()
    cp.tag_resource(resourceArn=arn, tags=[{"key": "c", "value": "d"}])
    cp.untag_resource(resourceArn=arn, tagKeys=["c"])
    cp.list_tags_for_resource(resourceArn=arn)
    cp.disable_stage_transition(pipelineName=name, stageName="Check", transitionType="Inbound",
                                reason="freeze")
    held = cp.start_pipeline_execution(name=name, variables=[{"name": "Env", "value": "x"}])[
        "pipelineExecutionId"]
    wait_until(lambda: cp.get_pipeline_state(name=name)["stageStates"][1],
          lambda s: "inboundExecution" in s)
    cp.stop_pipeline_execution(pipelineName=name, pipelineExecutionId=held, abandon=True,
                               reason="r")
    cp.enable_stage_transition(pipelineName=name, stageName="Check", transitionType="Inbound")
    good = cp.start_pipeline_execution(name=name)["pipelineExecutionId"]
    _finished(cp, name, good)
    rollback = cp.rollback_stage(pipelineName=name, stageName="Check",
                                 targetPipelineExecutionId=good)["pipelineExecutionId"]
    _finished(cp, name, rollback)
    cp.get_pipeline_execution(pipelineName=name, pipelineExecutionId=good)
    cp.get_pipeline_execution(pipelineName=name, pipelineExecutionId=rollback)
    cp.list_pipeline_executions(pipelineName=name, filter={"succeededInStage": {
        "stageName": "Check"}})
    cp.list_pipeline_executions(pipelineName=name, maxResults=1)
    cp.list_action_executions(pipelineName=name)
    cp.get_pipeline_state(name=name)
    with pytest.raises(ClientError):  # the stage succeeded: nothing to retry
        cp.retry_stage_execution(pipelineName=name, stageName="Check",
                                 pipelineExecutionId=good, retryMode="FAILED_ACTIONS")
    cp.delete_pipeline(name=name)

    problems: list[str] = []
    for operation, bodies in seen.items():
        shape = MODEL.operation_model(operation).output_shape
        for body in bodies:
            data = json.loads(body or b"{}")
            if shape is None:
                assert data == {}, operation
            else:
                _check(data, shape, operation, problems)
    assert problems == []
    assert len(seen) >= 17, sorted(seen)
