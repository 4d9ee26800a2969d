"""The CloudFormation deploy action through the local AWS's CloudFormation, end to end: a
pipeline built and started with the real AWS CLI deploys a template from its source artifact,
with parameter overrides (Fn::GetParam), a template configuration, output variables and an
output file; change sets; DELETE_ONLY."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from botocore.exceptions import ClientError
from helpers import (
    CliPipelines,
    aws_action,
    aws_cli,
    pipeline_declaration,
    pipeline_role,
    put_source_object,
    s3_source_stage,
    wait_for_execution,
    wait_until,
)

# Whole stacks created, updated and replaced: seconds each, so `make check` leaves them to
# `make test`.
pytestmark = pytest.mark.slow

TEMPLATE = """
AWSTemplateFormatVersion: '2010-09-09'
Parameters:
  Stage: {Type: String}
  Owner: {Type: String}
Resources:
  Setting:
    Type: AWS::SSM::Parameter
    Properties:
      Name: !Sub '/${AWS::StackName}/${Stage}/owner'
      Type: String
      Value: !Ref Owner
Outputs:
  SettingName: {Value: !Ref Setting}
  Stage: {Value: !Ref Stage}
"""


UNSUPPORTED = """
Resources:
  Setting:
    Type: AWS::SSM::Parameter
    Properties: {Type: String, Value: kept, Name: !Sub '/${AWS::StackName}/unsupported'}
  Service:
    Type: AWS::AppRunner::Service
    Properties: {ServiceName: web}
"""

NAMED_ROLE = """
Resources:
  Runner:
    Type: AWS::IAM::Role
    Properties:
      RoleName: !Sub '${AWS::StackName}-runner'
      AssumeRolePolicyDocument: {Version: '2012-10-17', Statement: []}
Outputs:
  RoleName: {Value: !Ref Runner}
"""

BROKEN = """
Resources:
  First:
    Type: AWS::SSM::Parameter
    Properties: {Type: String, Value: one, Name: !Sub '/${AWS::StackName}/first'}
  Empty:
    Type: AWS::SSM::Parameter
    DependsOn: First
    Properties: {Type: String, Name: !Sub '/${AWS::StackName}/empty'}
"""


def _cfn(name, stack, **config):
    return aws_action(name, "Deploy", "CloudFormation", inputArtifacts=[{"name": "Src"}],
                      configuration={"StackName": stack, **config})


@pytest.fixture
def stack_pipeline(session, local_aws, app_name):
    env = local_aws.credentials.environment(local_aws.endpoint_url)
    bucket = f"{app_name}-cfn"
    put_source_object(session.client("s3"), bucket, {
        "template.yaml": TEMPLATE, "config.json": json.dumps({"Parameters": {"Owner": "ops"},
                                                              "Tags": {"team": "blue"}}),
        "params.json": json.dumps({"stage": "beta"}), "unsupported.yaml": UNSUPPORTED,
        "named-role.yaml": NAMED_ROLE, "broken.yaml": BROKEN})
    role = pipeline_role(session, app_name)
    stack = f"{app_name}-stack"
    deploy = _cfn("Deploy", stack, ActionMode="CREATE_UPDATE",
                  TemplatePath="Src::template.yaml", TemplateConfiguration="Src::config.json",
                  ParameterOverrides=json.dumps({"Stage": {"Fn::GetParam":
                                                           ["Src", "params.json", "stage"]}}),
                  OutputFileName="outputs.json")
    deploy.update(namespace="Stack", outputArtifacts=[{"name": "StackOut"}])
    name = f"{app_name}-cfn"
    aws_cli(env, "codepipeline", "create-pipeline", "--pipeline", json.dumps(
        pipeline_declaration(name, role, bucket, s3_source_stage(bucket),
                             {"name": "Deploy", "actions": [deploy]})))
    return env, name, stack


def _finished(env, name):
    """The pipeline's newest run (by start time: a listing has no promised order), ended."""
    rows = wait_until(lambda: aws_cli(env, "codepipeline", "list-pipeline-executions",
                                      "--pipeline-name", name)["pipelineExecutionSummaries"],
                      what=f"a run of {name}")
    newest = max(rows, key=lambda row: row["startTime"])
    return wait_for_execution(CliPipelines(env), name, newest["pipelineExecutionId"], timeout=90)


