"""The report schedule on the local AWS: a plan like every setup step, converges, leaves
look-alikes alone; local builds install the working tree offline."""

from __future__ import annotations

import json

import pytest

from runbook_lib.core import tags
from runbook_lib.core.errors import NotOwnedError
from runbook_lib.setup import report_wheel, schedule


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
