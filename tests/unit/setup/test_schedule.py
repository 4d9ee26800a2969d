"""The report schedule: a plan like every setup step, least-privilege roles, converges."""

from __future__ import annotations

import json

import pytest

from runbook_lib.buildspec import validate as buildspec
from runbook_lib.core import tags
from runbook_lib.core.errors import NotOwnedError
from runbook_lib.setup import iam, report_wheel, schedule


def test_plan_apply_then_rerun_makes_no_mutating_call(session, params, names):
    plan = schedule.plan_report_schedule(session, params, names)
    assert plan.counts()["create"] == 9  # the report topic too
    plan.apply()
    report = schedule.ReportNames.derive(params, names)
    found = session.client("scheduler").get_schedule(Name=report.schedule,
                                                     GroupName=report.schedule_group)
    assert found["ScheduleExpression"] == "cron(0 6 * * ? *)"
    assert found["Target"]["Arn"] == schedule.UNIVERSAL_START_BUILD
    assert json.loads(found["Target"]["Input"]) == {"ProjectName": report.project}
    assert found["Target"]["RoleArn"] == names.role_arn(report.scheduler_role)
    project = session.client("codebuild").batch_get_projects(names=[report.project])["projects"][0]
    assert tags.is_owned(tags.from_tag_list(project["tags"]), params.app_name)

    session.recorder.reset()
    again = schedule.plan_report_schedule(session, params, names)
    again.apply()
    assert not again.has_changes
    assert session.recorder.mutating_count == 0, session.recorder.summary()


def test_a_changed_time_updates_only_the_schedule(session, params, names):
    schedule.plan_report_schedule(session, params, names).apply()
    options = schedule.ReportSchedule(expression="cron(30 7 ? * MON *)")
    plan = schedule.plan_report_schedule(session, params, names, options)
    assert [c.resource for c in plan.pending] == [
        f"schedule {params.app_name}-reports/{params.app_name}-pipeline-health"]
    plan.apply()
    assert not schedule.plan_report_schedule(session, params, names, options).has_changes


def test_an_untagged_schedule_group_is_left_alone(session, params, names):
    report = schedule.ReportNames.derive(params, names)
    session.client("scheduler").create_schedule_group(Name=report.schedule_group)
    with pytest.raises(NotOwnedError):
        schedule.plan_report_schedule(session, params, names)


def test_scheduler_role_starts_only_the_report_project(params, names):
    report = schedule.ReportNames.derive(params, names)
    _, scheduler = schedule.role_specs(names, report)
    assert scheduler.permissions["Statement"] == [{
        "Sid": "StartReportBuild", "Effect": "Allow", "Action": ["codebuild:StartBuild"],
        "Resource": [names.arn("codebuild", f"project/{report.project}")]}]
    trust = scheduler.trust["Statement"][0]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"]["StringEquals"]["aws:SourceAccount"] == names.account_id
    assert trust["Condition"]["StringEquals"]["aws:SourceArn"].endswith(
        f":schedule-group/{report.schedule_group}")


def test_report_role_is_scoped(params, names):
    report = schedule.ReportNames.derive(params, names)
    project_role, _ = schedule.role_specs(names, report)
    by_sid = {s["Sid"]: s for s in project_role.permissions["Statement"]}
    # GetObject: the presigned link readers get is signed with the build's credentials.
    assert by_sid["PutReports"]["Action"] == ["s3:PutObject", "s3:GetObject"]
    assert by_sid["GetPackage"]["Resource"] == [
        f"{names.artifact_bucket_arn}/runbook-package/*"]
    assert by_sid["TellReaders"] == {"Sid": "TellReaders", "Effect": "Allow",
                                     "Action": ["sns:Publish"],
                                     "Resource": [names.topic_arn(report.topic)]}
    assert by_sid["PutReports"]["Resource"] == [
        f"{names.artifact_bucket_arn}/reports/{names.pipeline}/*"]
    assert by_sid["ReadPipeline"]["Resource"] == [names.pipeline_arn]
    assert all(not a.startswith("codepipeline:") or a.split(":")[1].startswith(("Get", "List"))
               for s in project_role.permissions["Statement"] for a in s["Action"])
    assert all("*" != r for s in project_role.permissions["Statement"] for r in s["Resource"])
    assert iam.policy_breadth(project_role.permissions).wildcard_resources == 0


def test_buildspec_is_valid_and_runs_the_report(names, params):
    report = schedule.ReportNames.derive(params, names)
    text = schedule.report_buildspec(names, report)
    parsed = buildspec.parse_buildspec(text)
    assert parsed is not None
    assert "runbook_lib.app.cli report --target aws" in text
    assert '--notify "$REPORT_TOPIC"' in text and "--target .runbook" in text
    assert f"s3://{names.artifact_bucket}/reports/{names.pipeline}/" in text


def test_local_builds_install_the_working_tree_offline(session, params, names, tmp_path):
    """On the local AWS the project gets this interpreter and a wheel in the artifact bucket."""
    session.client("s3").create_bucket(Bucket=names.artifact_bucket)
    wheel = report_wheel.build_wheel(tmp_path)
    options = schedule.for_local_builds(schedule.ReportSchedule())
    plan = schedule.plan_report_schedule(session, params, names, options, wheel)
    plan.apply()
    report = schedule.ReportNames.derive(params, names)
    project = session.client("codebuild").batch_get_projects(names=[report.project])["projects"][0]
    variables = {v["name"]: v["value"] for v in project["environment"]["environmentVariables"]}
    assert variables["RUNBOOK_PACKAGE"] == (
        f"s3://{names.artifact_bucket}/runbook-package/{wheel.name}")
    assert variables["RUNBOOK_PIP_OPTIONS"] == "--no-deps --no-index"
    session.recorder.reset()
    again = schedule.plan_report_schedule(session, params, names, options,
                                          report_wheel.build_wheel(tmp_path / "again"))
    assert not again.has_changes, again.render()  # the same tree packs to the same bytes
