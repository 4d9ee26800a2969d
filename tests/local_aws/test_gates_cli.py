"""Issue 13's "done when", with the real AWS CLI: a beforeEntry alarm gate fails a stage,
``list-rule-executions`` explains why, and ``override-stage-condition`` lets the next run in.

The pipeline uses the real providers (an S3 source, an S3 deploy) and an alarm of the local
CloudWatch; the CLI talks to the test session's local AWS over HTTP with the session's own
credentials.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import aws_action, make_zip, pipeline_declaration, s3_source_stage, wait_until

from runbook_lib.local.codepipeline.rules import MINUTE_ENV

AWS = str(Path(sys.executable).with_name("aws"))


@pytest.fixture
def cli(session, local_aws, monkeypatch):
    """Run ``aws ...`` against the local AWS; returns parsed JSON."""
    monkeypatch.setenv(MINUTE_ENV, "0.1")  # read by the in-process server at evaluation time
    creds = session.client("sts")._request_signer._credentials.get_frozen_credentials()
    env = {**os.environ, "AWS_ENDPOINT_URL": local_aws.endpoint_url,
           "AWS_ACCESS_KEY_ID": creds.access_key, "AWS_SECRET_ACCESS_KEY": creds.secret_key,
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_PAGER": ""}
    env.pop("AWS_PROFILE", None)

    def run(*args):
        result = subprocess.run([AWS, *args, "--output", "json"], env=env,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout) if result.stdout.strip() else {}

    return run


def _poll(what, check, timeout=60):
    """``check()`` returns (done, value); wait until done and return the value."""
    return wait_until(check, lambda seen: seen[0], timeout=timeout, what=what,
                      interval=0.2)[1]


def _pipeline(app_name, alarm, wait_minutes):
    gate = {"name": "ErrorsQuiet", "ruleTypeId": {"category": "Rule", "owner": "AWS",
                                                  "provider": "CloudWatchAlarm", "version": "1"},
            "configuration": {"AlarmName": alarm, "WaitTime": str(wait_minutes)}}
    production = {"name": "Production",
                  "beforeEntry": {"conditions": [{"result": "FAIL", "rules": [gate]}]},
                  "actions": [aws_action("Deploy", "Deploy", "S3",
                                         configuration={"BucketName": f"{app_name}-site",
                                                        "Extract": "true"},
                                         inputArtifacts=[{"name": "Src"}])]}
    return pipeline_declaration(
        f"{app_name}-cli", f"arn:aws:iam::123456789012:role/{app_name}-role",
        f"{app_name}-artifacts", s3_source_stage(f"{app_name}-source"), production,
        pipelineType="V2", executionMode="QUEUED")


@pytest.mark.slow  # the AWS CLI started a dozen times: ten seconds
def test_cli_alarm_gate_fails_a_stage_is_explained_and_overridden(cli, app_name, tmp_path):
    name, alarm = f"{app_name}-cli", f"{app_name}-errors"
    cli("iam", "create-role", "--role-name", f"{app_name}-role",
        "--assume-role-policy-document", "{}")
    for bucket in ("artifacts", "source", "site"):
        cli("s3api", "create-bucket", "--bucket", f"{app_name}-{bucket}")
    cli("s3api", "put-bucket-versioning", "--bucket", f"{app_name}-source",
        "--versioning-configuration", "Status=Enabled")
    (tmp_path / "app.zip").write_bytes(make_zip({"index.html": "<h1>release</h1>"}))
    cli("s3api", "put-object", "--bucket", f"{app_name}-source", "--key", "app.zip",
        "--body", str(tmp_path / "app.zip"))
    cli("cloudwatch", "put-metric-alarm", "--alarm-name", alarm, "--namespace", "SampleApp",
        "--metric-name", "Errors", "--statistic", "Sum", "--period", "60",
        "--evaluation-periods", "1", "--threshold", "1",
        "--comparison-operator", "GreaterThanOrEqualToThreshold")
    cli("cloudwatch", "set-alarm-state", "--alarm-name", alarm, "--state-value", "ALARM",
        "--state-reason", "errors after the last deploy")
    (tmp_path / "pipeline.json").write_text(json.dumps(_pipeline(app_name, alarm, 1)))
    cli("codepipeline", "create-pipeline", "--pipeline", f"file://{tmp_path / 'pipeline.json'}")

    def first_ended():
        rows = cli("codepipeline", "list-pipeline-executions", "--pipeline-name", name)[
            "pipelineExecutionSummaries"]
        return bool(rows) and rows[0]["status"] not in ("InProgress", "Stopping"), rows

    blocked = _poll("the first run to end", first_ended)[0]
    assert blocked["status"] == "Failed"
    state = cli("codepipeline", "get-pipeline-state", "--name", name)["stageStates"][1]
    assert state["latestExecution"]["status"] == "Failed"
    assert state["beforeEntryConditionState"]["latestExecution"]["status"] == "Failed"
    explained = cli("codepipeline", "list-rule-executions", "--pipeline-name", name,
                    "--filter", json.dumps({"pipelineExecutionId":
                                            blocked["pipelineExecutionId"]}))
    run = explained["ruleExecutionDetails"][0]
    assert (run["ruleName"], run["status"]) == ("ErrorsQuiet", "Failed")
    assert f"Alarm {alarm} is ALARM" in run["output"]["executionResult"][
        "externalExecutionSummary"]

    (tmp_path / "pipeline.json").write_text(json.dumps(_pipeline(app_name, alarm, 600)))
    cli("codepipeline", "update-pipeline", "--pipeline", f"file://{tmp_path / 'pipeline.json'}")
    next_id = cli("codepipeline", "start-pipeline-execution", "--name", name)[
        "pipelineExecutionId"]

    def gate_waiting():
        state = cli("codepipeline", "get-pipeline-state", "--name", name)["stageStates"][1]
        gate = state.get("beforeEntryConditionState", {}).get("latestExecution", {})
        return gate.get("status") == "InProgress", state

    _poll("the next run to wait at the gate", gate_waiting)
    cli("codepipeline", "override-stage-condition", "--pipeline-name", name,
        "--stage-name", "Production", "--pipeline-execution-id", next_id,
        "--condition-type", "BEFORE_ENTRY")

    def next_ended():
        done = cli("codepipeline", "get-pipeline-execution", "--pipeline-name", name,
                   "--pipeline-execution-id", next_id)["pipelineExecution"]
        return done["status"] not in ("InProgress", "Stopping"), done

    assert _poll("the overridden run to end", next_ended)["status"] == "Succeeded"
    state = cli("codepipeline", "get-pipeline-state", "--name", name)["stageStates"][1]
    assert state["beforeEntryConditionState"]["latestExecution"]["status"] == "Overridden"
    site = cli("s3api", "list-objects-v2", "--bucket", f"{app_name}-site")
    assert [o["Key"] for o in site["Contents"]] == ["index.html"]
