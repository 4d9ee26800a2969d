"""The scheduled health report really runs on the local AWS: schedule, build, S3, SNS.

One local AWS for the module, started as an operator would (`runbook local start
--time-factor 30`: a minute of schedule time lasts two seconds; a build's
30-minute timeout, one real minute). A small pipeline with one failed
run gives the report something to read without building the sample app.
"""

from __future__ import annotations

import json
import re
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from helpers import (
    PIPELINE_TRUST,
    approval_stage,
    aws_cli,
    ensure_role,
    local_aws_env,
    pipeline_declaration,
    run_runbook,
    s3_source_stage,
    wait_for_execution,
    wait_until,
)

from runbook_lib.core.params import Params
from runbook_lib.core.session import AwsSession
from runbook_lib.local.server import process
from runbook_lib.setup import teardown
from runbook_lib.setup.schedule import ReportNames

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    state = tmp_path_factory.mktemp("sched-report-state")
    status = process.start(state, time_factor=30)
    env = local_aws_env(status)
    session = AwsSession("local", "us-east-1", endpoint_url=status.endpoint_url)
    params = Params(app_name=f"sr{uuid.uuid4().hex[:6]}")
    _pipeline_with_one_run(session, params.names())
    yield env, session, params
    process.stop(state)


def _pipeline_with_one_run(session: AwsSession, names) -> None:
    """An S3-sourced pipeline whose source object is missing: its one run fails at once."""
    session.client("s3").create_bucket(Bucket=names.artifact_bucket)
    role = ensure_role(session.client("iam"), names.codepipeline_role, PIPELINE_TRUST)
    pipelines = session.client("codepipeline")
    pipelines.create_pipeline(pipeline=pipeline_declaration(
        names.pipeline, role, names.artifact_bucket,
        s3_source_stage(names.artifact_bucket, "none.zip", output="src"), approval_stage(),
        version=1))
    run = pipelines.start_pipeline_execution(name=names.pipeline)["pipelineExecutionId"]
    wait_for_execution(pipelines, names.pipeline, run, "Failed", timeout=60)


def _set_up_out_of_the_way(env, params) -> None:
    """The report's project, roles and topic, with a schedule that stays out of the way."""
    run_runbook(env, "report", "--schedule", "at(2099-01-01T06:00:00)",
                "-p", f"app_name={params.app_name}", "-p", "apply=true")


def _report_queue(session: AwsSession, topic_arn: str) -> str:
    sqs = session.client("sqs")
    url = sqs.create_queue(QueueName=f"readers-{uuid.uuid4().hex[:6]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    session.client("sns").subscribe(TopicArn=topic_arn, Protocol="sqs",
                                    Endpoint=arn["QueueArn"])
    return url


def _builds(session: AwsSession, project: str) -> list[dict]:
    codebuild = session.client("codebuild")
    ids = codebuild.list_builds_for_project(projectName=project)["ids"]
    return codebuild.batch_get_builds(ids=ids)["builds"] if ids else []


def _log_tail(session: AwsSession, build: dict) -> str:
    """The end of a build's log, for a failed assertion's message."""
    where = build["logs"]
    events = session.client("logs").get_log_events(
        logGroupName=where["groupName"], logStreamName=where["streamName"])["events"]
    return "".join(e["message"] for e in events)[-3000:]


def test_runbook_report_schedule_applies_and_fires_on_the_rehearsal_clock(stack, tmp_path):
    env, session, params = stack
    report = ReportNames.derive(params, params.names())
    planned = run_runbook(env, "report", "--schedule", "rate(5 minutes)",
                          "-p", f"app_name={params.app_name}")
    assert "plan only" in planned.stdout and report.schedule in planned.stdout
    run_runbook(env, "report", "--schedule", "rate(5 minutes)", "--timezone", "Europe/Paris",
                "-p", f"app_name={params.app_name}", "-p", "apply=true")
    # rate(5 minutes) at 30x: a run at once, then one every ten seconds.
    wait_until(lambda: _builds(session, report.project), lambda b: len(b) >= 2, timeout=60,
               what="two runs of the report project", interval=0.5)
    session.client("scheduler").update_schedule(
        Name=report.schedule, GroupName=report.schedule_group, State="DISABLED",
        ScheduleExpression="rate(5 minutes)", ScheduleExpressionTimezone="Europe/Paris",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target=session.client("scheduler").get_schedule(
            Name=report.schedule, GroupName=report.schedule_group)["Target"])
    builds = wait_until(lambda: _builds(session, report.project),
                        lambda b: all(x["buildStatus"] != "IN_PROGRESS" for x in b),
                        timeout=240, what="the report builds to finish", interval=1)
    assert {b["buildStatus"] for b in builds} == {"SUCCEEDED"}, _log_tail(session, builds[0])
    # the app named once in runbook.toml, as `runbook run` remembers it: no -p needed
    remembered = tmp_path / "runbook.toml"
    remembered.write_text(f'[parameters]\napp_name = "{params.app_name}"\n')
    listed = run_runbook(env | {"RUNBOOK_PARAMS_FILE": str(remembered)}, "report",
                         "--list-scheduled")
    assert report.schedule in listed.stdout
    assert "rate(5 minutes) (Europe/Paris), DISABLED" in listed.stdout
    assert "SUCCEEDED" in listed.stdout and "/latest.html" not in listed.stdout


