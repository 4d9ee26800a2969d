"""Operating the gates: run-and-watch says why a gate holds a run, the cockpit's break-glass
override needs a reason and lands in the audit trail, and the counts see what gates did."""

from __future__ import annotations

import pytest
from helpers import make_zip, pipeline_role, wait_until

from runbook_lib.core.errors import ParameterError
from runbook_lib.operate import audit, gates


@pytest.fixture
def held(session, app_name):
    """A pipeline whose first run waits at an alarm gate before Production (alarm firing)."""
    s3, cw, cp = session.client("s3"), session.client("cloudwatch"), session.client("codepipeline")
    pipeline_role(session, app_name)
    for suffix in ("artifacts", "source", "site"):
        s3.create_bucket(Bucket=f"{app_name}-{suffix}")
    s3.put_bucket_versioning(Bucket=f"{app_name}-source",
                             VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=f"{app_name}-source", Key="app.zip", Body=make_zip({"index.html": "ok"}))
    alarm = f"{app_name}-errors"
    cw.put_metric_alarm(AlarmName=alarm, Namespace="x", MetricName="Errors", Statistic="Sum",
                        Period=60, EvaluationPeriods=1, Threshold=1,
                        ComparisonOperator="GreaterThanOrEqualToThreshold")
    cw.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="incident")
    gate = {"name": "AlarmQuiet", "ruleTypeId": {"category": "Rule", "owner": "AWS",
                                                 "provider": "CloudWatchAlarm", "version": "1"},
            "configuration": {"AlarmName": alarm, "WaitTime": "30"}}
    name = f"{app_name}-pipeline"
    cp.create_pipeline(pipeline={
        "name": name, "pipelineType": "V2",
        "roleArn": f"arn:aws:iam::123456789012:role/{app_name}-role",
        "artifactStore": {"type": "S3", "location": f"{app_name}-artifacts"},
        "stages": [
            {"name": "Source", "actions": [{
                "name": "Source", "actionTypeId": {"category": "Source", "owner": "AWS",
                                                   "provider": "S3", "version": "1"},
                "configuration": {"S3Bucket": f"{app_name}-source", "S3ObjectKey": "app.zip"},
                "outputArtifacts": [{"name": "Src"}]}]},
            {"name": "Production",
             "beforeEntry": {"conditions": [{"result": "FAIL", "rules": [gate]}]},
             "actions": [{
                 "name": "Deploy", "actionTypeId": {"category": "Deploy", "owner": "AWS",
                                                    "provider": "S3", "version": "1"},
                 "configuration": {"BucketName": f"{app_name}-site", "Extract": "true"},
                 "inputArtifacts": [{"name": "Src"}]}]}]})
    wait_until(lambda: gates.gate_states(session, name),
               lambda states: any(g.waiting and "is ALARM" in g.why() for g in states),
               what="the gate to wait on the alarm", interval=0.1)
    return name, alarm


def test_a_waiting_gate_says_why_and_needs_a_reason_to_override(session, app_name, held):
    pipeline, alarm = held
    (state,) = gates.gate_states(session, pipeline)
    assert state.row()[:3] == ("Production", "beforeEntry", "waiting")
    assert f"Alarm {alarm} is ALARM" in state.why()
    assert state.condition_type == "BEFORE_ENTRY" and state.execution_id
    text = gates.run_gate_text(session, pipeline, state.execution_id)
    assert text.startswith("gate Production beforeEntry: waiting: AlarmQuiet: Alarm")
    assert gates.run_gate_text(session, pipeline, "other") == (
        "no release gate has run for this execution")
    rows = gates.waiting_rows(session, [pipeline])
    assert rows[0][:3] == (pipeline, "Production", "beforeEntry")
    assert gates.apply_override(session, [pipeline], "", "", f"{app_name}-artifacts") is None
    with pytest.raises(ParameterError) as err:
        gates.apply_override(session, [pipeline], "Production", "  ", f"{app_name}-artifacts")
    assert err.value.field == "override_reason"
    record = gates.apply_override(session, [pipeline], "Production", "false alarm, INC-7",
                                  f"{app_name}-artifacts")
    assert (record.decision, record.stage, record.summary) == ("override", "Production",
                                                               "false alarm, INC-7")
    trail = audit.read_audit_trail(session, f"{app_name}-artifacts", pipeline)
    assert [(r.decision, r.summary) for r in trail] == [("override", "false alarm, INC-7")]
    # named as an approval names its approver (the OS user on the local AWS, not user/moto)
    assert trail[0].who == audit.operator_identity(session) != session.caller_arn()
    wait_until(lambda: gates.gate_states(session, pipeline)[0].status,
               lambda status: status == "Overridden", what="the override", interval=0.1)
    assert gates.gate_counts(session, pipeline).row() == (0, 0, 0)
    with pytest.raises(ParameterError) as err:  # nothing waits any more
        gates.apply_override(session, [pipeline], "Production", "again", f"{app_name}-artifacts")
    assert err.value.field == "override_stage"


def test_no_gate_yet_is_said_plainly(session, app_name):
    assert gates.gate_rows([]) == [("-", "-", "-", "no release gate has run yet")]
    with pytest.raises(ParameterError):
        gates.find_gate([], "Deploy-production")
