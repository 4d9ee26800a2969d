"""Release gates on the local AWS: a gated pipeline accepted and converged on re-run, the release
alarm made only when a gate watches it, look-alikes refused, teardown deleting it."""

from __future__ import annotations

import json

import pytest

from runbook_lib.core.errors import NotOwnedError
from runbook_lib.core.params import Params
from runbook_lib.setup import pipeline, release_alarm, teardown

ALL_GATES = {"deploy_window_cron": "* * 9-16 ? * MON-THU *",
             "deploy_window_timezone": "Europe/Paris", "gate_alarm_wait_minutes": 10,
             "post_deploy_watch_minutes": 15, "build_retry_mode": "FAILED_ACTIONS",
             "staging_skip_variable": "DeployStaging"}


def test_gated_pipeline_is_created_then_converges(session, app_name):
    params = Params(app_name=app_name, **ALL_GATES)
    names = params.names()
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "codepipeline.amazonaws.com"},
        "Action": "sts:AssumeRole"}]}
    session.client("iam").create_role(RoleName=names.codepipeline_role,
                                      AssumeRolePolicyDocument=json.dumps(trust))
    pipeline.plan_pipeline(session, params, names).apply()
    got = session.client("codepipeline").get_pipeline(name=names.pipeline)["pipeline"]
    assert got["stages"][4]["beforeEntry"]["conditions"][0]["result"] == "FAIL"
    session.recorder.reset()
    again = pipeline.plan_pipeline(session, params, names)
    assert [c.action for c in again.changes][-1] == "unchanged"
    again.apply()
    assert session.recorder.mutating_count == 0, session.recorder.summary()
    changed = pipeline.plan_pipeline(session, params.replace(post_deploy_watch_minutes=30), names)
    assert any("WaitTime" in line for c in changed.changes for line in c.diff)


def test_release_alarm_only_when_a_gate_watches_it(session, app_name):
    params = Params(app_name=app_name)
    assert release_alarm.plan_release_alarm(session, params, params.names()).changes == []
    watched = params.replace(post_deploy_watch_minutes=5)
    names = watched.names()
    first = release_alarm.plan_release_alarm(session, watched, names)
    assert [c.action for c in first.changes] == ["create"]
    first.apply()
    alarm = session.client("cloudwatch").describe_alarms(
        AlarmNames=[names.release_alarm])["MetricAlarms"][0]
    assert (alarm["Namespace"], alarm["MetricName"]) == (f"{app_name}/Releases", "Errors")
    session.recorder.reset()
    again = release_alarm.plan_release_alarm(session, watched, names)
    assert [c.action for c in again.changes] == ["unchanged"]
    again.apply()
    assert session.recorder.mutating_count == 0, session.recorder.summary()


def test_release_alarm_refuses_an_untagged_lookalike(session, app_name):
    params = Params(app_name=app_name, gate_alarm_wait_minutes=5)
    names = params.names()
    session.client("cloudwatch").put_metric_alarm(
        AlarmName=names.release_alarm, Namespace="x", MetricName="y", Statistic="Sum",
        Period=60, EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold")
    with pytest.raises(NotOwnedError):
        release_alarm.plan_release_alarm(session, params, names)


def test_teardown_deletes_the_release_alarm(session, app_name):
    params = Params(app_name=app_name, gate_alarm_wait_minutes=5)
    names = params.names()
    release_alarm.plan_release_alarm(session, params, names).apply()
    plan = teardown.plan_teardown(session, params, names)
    (change,) = [c for c in plan.changes if names.release_alarm in c.resource]
    assert change.action == "delete"
    change.apply_fn()
    assert session.client("cloudwatch").describe_alarms(
        AlarmNames=[names.release_alarm])["MetricAlarms"] == []
