"""The suite's own pipeline with ``deploy_provider=cloudformation``, rehearsed end to end.

Set up through the library as notebooks 02 to 07 do (the stack role included), the pipeline
builds the sample app, whose build writes the stack template and its configuration; the
operator then drives and checks everything with the real AWS CLI: the staging stack deployed by
its own role with the release it carries, the approval, the production stack, their ownership
tags. Teardown deletes both stacks and the stack role, and keeps a look-alike stack.
"""

from __future__ import annotations

import json
import uuid

import pytest
from helpers import aws_cli, wait_until

from runbook_lib.core.params import Params
from runbook_lib.core.session import AwsSession
from runbook_lib.core.tags import ownership_tags
from runbook_lib.operate import history
from runbook_lib.setup import bucket, codebuild, config_store, iam, teardown

# The teardown test follows the deploy test on the same stack: one worker, in this order.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("cloudformation_deploy")]


@pytest.fixture(scope="module")
def stack_app(local_aws):
    """(session, params, env): a unique app set up with the CloudFormation deploy."""
    session = AwsSession("local", "us-east-1", endpoint_url=local_aws.endpoint_url)
    app = f"cf-{uuid.uuid4().hex[:6]}"
    params = Params(app_name=app, source_repo=f"acme/{app}", secret_names=(),
                    secure_config_names=(), cache_mode="none", deploy_provider="cloudformation")
    names = params.names()
    for plan in (bucket.plan_artifact_bucket(session, params, names),
                 iam.plan_roles(session, params, names),
                 codebuild.plan_build_project(session, params, names),
                 config_store.plan_config(session, params, names),
                 history.plan_pipeline_and_source(session, params, names)):
        plan.apply()
    return session, params, local_aws.credentials.environment(local_aws.endpoint_url)


def _runs(env, pipeline) -> list[dict]:
    return aws_cli(env, "codepipeline", "list-pipeline-executions", "--pipeline-name",
                   pipeline)["pipelineExecutionSummaries"]


def _pending_approval(env, pipeline):
    """(stage, action, token) of the approval the run waits at, or None."""
    state = aws_cli(env, "codepipeline", "get-pipeline-state", "--name", pipeline)
    for stage in state["stageStates"]:
        for action in stage.get("actionStates", []):
            latest = action.get("latestExecution") or {}
            if latest.get("status") == "InProgress" and latest.get("token"):
                return stage["stageName"], action["actionName"], latest["token"]
    failed = [r for r in _runs(env, pipeline) if r["status"] == "Failed"]
    assert not failed, failed
    return None


def _stack(env, name) -> dict:
    return aws_cli(env, "cloudformation", "describe-stacks", "--stack-name", name)["Stacks"][0]


def test_the_pipeline_deploys_both_stacks_driven_by_the_aws_cli(stack_app):
    session, params, env = stack_app
    names = params.names()
    staging, production = names.cloudformation_stacks
    stage, action, token = wait_until(lambda: _pending_approval(env, names.pipeline),
                                      timeout=300, what="the run to wait for approval")
    deployed = _stack(env, staging)
    outputs = {o["OutputKey"]: o["OutputValue"] for o in deployed["Outputs"]}
    commit = _runs(env, names.pipeline)[0]["sourceRevisions"][0]["revisionId"]
    assert outputs["Release"] == commit
    assert deployed["RoleARN"] == names.role_arn(names.cloudformation_role)
    assert {t["Key"]: t["Value"] for t in deployed["Tags"]} == ownership_tags(params.app_name)
    parameter = aws_cli(env, "ssm", "get-parameter", "--name", outputs["ReleaseParameter"])
    assert parameter["Parameter"]["Value"] == commit
    assert outputs["AlertsTopicArn"].endswith(f":{staging}-alerts")
    aws_cli(env, "codepipeline", "put-approval-result", "--pipeline-name", names.pipeline,
            "--stage-name", stage, "--action-name", action, "--token", token,
            "--result", json.dumps({"summary": "staging stack checked", "status": "Approved"}))
    run = wait_until(lambda: _runs(env, names.pipeline)[0],
                     lambda r: r["status"] != "InProgress", timeout=120, what="production")
    assert run["status"] == "Succeeded"
    assert _stack(env, production)["StackStatus"] == "CREATE_COMPLETE"
    details = aws_cli(env, "codepipeline", "list-action-executions", "--pipeline-name",
                      names.pipeline, "--filter",
                      json.dumps({"pipelineExecutionId": run["pipelineExecutionId"]}))
    deploys = [d for d in details["actionExecutionDetails"] if d["actionName"] == "Deploy"]
    assert len(deploys) == 2 and all(d["status"] == "Succeeded" for d in deploys)
    assert {d["output"]["outputVariables"]["Release"] for d in deploys} == {commit}


def test_teardown_deletes_the_stacks_and_the_stack_role_and_keeps_a_look_alike(stack_app):
    session, params, env = stack_app
    names = params.names()
    staging, production = names.cloudformation_stacks
    wait_until(lambda: _runs(env, names.pipeline)[0], lambda r: r["status"] != "InProgress",
               timeout=300, what="the run to end")
    look_alike = params.replace(app_name=f"{params.app_name}x").names().cloudformation_stacks[0]
    session.client("cloudformation").create_stack(
        StackName=staging.replace(params.app_name, f"{params.app_name}x"),
        TemplateBody=json.dumps({"Resources": {"T": {"Type": "AWS::SNS::Topic"}}}))
    plan = teardown.plan_teardown(session, params.replace(app_name=f"{params.app_name}x"),
                                  params.replace(app_name=f"{params.app_name}x").names())
    assert f"CloudFormation stack {look_alike}" in teardown.kept_resources(plan)
    teardown.plan_teardown(session, params, names).apply()
    listed = aws_cli(env, "cloudformation", "list-stacks")["StackSummaries"]
    live = {s["StackName"] for s in listed if s["StackStatus"] != "DELETE_COMPLETE"}
    assert staging not in live and production not in live and look_alike in live
    roles = {r["RoleName"] for r in aws_cli(env, "iam", "list-roles")["Roles"]}
    assert names.cloudformation_role not in roles
