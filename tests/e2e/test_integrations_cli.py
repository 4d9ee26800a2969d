"""Job-worker and webhook pipelines end to end, as an operator runs them with the real AWS CLI.

Against a local AWS started as `runbook local start` starts it (a process of its own), every
step an operator takes is an `aws` command: the bucket, the source object, the role, the custom
action type, the pipeline, the webhook, the approval, and every check of what ran. The job
worker is tools/job_worker_example.py in a process of its own; the push is a POST to the
webhook's URL, as GitHub sends it. (The CloudFormation deploy pipeline runs the same way in
tests/e2e/test_cloudformation_deploy.py and tests/local_aws/test_cloudformation_action.py.)
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import subprocess
import sys
import urllib.request
import uuid
import zipfile
from pathlib import Path

import pytest
from helpers import (
    AWS_CLI,
    PIPELINE_TRUST,
    CliPipelines,
    approval_stage,
    aws_cli,
    make_zip,
    pipeline_declaration,
    s3_source_stage,
    wait_for_execution,
    wait_until,
)

# Slow; and its module-scoped fixture is minutes of work, so its tests share one worker under
# pytest-xdist (conftest.py) instead of each worker building it again.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("integrations_cli")]

WORKER = Path(__file__).resolve().parents[2] / "tools" / "job_worker_example.py"
SECRET = "e2e-webhook-secret"


@pytest.fixture(scope="module")
def source(local_stack, tmp_path_factory):
    """(env, bucket, role ARN): a versioned bucket holding app.zip and a pipeline role."""
    env = local_stack.env
    bucket = f"e2e-{uuid.uuid4().hex[:8]}"
    aws_cli(env, "s3api", "create-bucket", "--bucket", bucket)
    aws_cli(env, "s3api", "put-bucket-versioning", "--bucket", bucket,
            "--versioning-configuration", "Status=Enabled")
    archive = tmp_path_factory.mktemp("e2e-src") / "app.zip"
    archive.write_bytes(make_zip({"README.md": "hi", "src/app.py": "print(1)"}))
    aws_cli(env, "s3api", "put-object", "--bucket", bucket, "--key", "app.zip",
            "--body", str(archive))
    role = aws_cli(env, "iam", "create-role", "--role-name", f"{bucket}-role",
                   "--assume-role-policy-document", PIPELINE_TRUST)
    return env, bucket, role["Role"]["Arn"]


def _pipeline(name, bucket, role_arn, second_stage) -> str:
    return json.dumps(pipeline_declaration(name, role_arn, bucket,
                                           s3_source_stage(bucket, Branch="main"), second_stage,
                                           pipelineType="V2"))


def _execution(env, name, execution_id) -> dict:
    return aws_cli(env, "codepipeline", "get-pipeline-execution", "--pipeline-name", name,
                   "--pipeline-execution-id", execution_id)["pipelineExecution"]


def _ended(env, name, execution_id) -> dict:
    return wait_for_execution(CliPipelines(env), name, execution_id, timeout=120)


def test_a_custom_action_pipeline_runs_through_the_job_worker(source):
    env, bucket, role_arn = source
    provider = f"Sums{uuid.uuid4().hex[:6]}"
    aws_cli(env, "codepipeline", "create-custom-action-type", "--category", "Build",
            "--provider", provider, "--action-version", "1",
            "--input-artifact-details", "minimumCount=1,maximumCount=1",
            "--output-artifact-details", "minimumCount=0,maximumCount=1")
    name = f"{bucket}-jobs"
    check = {"name": "Check", "actions": [{
        "name": "Checksums", "namespace": "Checks", "inputArtifacts": [{"name": "Src"}],
        "outputArtifacts": [{"name": "Sums"}],
        "actionTypeId": {"category": "Build", "owner": "Custom", "provider": provider,
                         "version": "1"}}]}
    aws_cli(env, "codepipeline", "create-pipeline", "--pipeline",
            _pipeline(name, bucket, role_arn, check))
    first = wait_until(lambda: aws_cli(env, "codepipeline", "list-pipeline-executions",
                                       "--pipeline-name", name)["pipelineExecutionSummaries"],
                       timeout=60, what="the run creating the pipeline started")
    worker = subprocess.run([sys.executable, str(WORKER), "--category", "Build", "--provider",
                             provider, "--once", "--wait", "90"], env=env, capture_output=True,
                            text=True, timeout=180)
    assert worker.returncode == 0, worker.stderr
    run = _ended(env, name, first[0]["pipelineExecutionId"])
    assert run["status"] == "Succeeded"
    detail = next(d for d in aws_cli(env, "codepipeline", "list-action-executions",
                                     "--pipeline-name", name)["actionExecutionDetails"]
                  if d["actionName"] == "Checksums")
    assert detail["output"]["outputVariables"] == {"FileCount": "2"}
    where = detail["output"]["outputArtifacts"][0]["s3location"]
    body = subprocess.run([AWS_CLI, "s3", "cp",
                           f"s3://{where['bucket']}/{where['key']}", "-"], env=env,
                          capture_output=True, timeout=60, check=True).stdout
    sums = zipfile.ZipFile(io.BytesIO(body)).read("checksums.txt").decode()
    assert "  README.md" in sums and "  src/app.py" in sums


def _push(url: str, event: dict) -> dict:
    body = json.dumps(event).encode()
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", "X-GitHub-Event": "push",
        "X-Hub-Signature-256": signature})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


def _pending(env, name, execution_id):
    state = aws_cli(env, "codepipeline", "get-pipeline-state", "--name", name)
    for stage in state["stageStates"]:
        if stage.get("latestExecution", {}).get("pipelineExecutionId") != execution_id:
            continue
        for action in stage.get("actionStates", []):
            token = (action.get("latestExecution") or {}).get("token")
            if token:
                return stage["stageName"], action["actionName"], token
    return None


def test_a_signed_github_push_to_the_webhook_runs_the_pipeline(source):
    env, bucket, role_arn = source
    name = f"{bucket}-hooked"
    aws_cli(env, "codepipeline", "create-pipeline", "--pipeline",
            _pipeline(name, bucket, role_arn, approval_stage()))
    hook = aws_cli(env, "codepipeline", "put-webhook", "--webhook", json.dumps({
        "name": f"{name}-push", "targetPipeline": name, "targetAction": "Source",
        "filters": [{"jsonPath": "$.ref", "matchEquals": "refs/heads/{Branch}"}],
        "authentication": "GITHUB_HMAC",
        "authenticationConfiguration": {"SecretToken": SECRET}}))["webhook"]
    listed = aws_cli(env, "codepipeline", "list-webhooks")["webhooks"]
    assert hook["url"] in [w["url"] for w in listed]
    first = wait_until(lambda: aws_cli(env, "codepipeline", "list-pipeline-executions",
                                       "--pipeline-name", name)["pipelineExecutionSummaries"],
                       timeout=60, what="the run creating the pipeline started")
    aws_cli(env, "codepipeline", "stop-pipeline-execution", "--pipeline-name", name,
            "--pipeline-execution-id", first[0]["pipelineExecutionId"], "--abandon")
    skipped = _push(hook["url"], {"ref": "refs/heads/feature", "repository": {}})
    assert skipped["started"] is False
    started = _push(hook["url"], {"ref": "refs/heads/main", "after": "9fceb02d",
                                  "repository": {"full_name": "acme/app"}})
    execution_id = started["pipelineExecutionId"]
    assert _execution(env, name, execution_id)["trigger"]["triggerType"] == "Webhook"
    stage, action, token = wait_until(lambda: _pending(env, name, execution_id), timeout=60,
                                      what="the approval of the pushed run")
    aws_cli(env, "codepipeline", "put-approval-result", "--pipeline-name", name,
            "--stage-name", stage, "--action-name", action, "--token", token,
            "--result", json.dumps({"summary": "pushed change checked", "status": "Approved"}))
    assert _ended(env, name, execution_id)["status"] == "Succeeded"
    aws_cli(env, "codepipeline", "delete-webhook", "--name", f"{name}-push")
    assert hook["url"] not in [w["url"] for w in
                               aws_cli(env, "codepipeline", "list-webhooks")["webhooks"]]