def test_create_update_deploys_the_stack_with_outputs(stack_pipeline, session):
    env, name, stack = stack_pipeline
    assert _finished(env, name)["status"] == "Succeeded"
    described = aws_cli(env, "cloudformation", "describe-stacks",
                        "--stack-name", stack)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described["Outputs"]}
    assert outputs["Stage"] == "beta"  # Fn::GetParam
    assert session.client("ssm").get_parameter(Name=f"/{stack}/beta/owner")["Parameter"][
        "Value"] == "ops"  # TemplateConfiguration
    detail = next(d for d in aws_cli(env, "codepipeline", "list-action-executions",
                                 "--pipeline-name", name)["actionExecutionDetails"]
                  if d["actionName"] == "Deploy")
    assert detail["output"]["outputVariables"]["Stage"] == "beta"
    where = detail["output"]["outputArtifacts"][0]["s3location"]
    body = session.client("s3").get_object(Bucket=where["bucket"], Key=where["key"])["Body"]
    assert json.loads(zipfile.ZipFile(io.BytesIO(body.read())).read("outputs.json"))[
        "Stage"] == "beta"
    again = aws_cli(env, "codepipeline", "start-pipeline-execution", "--name", name)
    assert again["pipelineExecutionId"]
    assert _finished(env, name)["status"] == "Succeeded"  # no updates: still a success


def test_change_sets_and_delete_only(stack_pipeline, session):
    env, name, stack = stack_pipeline
    assert _finished(env, name)["status"] == "Succeeded"
    cp = session.client("codepipeline")
    declaration = cp.get_pipeline(name=name)["pipeline"]
    common = {"TemplatePath": "Src::template.yaml",
              "ParameterOverrides": json.dumps({"Stage": "gamma", "Owner": "dev"})}
    declaration["stages"][1]["actions"] = [
        _cfn("Plan", stack, ActionMode="CHANGE_SET_REPLACE", ChangeSetName="next", **common),
        {**_cfn("Apply", stack, ActionMode="CHANGE_SET_EXECUTE", ChangeSetName="next"),
         "runOrder": 2}]
    cp.update_pipeline(pipeline=declaration)
    cp.start_pipeline_execution(name=name)
    assert _finished(env, name)["status"] == "Succeeded"
    cfn = session.client("cloudformation")
    change_set = cfn.describe_change_set(ChangeSetName="next", StackName=stack)
    assert change_set["ExecutionStatus"] == "EXECUTE_COMPLETE"
    assert {p["ParameterKey"]: p["ParameterValue"] for p in change_set["Parameters"]}[
        "Stage"] == "gamma"
    assert cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"] == "UPDATE_COMPLETE"
    declaration["stages"][1]["actions"] = [_cfn("Remove", stack, ActionMode="DELETE_ONLY")]
    cp.update_pipeline(pipeline=declaration)
    cp.start_pipeline_execution(name=name)
    assert _finished(env, name)["status"] == "Succeeded"
    names = [s["StackName"] for s in session.client("cloudformation").describe_stacks()[
        "Stacks"] if s["StackStatus"] != "DELETE_COMPLETE"]
    assert stack not in names


def test_a_bad_configuration_fails_the_action_saying_why(stack_pipeline, session):
    env, name, stack = stack_pipeline
    _finished(env, name)
    cp = session.client("codepipeline")
    declaration = cp.get_pipeline(name=name)["pipeline"]
    declaration["stages"][1]["actions"] = [_cfn("Deploy", stack, ActionMode="CREATE_UPDATE",
                                                TemplatePath="Src::missing.yaml")]
    cp.update_pipeline(pipeline=declaration)
    cp.start_pipeline_execution(name=name)
    assert _finished(env, name)["status"] == "Failed"
    action = cp.get_pipeline_state(name=name)["stageStates"][1]["actionStates"][0]
    assert "missing.yaml is not in input artifact Src" in action["latestExecution"][
        "errorDetails"]["message"]


