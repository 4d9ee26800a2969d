"""Custom actions and job workers: action types, jobs, and a pipeline run through a real worker.

The custom action type is created with the real AWS CLI, the pipeline's custom action becomes a
job, and tools/job_worker_example.py (a separate process, plain boto3) does the work: the run
succeeds with the worker's output variables and output artifact, or fails with its reason.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from helpers import (
    aws_cli,
    create_s3_pipeline,
    pipeline_declaration,
    pipeline_role,
    s3_source_stage,
    wait_for_execution,
    wait_until,
)

WORKER = Path(__file__).resolve().parents[2] / "tools" / "job_worker_example.py"


@pytest.fixture
def env(local_aws):
    return local_aws.credentials.environment(local_aws.endpoint_url)


def _custom_type(provider: str) -> dict[str, str]:
    return {"category": "Build", "owner": "Custom", "provider": provider, "version": "1"}


@pytest.fixture
def pipeline(session, env, app_name):
    """(codepipeline client, name, provider, source bucket): a source zip, a custom type
    created with the AWS CLI, and a pipeline S3 source -> custom Build action."""
    provider = f"Checks{uuid.uuid4().hex[:8]}"
    aws_cli(env, "codepipeline", "create-custom-action-type", "--category", "Build",
        "--provider", provider, "--action-version", "1",
        "--configuration-properties", json.dumps([
            {"name": "RequiredFile", "required": False, "key": False, "secret": False,
             "type": "String"},
            {"name": "Team", "required": True, "key": True, "secret": False,
             "queryable": True, "type": "String"}]),
        "--input-artifact-details", "minimumCount=1,maximumCount=1",
        "--output-artifact-details", "minimumCount=0,maximumCount=1")
    bucket = f"{app_name}-src"
    name = f"{app_name}-jobs"
    create_s3_pipeline(session, app_name, name, bucket, _check_stage(provider, "README.md"),
                       files={"README.md": "hi", "src/app.py": "print(1)"}, pipelineType="V2")
    return session.client("codepipeline"), name, provider, bucket


def _check_stage(provider, required_file):
    return {"name": "Check", "actions": [{
        "name": "Checksums", "actionTypeId": _custom_type(provider), "namespace": "Checks",
        "configuration": {"RequiredFile": required_file, "Team": "blue"},
        "inputArtifacts": [{"name": "Src"}], "outputArtifacts": [{"name": "Sums"}]}]}


def _latest(cp, name):
    rows = cp.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"]
    return rows[0] if rows else {"status": "None"}


def _worker(env, provider, *extra) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(WORKER), "--category", "Build", "--provider",
                           provider, "--query", "Team=blue", "--once", "--wait", "90", *extra],
                          env=env, capture_output=True, text=True, timeout=180)


def test_a_custom_action_runs_through_the_example_job_worker(pipeline, env, session):
    cp, name, provider, bucket = pipeline
    wait_until(lambda: _latest(cp, name), lambda e: e["status"] == "InProgress", timeout=60,
               what="the run created with the pipeline")
    done = _worker(env, provider)
    assert done.returncode == 0, done.stderr
    execution = wait_until(lambda: _latest(cp, name),
                           lambda e: e["status"] not in ("InProgress", "None"), timeout=60)
    assert execution["status"] == "Succeeded"
    detail = next(a for a in cp.list_action_executions(pipelineName=name)[
        "actionExecutionDetails"] if a["actionName"] == "Checksums")
    assert detail["output"]["outputVariables"] == {"FileCount": "2"}
    assert detail["output"]["executionResult"]["externalExecutionSummary"] == \
        "2 files checksummed"
    sums = detail["output"]["outputArtifacts"][0]["s3location"]
    body = session.client("s3").get_object(Bucket=sums["bucket"], Key=sums["key"])["Body"]
    text = zipfile.ZipFile(io.BytesIO(body.read())).read("checksums.txt").decode()
    assert "  README.md" in text and "  src/app.py" in text


def test_the_worker_failure_fails_the_action_with_its_reason(pipeline, env, app_name):
    cp, name, provider, bucket = pipeline
    declaration = cp.get_pipeline(name=name)["pipeline"]
    declaration["stages"][1]["actions"][0]["configuration"]["RequiredFile"] = "package.json"
    cp.update_pipeline(pipeline=declaration)
    wait_until(lambda: _latest(cp, name), lambda e: e["status"] == "InProgress", timeout=60)
    first = _latest(cp, name)["pipelineExecutionId"]
    cp.stop_pipeline_execution(pipelineName=name, pipelineExecutionId=first, abandon=True)
    execution_id = aws_cli(env, "codepipeline", "start-pipeline-execution", "--name",
                       name)["pipelineExecutionId"]
    done = _worker(env, provider)
    assert done.returncode == 0, done.stderr
    execution = wait_for_execution(cp, name, execution_id)
    assert execution["status"] == "Failed"
    state = cp.get_pipeline_state(name=name)["stageStates"][1]["actionStates"][0]
    assert "RequiredFile 'package.json'" in state["latestExecution"]["errorDetails"]["message"]


def test_jobs_by_hand_nonce_continuation_and_state(pipeline):
    cp, name, provider, _bucket = pipeline
    type_id = _custom_type(provider)
    job = wait_until(lambda: cp.poll_for_jobs(actionTypeId=type_id, maxBatchSize=1)["jobs"],
                     timeout=60, what="a job for the custom action")[0]
    assert job["data"]["pipelineContext"]["pipelineName"] == name
    assert job["data"]["inputArtifacts"][0]["name"] == "Src"
    assert cp.poll_for_jobs(actionTypeId=type_id)["jobs"] == []  # handed out once
    with pytest.raises(ClientError) as caught:
        cp.acknowledge_job(jobId=job["id"], nonce="wrong")
    assert caught.value.response["Error"]["Code"] == "InvalidNonceException"
    assert cp.acknowledge_job(jobId=job["id"], nonce=job["nonce"])["status"] == "InProgress"
    assert cp.get_job_details(jobId=job["id"])["jobDetails"]["id"] == job["id"]
    cp.put_job_success_result(jobId=job["id"], continuationToken="step-2")
    again = wait_until(lambda: cp.poll_for_jobs(actionTypeId=type_id)["jobs"], timeout=30,
                       what="the continuation job")[0]
    assert again["id"] != job["id"] and again["data"]["continuationToken"] == "step-2"
    with pytest.raises(ClientError) as caught:
        cp.put_job_success_result(jobId=job["id"])
    assert caught.value.response["Error"]["Code"] == "InvalidJobStateException"
    cp.acknowledge_job(jobId=again["id"], nonce=again["nonce"])
    cp.put_job_success_result(jobId=again["id"], outputVariables={"Done": "yes"},
                              executionDetails={"summary": "two steps"})
    execution = wait_until(lambda: _latest(cp, name), lambda e: e["status"] != "InProgress",
                           timeout=60)
    assert execution["status"] == "Succeeded"
    with pytest.raises(ClientError) as caught:
        cp.get_job_details(jobId=str(uuid.uuid4()))
    assert caught.value.response["Error"]["Code"] == "JobNotFoundException"


@pytest.fixture
def short_job_timeout(monkeypatch):
    monkeypatch.setenv("RUNBOOK_LOCAL_JOB_TIMEOUT_SECONDS", "1")


def test_a_job_nobody_finishes_times_out(short_job_timeout, pipeline):
    cp, name, provider, _bucket = pipeline  # its first run starts with the pipeline
    execution = wait_until(lambda: _latest(cp, name),
                           lambda e: e["status"] not in ("InProgress", "None"), timeout=60,
                           what="the run failed by its job timing out")
    assert execution["status"] == "Failed"
    action = cp.get_pipeline_state(name=name)["stageStates"][1]["actionStates"][0]
    assert "not completed by a job worker" in action["latestExecution"]["errorDetails"][
        "message"]


def test_pipelines_may_declare_only_existing_action_types(session, app_name, pipeline):
    cp, name, provider, bucket = pipeline
    declaration = pipeline_declaration(
        f"{app_name}-nope", pipeline_role(session, app_name), bucket, s3_source_stage(bucket),
        _check_stage("NoSuchProvider", "x"), pipelineType="V2")
    with pytest.raises(ClientError) as caught:
        cp.create_pipeline(pipeline=declaration)
    error = caught.value.response["Error"]
    assert error["Code"] == "InvalidActionDeclarationException"
    assert "Provider: 'NoSuchProvider'" in error["Message"] and "Checksums" in error["Message"]
    with pytest.raises(ClientError) as caught:
        cp.poll_for_jobs(actionTypeId=_custom_type("NoSuchProvider"))
    assert caught.value.response["Error"]["Code"] == "ActionTypeNotFoundException"


def test_action_type_registry(session, pipeline, env):
    cp, _name, provider, _bucket = pipeline
    listed = aws_cli(env, "codepipeline", "list-action-types")["actionTypes"]
    owners = {t["id"]["owner"] for t in listed}
    assert {"AWS", "ThirdParty", "Custom"} <= owners
    codebuild = next(t for t in listed if t["id"]["provider"] == "CodeBuild"
                     and t["id"]["category"] == "Build")
    assert {"name": "ProjectName", "required": True, "key": True, "secret": False,
            "queryable": False, "type": "String"} in codebuild["actionConfigurationProperties"]
    assert codebuild["inputArtifactDetails"] == {"minimumCount": 1, "maximumCount": 5}
    custom = cp.list_action_types(actionOwnerFilter="Custom")["actionTypes"]
    assert _custom_type(provider) in [t["id"] for t in custom]
    declared = cp.get_action_type(category="Deploy", owner="AWS", provider="ECS",
                                  version="1")["actionType"]
    assert declared["executor"]["type"] == "JobWorker"
    with pytest.raises(ClientError) as caught:
        cp.get_action_type(category="Deploy", owner="AWS", provider="Nope", version="1")
    assert caught.value.response["Error"]["Code"] == "ActionTypeNotFoundException"
    cp.delete_custom_action_type(category="Build", provider=provider, version="1")
    with pytest.raises(ClientError) as caught:  # a deleted id is never usable again
        cp.create_custom_action_type(category="Build", provider=provider, version="1",
                                     inputArtifactDetails={"minimumCount": 0,
                                                           "maximumCount": 1},
                                     outputArtifactDetails={"minimumCount": 0,
                                                            "maximumCount": 1})
    assert caught.value.response["Error"]["Code"] == "ValidationException"


def test_third_party_jobs_use_client_tokens(pipeline, app_name):
    cp, name, provider, bucket = pipeline
    alexa = {"category": "Deploy", "owner": "ThirdParty", "provider": "AlexaSkillsKit",
             "version": "1"}
    declaration = cp.get_pipeline(name=name)["pipeline"]
    declaration["stages"][1]["actions"] = [{
        "name": "Skill", "actionTypeId": alexa, "inputArtifacts": [{"name": "Src"}],
        "configuration": {"ClientId": "c", "ClientSecret": "s", "RefreshToken": "r",
                          "SkillId": "skill-1"}}]
    cp.update_pipeline(pipeline=declaration)
    first = wait_until(lambda: _latest(cp, name), lambda e: e["status"] == "InProgress",
                       timeout=60)  # the run the pipeline started with holds the stage
    cp.stop_pipeline_execution(pipelineName=name, pipelineExecutionId=first[
        "pipelineExecutionId"], abandon=True)
    execution_id = cp.start_pipeline_execution(name=name)["pipelineExecutionId"]
    job = wait_until(lambda: cp.poll_for_third_party_jobs(actionTypeId=alexa)["jobs"],
                     timeout=60, what="a third-party job")[0]
    with pytest.raises(ClientError) as caught:
        cp.get_third_party_job_details(jobId=job["jobId"], clientToken="not-the-client")
    assert caught.value.response["Error"]["Code"] == "InvalidClientTokenException"
    details = cp.get_third_party_job_details(jobId=job["jobId"],
                                             clientToken=job["clientId"])["jobDetails"]
    assert details["data"]["actionConfiguration"]["configuration"]["SkillId"] == "skill-1"
    assert cp.acknowledge_third_party_job(jobId=job["jobId"], nonce=details["nonce"],
                                          clientToken=job["clientId"])["status"] == "InProgress"
    cp.put_third_party_job_failure_result(
        jobId=job["jobId"], clientToken=job["clientId"],
        failureDetails={"type": "ConfigurationError", "message": "skill not found"})
    execution = wait_for_execution(cp, name, execution_id)
    assert execution["status"] == "Failed"


def test_put_action_revision_and_deploy_targets(pipeline, env):
    cp, name, provider, _bucket = pipeline
    revision = {"revisionId": "rev-1", "revisionChangeId": "change-1", "created": 1700000000}
    first = cp.put_action_revision(pipelineName=name, stageName="Source", actionName="Source",
                                   actionRevision=revision)
    assert first["newRevision"] is True
    run = cp.get_pipeline_execution(pipelineName=name,
                                    pipelineExecutionId=first["pipelineExecutionId"])
    assert run["pipelineExecution"]["trigger"]["triggerType"] == "PutActionRevision"
    again = cp.put_action_revision(pipelineName=name, stageName="Source", actionName="Source",
                                   actionRevision=revision)
    assert again == {**again, "newRevision": False,
                     "pipelineExecutionId": first["pipelineExecutionId"]}
    with pytest.raises(ClientError) as caught:
        cp.put_action_revision(pipelineName=name, stageName="Source", actionName="Nope",
                               actionRevision=revision)
    assert caught.value.response["Error"]["Code"] == "ActionNotFoundException"
    action_id = wait_until(lambda: cp.list_action_executions(pipelineName=name)[
        "actionExecutionDetails"], timeout=30)[0]["actionExecutionId"]
    targets = aws_cli(env, "codepipeline", "list-deploy-action-execution-targets",
                  "--pipeline-name", name, "--action-execution-id", action_id)
    assert targets["targets"] == []
    with pytest.raises(ClientError) as caught:
        cp.list_deploy_action_execution_targets(pipelineName=name,
                                                actionExecutionId=str(uuid.uuid4()))
    assert caught.value.response["Error"]["Code"] == "ActionExecutionNotFoundException"