def test_aws_cli_schedule_runs_the_report_into_s3_and_tells_the_topic(stack):
    env, session, params = stack
    names = params.names()
    report = ReportNames.derive(params, names)
    _set_up_out_of_the_way(env, params)
    queue = _report_queue(session, names.topic_arn(report.topic))
    at = datetime.now(UTC) + timedelta(seconds=5)
    aws_cli(env, "scheduler", "create-schedule", "--name", f"cli-{uuid.uuid4().hex[:6]}",
            "--schedule-expression", f"at({at:%Y-%m-%dT%H:%M:%S})",
            "--flexible-time-window", "Mode=OFF", "--target", json.dumps({
                "Arn": "arn:aws:scheduler:::aws-sdk:codebuild:startBuild",
                "RoleArn": names.role_arn(report.scheduler_role),
                "Input": json.dumps({"ProjectName": report.project})}))
    sqs = session.client("sqs")
    got = wait_until(lambda: sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=5).get(
        "Messages", []), timeout=240, what="the report link on the topic", interval=0.5)
    message = json.loads(got[0]["Body"])["Message"]
    assert f"pipeline {names.pipeline}" in message
    link = re.search(r"(http\S+)", message).group(1)  # presigned: no credentials needed
    with urllib.request.urlopen(link, timeout=30) as answer:
        assert names.pipeline in answer.read().decode()
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    s3 = session.client("s3")
    for key in (f"{report.report_prefix}{day}.html", f"{report.report_prefix}latest.html"):
        html = s3.get_object(Bucket=names.artifact_bucket, Key=key)["Body"].read().decode()
        assert names.pipeline in html and "<html" in html.lower()


def test_a_failed_report_is_a_failed_build_with_its_log(stack):
    env, session, params = stack
    report = ReportNames.derive(params, params.names())
    _set_up_out_of_the_way(env, params)
    codebuild = session.client("codebuild")
    build_id = codebuild.start_build(projectName=report.project, environmentVariablesOverride=[
        {"name": "PIPELINE", "value": "no-such-pipeline", "type": "PLAINTEXT"}])["build"]["id"]
    build = wait_until(lambda: codebuild.batch_get_builds(ids=[build_id])["builds"][0],
                       lambda b: b["buildStatus"] != "IN_PROGRESS", timeout=180, interval=1,
                       what="the report build to end")
    assert build["buildStatus"] == "FAILED"
    failed = [p for p in build["phases"] if p.get("phaseStatus") == "FAILED"]
    assert [p["phaseType"] for p in failed] == ["BUILD"]
    assert "no-such-pipeline not found" in _log_tail(session, build)


def test_teardown_removes_the_schedule_project_roles_and_topic(stack):
    env, session, params = stack
    names = params.names()
    report = ReportNames.derive(params, names)
    _set_up_out_of_the_way(env, params)
    teardown.plan_teardown(session, params, names).apply()
    scheduler = session.client("scheduler")
    groups = [g["Name"] for g in scheduler.list_schedule_groups()["ScheduleGroups"]]
    assert report.schedule_group not in groups
    assert session.client("codebuild").batch_get_projects(names=[report.project])["projects"] == []
    roles = [r["RoleName"] for r in session.client("iam").list_roles()["Roles"]]
    assert report.project_role not in roles and report.scheduler_role not in roles
    topics = [t["TopicArn"] for t in session.client("sns").list_topics()["Topics"]]
    assert names.topic_arn(report.topic) not in topics
