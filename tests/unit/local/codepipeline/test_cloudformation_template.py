"""What the CloudFormation action reads from templates: resources, conditions, capabilities."""

from __future__ import annotations

import json

import pytest

from runbook_lib.local.codepipeline.cloudformation_template import (
    TemplateError,
    missing_capabilities,
    not_created,
    parse_template,
    required_capabilities,
    template_resources,
)

YAML = """
Transform: AWS::Serverless-2016-10-31
Conditions:
  Prod: !Equals [!Ref Env, production]
Resources:
  Queue: {Type: AWS::SQS::Queue, Properties: {QueueName: !Sub '${AWS::StackName}-q'}}
  Alarm:
    Type: AWS::CloudWatch::Alarm
    Condition: Prod
    Properties: {AlarmActions: [!GetAtt Queue.Arn]}
"""


def test_yaml_short_forms_read_as_their_long_forms():
    template = parse_template(YAML)
    queue, alarm = template_resources(template)
    assert queue.properties["QueueName"] == {"Fn::Sub": "${AWS::StackName}-q"}
    assert alarm.properties["AlarmActions"] == [{"Fn::GetAtt": "Queue.Arn"}]
    assert template["Conditions"]["Prod"] == {"Fn::Equals": [{"Ref": "Env"}, "production"]}
    assert (queue.conditional, alarm.conditional) == (False, True)


def test_json_and_already_decoded_templates():
    body = {"Resources": {"T": {"Type": "AWS::SNS::Topic"}}}
    assert parse_template(json.dumps(body)) == parse_template(body) == body


@pytest.mark.parametrize("body", ["[1, 2]", "Resources: {}", "Resources: {X: {Props: 1}}",
                                  "key: [unclosed"])
def test_unreadable_templates_are_refused(body):
    with pytest.raises(TemplateError):
        template_resources(parse_template(body))


@pytest.mark.parametrize(("resources", "transform", "needed"), [
    ({"T": {"Type": "AWS::SNS::Topic"}}, None, []),
    ({"R": {"Type": "AWS::IAM::Role"}}, None, ["CAPABILITY_IAM"]),
    ({"R": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "x"}}}, None,
     ["CAPABILITY_NAMED_IAM"]),
    ({"T": {"Type": "AWS::SNS::Topic"}}, "AWS::Serverless-2016-10-31",
     ["CAPABILITY_AUTO_EXPAND"]),
])
def test_required_capabilities(resources, transform, needed):
    template = {"Resources": resources, **({"Transform": transform} if transform else {})}
    assert required_capabilities(template) == needed


def test_named_iam_grants_plain_iam_too():
    template = {"Resources": {"R": {"Type": "AWS::IAM::Role"}}}
    assert missing_capabilities(template, ["CAPABILITY_NAMED_IAM"]) == []
    assert missing_capabilities(template, []) == ["CAPABILITY_IAM"]


def test_not_created_skips_conditional_resources():
    template = parse_template(YAML)
    assert not_created(template, {"Queue"}) == []
    assert [r.label for r in not_created(template, set())] == ["Queue (AWS::SQS::Queue)"]


def test_wait_condition_handles_are_not_reported_missing():
    template = {"Resources": {"H": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}}
    assert not_created(template, set()) == []