def _redeploy(session, env, name, *actions) -> tuple[str, list[dict]]:
    """Replace the Deploy stage's actions, run the pipeline once: its status and the stage's
    action states."""
    cp = session.client("codepipeline")
    declaration = cp.get_pipeline(name=name)["pipeline"]
    declaration["stages"][1]["actions"] = list(actions)
    cp.update_pipeline(pipeline=declaration)
    cp.start_pipeline_execution(name=name)
    status = _finished(env, name)["status"]
    return status, cp.get_pipeline_state(name=name)["stageStates"][1]["actionStates"]


def _message(states) -> str:
    return states[0]["latestExecution"].get("errorDetails", {}).get("message", "")


def _stack_names(session) -> set[str]:
    pages = session.client("cloudformation").get_paginator("list_stacks").paginate()
    return {s["StackName"] for page in pages for s in page["StackSummaries"]
            if s["StackStatus"] != "DELETE_COMPLETE"}


def test_a_resource_moto_cannot_create_fails_the_action_naming_it(stack_pipeline, session):
    env, name, _ = stack_pipeline
    _finished(env, name)
    stack = f"{name}-unsupported"
    status, states = _redeploy(session, env, name, _cfn(
        "Deploy", stack, ActionMode="CREATE_UPDATE", TemplatePath="Src::unsupported.yaml"))
    assert status == "Failed"
    assert "Service (AWS::AppRunner::Service) not created" in _message(states)
    assert stack not in _stack_names(session)  # rolled back, as AWS would


def test_a_resource_that_fails_to_create_rolls_the_stack_back(stack_pipeline, session):
    env, name, _ = stack_pipeline
    _finished(env, name)
    stack = f"{name}-broken"
    status, states = _redeploy(session, env, name, _cfn(
        "Deploy", stack, ActionMode="CREATE_UPDATE", TemplatePath="Src::broken.yaml"))
    assert status == "Failed"
    message = _message(states)
    assert message.startswith(f"create stack {stack}: ValidationException")
    assert "Empty (AWS::SSM::Parameter)" in message
    assert stack not in _stack_names(session)


def test_iam_resources_need_their_capability_and_role_arn_is_passed(stack_pipeline, session,
                                                                    app_name):
    env, name, _ = stack_pipeline
    _finished(env, name)
    stack = f"{name}-iam"
    role = f"arn:aws:iam::123456789012:role/{app_name}-role"
    action = _cfn("Deploy", stack, ActionMode="CREATE_UPDATE", RoleArn=role,
                  TemplatePath="Src::named-role.yaml", Capabilities="CAPABILITY_IAM")
    status, states = _redeploy(session, env, name, action)
    assert status == "Failed"
    assert "Requires capabilities : [CAPABILITY_NAMED_IAM]" in _message(states)
    assert states[0]["latestExecution"]["errorDetails"]["code"] == "ConfigurationError"
    action["configuration"]["Capabilities"] = "CAPABILITY_IAM,CAPABILITY_NAMED_IAM"
    status, _ = _redeploy(session, env, name, action)
    assert status == "Succeeded"
    described = session.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    assert described["RoleARN"] == role
    session.client("iam").get_role(RoleName=f"{stack}-runner")  # the stack made it


def test_replace_on_failure_replaces_a_failed_stack(stack_pipeline, session):
    env, name, stack = stack_pipeline
    _finished(env, name)
    cfn = session.client("cloudformation")
    cfn.delete_stack(StackName=stack)
    with pytest.raises(ClientError):  # a failed creation outside the pipeline
        cfn.create_stack(StackName=stack, TemplateBody=BROKEN)
    common = {"TemplatePath": "Src::template.yaml", "ParameterOverrides": json.dumps({
        "Stage": "delta", "Owner": {"Fn::GetArtifactAtt": ["Src", "BucketName"]}})}
    status, states = _redeploy(session, env, name, _cfn(
        "Deploy", stack, ActionMode="CREATE_UPDATE", **common))
    assert status == "Failed"
    assert "CREATE_FAILED state and can not be updated" in _message(states)
    status, _ = _redeploy(session, env, name, _cfn(
        "Deploy", stack, ActionMode="REPLACE_ON_FAILURE", **common))
    assert status == "Succeeded"
    assert cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    value = session.client("ssm").get_parameter(Name=f"/{stack}/delta/owner")
    assert value["Parameter"]["Value"] == f"{stack.rsplit('-stack', 1)[0]}-cfn"  # the bucket
