"""Manual approvals on the local AWS: the SNS notification in AWS's JSON, the token, who decided
and why in the pipeline's history, rejection, expiry and stop."""

from __future__ import annotations

import getpass
import json
import time

import pytest
from botocore.exceptions import ClientError
from helpers import aws_action, declared_pipeline, wait_for_execution, wait_until

from runbook_lib.local.codepipeline.actions import ActionOutcome, register
from runbook_lib.local.codepipeline.approvals import TIMEOUT_ENV


@register("Source", "ApprovalTestSource")
class _Source:
    def run(self, ctx):
        return ActionOutcome("Succeeded", "ok", output_variables={"CommitId": "feedbeef"},
                             revision={"revisionId": "feedbeef", "created": time.time()})


@pytest.fixture
def approval(session, app_name):
    """A pipeline Source -> Approve whose approval notifies a topic an SQS queue reads.
    Returns (client, pipeline, execution id, queue url)."""
    sns, sqs = session.client("sns"), session.client("sqs")
    topic = sns.create_topic(Name=f"{app_name}-approvals")["TopicArn"]
    queue = sqs.create_queue(QueueName=f"{app_name}-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    pipeline = f"{app_name}-pipe"
    cp = session.client("codepipeline")
    cp.create_pipeline(pipeline=declared_pipeline(
        session, app_name, pipeline, f"{app_name}-art",
        {"name": "Source", "actions": [aws_action("Source", "Source", "ApprovalTestSource",
                                                  namespace="SourceVariables")]},
        {"name": "Approve-production", "actions": [aws_action(
            "Approve", "Approval", "Manual", configuration={
                "NotificationArn": topic, "CustomData": "Release #{SourceVariables.CommitId}?",
                "ExternalEntityLink": "https://staging.example.com"})]}))
    execution_id = cp.list_pipeline_executions(pipelineName=pipeline)[
        "pipelineExecutionSummaries"][0]["pipelineExecutionId"]
    return cp, pipeline, execution_id, queue


def _approval_state(cp, pipeline):
    return cp.get_pipeline_state(name=pipeline)["stageStates"][1]["actionStates"][0]


def _token(cp, pipeline):
    state = wait_until(lambda: _approval_state(cp, pipeline),
                  lambda s: "token" in s.get("latestExecution", {}), what="a pending approval")
    return state["latestExecution"]["token"]


def _status(cp, pipeline, execution_id, *wanted):
    return wait_for_execution(cp, pipeline, execution_id, *wanted, timeout=30)


def _decide(cp, pipeline, token, status, summary="looked fine"):
    return cp.put_approval_result(pipelineName=pipeline, stageName="Approve-production",
                                  actionName="Approve", token=token,
                                  result={"summary": summary, "status": status})


def test_approved_records_who_why_and_when_and_notifies_in_aws_json(session, approval):
    cp, pipeline, execution_id, queue = approval
    token = _token(cp, pipeline)
    messages = session.client("sqs").receive_message(QueueUrl=queue, WaitTimeSeconds=5)[
        "Messages"]
    envelope = json.loads(messages[0]["Body"])
    assert envelope["Subject"].startswith(f"APPROVAL NEEDED: AWS CodePipeline {pipeline}")
    note = json.loads(envelope["Message"])
    assert note["region"] == "us-east-1"
    assert note["consoleLink"].endswith(f"#/view/{pipeline}")
    detail = note["approval"]
    assert detail["pipelineName"] == pipeline
    assert detail["stageName"] == "Approve-production"
    assert detail["actionName"] == "Approve"
    assert detail["token"] == token
    assert detail["customData"] == "Release feedbeef?"
    assert detail["externalEntityLink"] == "https://staging.example.com"
    assert detail["approvalReviewLink"].endswith(f"/Approve-production/Approve/approve/{token}")
    assert time.strptime(detail["expires"], "%Y-%m-%dT%H:%MZ")

    approved_at = _decide(cp, pipeline, token, "Approved")["approvedAt"]
    _status(cp, pipeline, execution_id, "Succeeded")
    # The local AWS names its operator (the OS user), not moto's "user/moto" (issue 21).
    arn = session.client("sts").get_caller_identity()["Arn"]
    who = f"{arn.rsplit('/', 1)[0]}/{getpass.getuser()}"
    record = [d for d in cp.list_action_executions(pipelineName=pipeline)[
        "actionExecutionDetails"] if d["actionName"] == "Approve"][0]
    assert record["status"] == "Succeeded"
    assert record["updatedBy"] == who
    assert record["output"]["executionResult"]["externalExecutionSummary"] == "looked fine"
    assert record["startTime"] <= approved_at <= record["lastUpdateTime"]
    latest = _approval_state(cp, pipeline)["latestExecution"]
    assert (latest["summary"], latest["lastUpdatedBy"]) == ("looked fine", who)
    assert "token" not in latest


def test_rejected_fails_the_run_and_a_second_decision_is_refused(approval):
    cp, pipeline, execution_id, _ = approval
    token = _token(cp, pipeline)
    with pytest.raises(ClientError) as err:
        _decide(cp, pipeline, "not-the-token", "Approved")
    assert err.value.response["Error"]["Code"] == "InvalidApprovalTokenException"
    _decide(cp, pipeline, token, "Rejected", "error rate too high")
    done = _status(cp, pipeline, execution_id, "Failed")
    assert "error rate too high" in done["statusSummary"]
    with pytest.raises(ClientError) as err:
        _decide(cp, pipeline, token, "Approved")
    assert err.value.response["Error"]["Code"] == "ApprovalAlreadyCompletedException"


def test_an_approval_nobody_answers_expires(approval, monkeypatch):
    cp, pipeline, _, _ = approval
    _token(cp, pipeline)  # the first run's approval waits the default time
    monkeypatch.setenv(TIMEOUT_ENV, "0.5")
    cp.stop_pipeline_execution(pipelineName=pipeline, abandon=True, pipelineExecutionId=cp.
                               list_pipeline_executions(pipelineName=pipeline)[
                                   "pipelineExecutionSummaries"][0]["pipelineExecutionId"])
    execution_id = cp.start_pipeline_execution(name=pipeline)["pipelineExecutionId"]
    done = _status(cp, pipeline, execution_id, "Failed")
    assert "expired" in done["statusSummary"]
    assert _approval_state(cp, pipeline)["latestExecution"]["status"] == "Failed"


def test_abandon_ends_the_wait_and_the_token_no_longer_approves(approval):
    cp, pipeline, execution_id, _ = approval
    token = _token(cp, pipeline)
    cp.stop_pipeline_execution(pipelineName=pipeline, pipelineExecutionId=execution_id,
                               abandon=True)
    _status(cp, pipeline, execution_id, "Stopped")
    assert _approval_state(cp, pipeline)["latestExecution"]["status"] == "Abandoned"
    with pytest.raises(ClientError) as err:
        _decide(cp, pipeline, token, "Approved")
    assert err.value.response["Error"]["Code"] == "ApprovalAlreadyCompletedException"
