"""V2 stage conditions on the local AWS, from AWS's documented semantics, through boto3.

Rows and scenarios cite the AWS CodePipeline User Guide ("UG") or API Reference ("API"):
- UG "Configure conditions for a stage" (stage-conditions.html): Entry conditions allow Fail or
  Skip; On Failure Rollback; On Success Rollback; "if one rule fails in the condition, then the
  condition fails"; "when the criteria are not met, the specified result engages".
- UG "Configure automatic retry for a stage" / API FailureConditions.retryConfiguration.
- UG rule reference pages (CloudWatchAlarm, DeploymentWindow, VariableCheck).
- API OverrideStageCondition, ListRuleExecutions, StageState.
Rows marked "unverified reading" rest on our reading where the documentation is silent.
"""

from __future__ import annotations

import json
import os
import threading
import time

import botocore.session
import pytest
from botocore.exceptions import ClientError
from botocore.validate import ParamValidator
from helpers import (
    aws_action,
    declared_pipeline,
    make_zip,
    receive_messages,
    wait_until,
)

from runbook_lib.local.codebuild import sandbox
from runbook_lib.local.codepipeline.actions import ActionOutcome, ArtifactRef, register
from runbook_lib.local.codepipeline.rules import CLOCK_ENV, MINUTE_ENV

FAILS: dict[str, int] = {}  # step key -> how many more runs fail
RUNS: dict[str, int] = {}  # step key -> runs so far
_MODEL = botocore.session.get_session().get_service_model("codepipeline")


@register("Source", "GateTestSource")
class _GateSource:
    def run(self, ctx):
        refs = []
        for name in ctx.output_artifact_names:
            ref = ArtifactRef(name, ctx.artifact_bucket, ctx.new_artifact_key(name))
            ctx.aws.client("s3", ctx.region).put_object(Bucket=ref.bucket, Key=ref.key,
                                                        Body=make_zip({"content.txt": "src"}))
            refs.append(ref)
        return ActionOutcome("Succeeded", "ok", refs, {"BranchName": "main"},
                             revision={"revisionId": "abc123", "created": time.time()})


@register("Deploy", "GateTestStep")
class _GateStep:
    """Configuration ``Key`` counts runs; ``FAILS[key]`` fails that many runs; ``FireAlarm``
    puts the named alarm in ALARM, as a bad deploy moves an application metric."""

    def run(self, ctx):
        key = ctx.configuration["Key"]
        RUNS[key] = RUNS.get(key, 0) + 1
        if ctx.configuration.get("FireAlarm"):
            ctx.aws.client("cloudwatch", ctx.region).set_alarm_state(
                AlarmName=ctx.configuration["FireAlarm"], StateValue="ALARM",
                StateReason="the deploy moved the error rate")
        if FAILS.get(key, 0) > 0:
            FAILS[key] -= 1
            return ActionOutcome("Failed", f"{key} failed on purpose")
        return ActionOutcome("Succeeded", "deployed")


# -- declarations -------------------------------------------------------------------------------


def rule(provider, name="Gate", **configuration):
    return {"name": name, "ruleTypeId": {"category": "Rule", "owner": "AWS",
                                         "provider": provider, "version": "1"},
            "configuration": configuration}


def variable_gate(name="Gate"):
    return rule("VariableCheck", name, Variable="#{variables.Gate}", Value="open",
                Operator="EQ")


def condition(result, *rules):
    return {"conditions": [{"result": result, "rules": list(rules)}]}


def deploy_stage(key, **blocks):
    return {"name": "Deploy", "actions": [{
        "name": "Deploy", "actionTypeId": {"category": "Deploy", "owner": "AWS",
                                           "provider": "GateTestStep", "version": "1"},
        "configuration": {"Key": key, **blocks.pop("config", {})},
        "inputArtifacts": [{"name": "Src"}]}], **blocks}


def after_stage(key):
    stage = deploy_stage(key)
    stage["name"] = "After"
    return stage


def declaration(session, app_name, stages, pipeline_type="V2"):
    source = {"name": "Source", "actions": [aws_action(
        "Source", "Source", "GateTestSource", outputArtifacts=[{"name": "Src"}])]}
    return declared_pipeline(session, app_name, f"{app_name}-gated", f"{app_name}-artifacts",
                             source, *stages, pipelineType=pipeline_type,
                             variables=[{"name": "Gate", "defaultValue": "open"}])


def create(session, app_name, stages):
    """Create the pipeline, wait for its first (CreatePipeline) run; return name, first id."""
    cp = session.client("codepipeline")
    pipeline = declaration(session, app_name, stages)
    cp.create_pipeline(pipeline=pipeline)
    first = executions(cp, pipeline["name"])[0]["pipelineExecutionId"]
    settle(cp, pipeline["name"])
    return pipeline["name"], first


# -- reading ------------------------------------------------------------------------------------


def executions(cp, pipeline):
    pages = cp.get_paginator("list_pipeline_executions").paginate(pipelineName=pipeline)
    return [e for page in pages for e in page["pipelineExecutionSummaries"]]


def settle(cp, pipeline, timeout=30.0, count=0):
    """Every execution has ended (and at least ``count`` exist: an automated rollback starts
    just after the execution it rolls back has ended)."""
    return wait_until(lambda: executions(cp, pipeline),
                    lambda rows: len(rows) >= count and all(
                        e["status"] not in ("InProgress", "Stopping") for e in rows),
                    timeout=timeout, what=f"{pipeline} to settle")


def stage_states(cp, pipeline):
    return {s["stageName"]: s for s in cp.get_pipeline_state(name=pipeline)["stageStates"]}


def rule_runs(cp, pipeline, execution_id):
    pages = cp.get_paginator("list_rule_executions").paginate(
        pipelineName=pipeline, filter={"pipelineExecutionId": execution_id})
    return [r for page in pages for r in page["ruleExecutionDetails"]]


def start(cp, pipeline, gate="open"):
    return cp.start_pipeline_execution(
        name=pipeline, variables=[{"name": "Gate", "value": gate}])["pipelineExecutionId"]


# -- the table ----------------------------------------------------------------------------------

OPEN, SHUT = "open", "shut"
TABLE = [
    # id, blocks on Deploy, gate value, deploy fails, -> Deploy stage, execution, After ran,
    # follow-up trigger, source
    ("entry-fail-passes", {"beforeEntry": condition("FAIL", variable_gate())}, OPEN, False,
     "Succeeded", "Succeeded", True, None, "UG stage-conditions: Entry, condition met"),
    ("entry-fail-fails", {"beforeEntry": condition("FAIL", variable_gate())}, SHUT, False,
     "Failed", "Failed", False, None, "UG stage-conditions: Entry result Fail"),
    ("entry-skip-fails", {"beforeEntry": condition("SKIP", variable_gate())}, SHUT, False,
     "Skipped", "Succeeded", True, None, "UG stage-conditions: Entry result Skip; API "
     "StageExecutionStatus Skipped"),
    ("entry-skip-passes", {"beforeEntry": condition("SKIP", variable_gate())}, OPEN, False,
     "Succeeded", "Succeeded", True, None, "UG stage-conditions: Entry, condition met"),
    ("success-rollback-fails", {"onSuccess": condition("ROLLBACK", variable_gate())}, SHUT,
     False, "ROLLBACK", "Failed", False, "AutomatedRollback",
     "UG stage-conditions: On Success result Rollback"),
    ("success-rollback-passes", {"onSuccess": condition("ROLLBACK", variable_gate())}, OPEN,
     False, "Succeeded", "Succeeded", True, None, "UG stage-conditions: On Success, met"),
    ("success-fail-fails", {"onSuccess": condition("FAIL", variable_gate())}, SHUT, False,
     "Failed", "Failed", False, None, "API Result enum FAIL on SuccessConditions "
     "(unverified reading: the stage fails, no rollback)"),
    ("failure-rollback-no-condition", {"onFailure": {"result": "ROLLBACK"}}, OPEN, True,
     "ROLLBACK", "Failed", False, "AutomatedRollback", "UG stage-conditions: On Failure "
     "result Rollback"),
    ("failure-rollback-condition-fails",
     {"onFailure": {"result": "ROLLBACK", **condition("ROLLBACK", variable_gate())}}, SHUT,
     True, "ROLLBACK", "Failed", False, "AutomatedRollback",
     "UG stage-conditions: On Failure conditions (unverified reading: rollback engages when "
     "the condition fails)"),
    ("failure-rollback-condition-passes",
     {"onFailure": {"result": "ROLLBACK", **condition("ROLLBACK", variable_gate())}}, OPEN,
     True, "Failed", "Failed", False, None,
     "UG stage-conditions: criteria met, result does not engage (unverified reading)"),
    ("failure-fail", {"onFailure": {"result": "FAIL"}}, OPEN, True, "Failed", "Failed", False,
     None, "API FailureConditions.result FAIL (unverified reading: the stage stays failed)"),
]


@pytest.mark.parametrize(
    "blocks,gate,deploy_fails,stage_status,execution_status,after_ran,follow_up,source",
    [row[1:] for row in TABLE], ids=[row[0] for row in TABLE])
def test_condition_table(session, app_name, blocks, gate, deploy_fails, stage_status,
                         execution_status, after_ran, follow_up, source):
    cp = session.client("codepipeline")
    pipeline, first = create(session, app_name, [deploy_stage(f"{app_name}-d", **blocks),
                                                 after_stage(f"{app_name}-a")])
    assert [e["status"] for e in executions(cp, pipeline)] == ["Succeeded"], source
    after_runs = RUNS.get(f"{app_name}-a", 0)
    FAILS[f"{app_name}-d"] = 1 if deploy_fails else 0
    execution_id = start(cp, pipeline, gate)
    rows = settle(cp, pipeline, count=3 if follow_up else 2)
    mine = next(e for e in rows if e["pipelineExecutionId"] == execution_id)
    assert mine["status"] == execution_status, source
    assert (RUNS.get(f"{app_name}-a", 0) > after_runs) is after_ran, source
    later = [e for e in rows if e["trigger"]["triggerType"] == "AutomatedRollback"]
    assert [e["trigger"]["triggerType"] for e in later] == ([follow_up] if follow_up else [])
    deploy = stage_states(cp, pipeline)["Deploy"]["latestExecution"]
    if follow_up:
        assert later[0]["rollbackMetadata"]["rollbackTargetPipelineExecutionId"] == first
        assert deploy == {"pipelineExecutionId": later[0]["pipelineExecutionId"],
                          "status": "Succeeded", "type": "ROLLBACK"}, source
    else:
        assert deploy == {"pipelineExecutionId": execution_id, "status": stage_status,
                          "type": "STANDARD"}, source


# -- scenarios ----------------------------------------------------------------------------------


@pytest.fixture
def alarm(session, app_name):
    """A real alarm in the local CloudWatch, OK to begin with."""
    cw = session.client("cloudwatch")
    name = f"{app_name}-errors"
    cw.put_metric_alarm(AlarmName=name, Namespace="SampleApp", MetricName="Errors",
                        Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1,
                        ComparisonOperator="GreaterThanOrEqualToThreshold")
    cw.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="quiet")
    return name


@pytest.fixture
def short_minutes(monkeypatch):
    """A rule's minute lasts 0.2 s on the in-process local AWS."""
    monkeypatch.setenv(MINUTE_ENV, "0.2")


def test_alarm_gate_blocks_then_override_lets_the_next_run_through(
        session, app_name, alarm, short_minutes):
    cp, cw = session.client("codepipeline"), session.client("cloudwatch")
    gate = rule("CloudWatchAlarm", "ErrorsQuiet", AlarmName=alarm, WaitTime="1")
    pipeline, _ = create(session, app_name, [
        deploy_stage(f"{app_name}-d", beforeEntry=condition("FAIL", gate))])
    cw.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="errors")
    blocked = start(cp, pipeline)
    settle(cp, pipeline)
    state = stage_states(cp, pipeline)["Deploy"]
    assert state["latestExecution"]["status"] == "Failed"
    assert state["beforeEntryConditionState"]["latestExecution"]["status"] == "Failed"
    runs = rule_runs(cp, pipeline, blocked)
    assert [(r["ruleName"], r["status"]) for r in runs] == [("ErrorsQuiet", "Failed")]
    assert alarm in runs[0]["output"]["executionResult"]["externalExecutionSummary"]
    assert runs[0]["input"]["ruleTypeId"]["provider"] == "CloudWatchAlarm"
    with pytest.raises(ClientError) as err:  # a condition that has ended cannot be overridden
        cp.override_stage_condition(pipelineName=pipeline, stageName="Deploy",
                                    pipelineExecutionId=blocked, conditionType="BEFORE_ENTRY")
    assert err.value.response["Error"]["Code"] == "ConditionNotOverridableException"

    gate["configuration"]["WaitTime"] = "300"  # the next run waits long enough to override
    current = cp.get_pipeline(name=pipeline)["pipeline"]
    current["stages"][1]["beforeEntry"] = condition("FAIL", gate)
    cp.update_pipeline(pipeline=current)
    waiting = start(cp, pipeline)
    wait_until(lambda: stage_states(cp, pipeline)["Deploy"].get("beforeEntryConditionState", {}),
             lambda s: s.get("latestExecution", {}).get("status") == "InProgress",
             what="the gate to wait on the alarm")
    cp.override_stage_condition(pipelineName=pipeline, stageName="Deploy",
                                pipelineExecutionId=waiting, conditionType="BEFORE_ENTRY")
    settle(cp, pipeline)
    state = stage_states(cp, pipeline)["Deploy"]
    assert state["latestExecution"] == {"pipelineExecutionId": waiting, "status": "Succeeded",
                                        "type": "STANDARD"}
    assert state["beforeEntryConditionState"]["latestExecution"]["status"] == "Overridden"
    assert [r["status"] for r in rule_runs(cp, pipeline, waiting)] == ["Abandoned"]


def test_post_deploy_alarm_rolls_back_to_the_last_good_release(
        session, app_name, alarm, short_minutes):
    cp = session.client("codepipeline")
    watch = rule("CloudWatchAlarm", "BakeTime", AlarmName=alarm, WaitTime="2")
    pipeline, good = create(session, app_name, [
        deploy_stage(f"{app_name}-d", onSuccess=condition("ROLLBACK", watch))])
    bad_deploy = cp.get_pipeline(name=pipeline)["pipeline"]
    bad_deploy["stages"][1]["actions"][0]["configuration"]["FireAlarm"] = alarm
    cp.update_pipeline(pipeline=bad_deploy)
    bad = start(cp, pipeline)
    rows = settle(cp, pipeline, count=3)
    by_id = {e["pipelineExecutionId"]: e for e in rows}
    assert by_id[bad]["status"] == "Failed"
    assert "BakeTime" in by_id[bad]["statusSummary"]
    rollback = next(e for e in rows if e["executionType"] == "ROLLBACK")
    assert rollback["trigger"] == {"triggerType": "AutomatedRollback", "triggerDetail": bad}
    assert rollback["rollbackMetadata"]["rollbackTargetPipelineExecutionId"] == good
    assert rollback["status"] == "Succeeded"
    assert [r["status"] for r in rule_runs(cp, pipeline, bad)] == ["Failed"]


@pytest.mark.parametrize("clock,entered", [
    ("2026-11-25T10:30:00+00:00", True),   # a Wednesday, 11:30 in Paris: inside
    ("2026-11-28T10:30:00+00:00", False),  # a Saturday: outside
], ids=["inside", "outside"])
def test_deployment_window(session, app_name, monkeypatch, clock, entered):
    monkeypatch.setenv(CLOCK_ENV, clock)
    cp = session.client("codepipeline")
    window = rule("DeploymentWindow", "OfficeHours", Cron="* * 9-16 ? * MON-FRI *",
                  TimeZone="Europe/Paris")
    cfg = declaration(session, app_name, [
        deploy_stage(f"{app_name}-d", beforeEntry=condition("FAIL", window))])
    cp.create_pipeline(pipeline=cfg)
    first = executions(cp, cfg["name"])[0]["pipelineExecutionId"]
    if entered:
        settle(cp, cfg["name"])
        assert stage_states(cp, cfg["name"])["Deploy"]["latestExecution"]["status"] == \
            "Succeeded"
        return
    gate = wait_until(lambda: stage_states(cp, cfg["name"])["Deploy"],
                    lambda s: "next opening" in s.get("beforeEntryConditionState", {}).get(
                        "latestExecution", {}).get("summary", ""), what="the window to wait")
    assert "2026-11-30 09:00 CET" in gate["beforeEntryConditionState"]["latestExecution"][
        "summary"]
    assert "latestExecution" not in gate  # not entered
    cp.override_stage_condition(pipelineName=cfg["name"], stageName="Deploy",
                                pipelineExecutionId=first, conditionType="BEFORE_ENTRY")
    settle(cp, cfg["name"])
    assert stage_states(cp, cfg["name"])["Deploy"]["latestExecution"]["status"] == "Succeeded"


@pytest.mark.parametrize("failures,stage_status,runs", [
    (1, "Succeeded", 2), (5, "Failed", 2)], ids=["recovers", "fails-again"])
def test_exactly_one_automatic_retry(session, app_name, failures, stage_status, runs):
    cp = session.client("codepipeline")
    key = f"{app_name}-d"
    FAILS[key] = failures
    pipeline, first = create(session, app_name, [deploy_stage(key, onFailure={
        "result": "RETRY", "retryConfiguration": {"retryMode": "FAILED_ACTIONS"}})])
    state = stage_states(cp, pipeline)["Deploy"]
    assert state["latestExecution"]["status"] == stage_status
    assert state["retryStageMetadata"] == {"autoStageRetryAttempt": 1,
                                           "latestRetryTrigger": "AutomatedStageRetry"}
    assert RUNS[key] == runs
    pages = cp.get_paginator("list_action_executions").paginate(
        pipelineName=pipeline, filter={"pipelineExecutionId": first})
    deploys = [d for page in pages for d in page["actionExecutionDetails"]
               if d["stageName"] == "Deploy"]
    assert len(deploys) == runs


def test_variable_check_skips_a_stage_and_the_run_goes_on(session, app_name):
    cp = session.client("codepipeline")
    skip_unless_main = rule("VariableCheck", "OnlyMain", Variable="#{variables.Gate}",
                            Value="ma.n", Operator="MATCHES")
    pipeline, _ = create(session, app_name, [
        deploy_stage(f"{app_name}-d", beforeEntry=condition("SKIP", skip_unless_main)),
        after_stage(f"{app_name}-a")])
    execution_id = start(cp, pipeline, gate="feature")
    settle(cp, pipeline)
    states = stage_states(cp, pipeline)
    assert states["Deploy"]["latestExecution"]["status"] == "Skipped"
    assert states["After"]["latestExecution"] == {"pipelineExecutionId": execution_id,
                                                  "status": "Succeeded", "type": "STANDARD"}
    assert "does not hold" in rule_runs(cp, pipeline, execution_id)[0]["output"][
        "executionResult"]["externalExecutionSummary"]


def test_lambda_invoke_fails_with_a_clear_message(session, app_name):
    cp = session.client("codepipeline")
    pipeline, first = create(session, app_name, [deploy_stage(
        f"{app_name}-d", beforeEntry=condition("FAIL", rule("LambdaInvoke", FunctionName="f")))])
    run = rule_runs(cp, pipeline, first)[0]
    assert run["status"] == "Failed"
    assert run["output"]["executionResult"]["errorDetails"]["code"] == "NotSupported"


def test_commands_rule_runs_in_the_build_shell(session, app_name):
    cp = session.client("codepipeline")
    commands = rule("Commands", "Smoke")
    commands["commands"] = ["echo smoke-ok", "test 1 -eq 2"]
    pipeline, first = create(session, app_name, [
        deploy_stage(f"{app_name}-d", beforeEntry=condition("FAIL", commands))])
    run = rule_runs(cp, pipeline, first)[0]
    assert run["status"] == "Failed"
    summary = run["output"]["executionResult"]["externalExecutionSummary"]
    assert "Command 2" in summary and "smoke-ok" in summary


# -- declarations refused, types listed, shapes -------------------------------------------------

REFUSED = [
    ("v1-with-conditions", "V1", {"beforeEntry": condition("FAIL", variable_gate())}),
    ("two-conditions", "V2", {"beforeEntry": {"conditions": [
        {"result": "FAIL", "rules": [variable_gate()]},
        {"result": "FAIL", "rules": [variable_gate("Other")]}]}}),
    ("six-rules", "V2", {"beforeEntry": condition(
        "FAIL", *[variable_gate(f"G{i}") for i in range(6)])}),
    ("skip-with-alarm", "V2", {"beforeEntry": condition(
        "SKIP", rule("CloudWatchAlarm", AlarmName="a"))}),
    ("rollback-before-entry", "V2", {"beforeEntry": condition("ROLLBACK", variable_gate())}),
    ("skip-on-success", "V2", {"onSuccess": condition("SKIP", variable_gate())}),
    ("retry-with-conditions", "V2", {"onFailure": {
        "result": "RETRY", "retryConfiguration": {"retryMode": "FAILED_ACTIONS"},
        **condition("ROLLBACK", variable_gate())}}),
    ("unknown-rule", "V2", {"beforeEntry": condition("FAIL", rule("Nope"))}),
]


@pytest.mark.parametrize("pipeline_type,blocks", [r[1:] for r in REFUSED],
                         ids=[r[0] for r in REFUSED])
def test_invalid_declarations_are_refused(session, app_name, pipeline_type, blocks):
    cfg = declaration(session, app_name, [deploy_stage("x", **blocks)], pipeline_type)
    with pytest.raises(ClientError) as err:
        session.client("codepipeline").create_pipeline(pipeline=cfg)
    assert err.value.response["Error"]["Code"] == "InvalidStructureException"


def test_rule_types_are_listed(session):
    types = session.client("codepipeline").list_rule_types(ruleOwnerFilter="AWS")["ruleTypes"]
    providers = {t["id"]["provider"]: t for t in types}
    assert set(providers) >= {"CloudWatchAlarm", "DeploymentWindow", "VariableCheck",
                              "Commands", "LambdaInvoke"}
    names = [p["name"] for p in providers["CloudWatchAlarm"]["ruleConfigurationProperties"]]
    assert names == ["AlarmName", "AlarmStates", "WaitTime"]


def test_responses_match_botocore_shapes(session, app_name):
    """Raw JSON answers validated against the service model: no unknown or mistyped field."""
    cp = session.client("codepipeline")
    raw: dict[str, dict] = {}

    def keep(operation_model, response_dict, **_):
        raw[operation_model.name] = json.loads(response_dict["body"] or b"{}")

    cp.meta.events.register("before-parse.codepipeline.*", keep)
    pipeline, first = create(session, app_name, [
        deploy_stage(f"{app_name}-d", beforeEntry=condition("SKIP", variable_gate()),
                     onFailure={"result": "RETRY"})])
    start(cp, pipeline, gate="shut")
    settle(cp, pipeline)
    cp.get_pipeline_state(name=pipeline)
    cp.list_rule_executions(pipelineName=pipeline)
    cp.list_rule_types()
    for operation in ("GetPipelineState", "ListRuleExecutions", "ListRuleTypes"):
        shape = _MODEL.operation_model(operation).output_shape
        report = ParamValidator().validate(raw[operation], shape)
        assert not report.has_errors(), f"{operation}: {report.generate_report()}"
    assert "beforeEntryConditionState" in raw["GetPipelineState"]["stageStates"][1]


def test_list_rule_executions_errors(session, app_name):
    cp = session.client("codepipeline")
    pipeline, _ = create(session, app_name, [deploy_stage(f"{app_name}-d")])
    for kwargs, code in [({"pipelineName": "nope"}, "PipelineNotFoundException"),
                         ({"pipelineName": pipeline, "filter": {"pipelineExecutionId": "x"}},
                          "PipelineExecutionNotFoundException"),
                         ({"pipelineName": pipeline, "nextToken": "bogus"},
                          "InvalidNextTokenException")]:
        with pytest.raises(ClientError) as err:
            cp.list_rule_executions(**kwargs)
        assert err.value.response["Error"]["Code"] == code


def test_a_stop_cancels_a_waiting_gate(session, app_name, alarm, short_minutes):
    cp, cw = session.client("codepipeline"), session.client("cloudwatch")
    cw.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="errors")
    gate = rule("CloudWatchAlarm", AlarmName=alarm, WaitTime="300")
    cfg = declaration(session, app_name, [
        deploy_stage(f"{app_name}-d", beforeEntry=condition("FAIL", gate))])
    cp.create_pipeline(pipeline=cfg)
    first = executions(cp, cfg["name"])[0]["pipelineExecutionId"]
    wait_until(lambda: stage_states(cp, cfg["name"])["Deploy"], lambda s: s.get(
        "beforeEntryConditionState", {}).get("latestExecution", {}).get("status") ==
        "InProgress", what="the gate to wait")
    done = threading.Event()
    cp.stop_pipeline_execution(pipelineName=cfg["name"], pipelineExecutionId=first,
                               reason="stop")
    rows = settle(cp, cfg["name"])
    done.set()
    assert rows[0]["status"] == "Stopped"
    assert [r["status"] for r in rule_runs(cp, cfg["name"], first)] == ["Abandoned"]


def test_commands_action_exports_variables_a_rule_then_checks(session, app_name):
    cp = session.client("codepipeline")
    compute = {"name": "Measure", "actions": [{
        "name": "Measure", "actionTypeId": {"category": "Compute", "owner": "AWS",
                                            "provider": "Commands", "version": "1"},
        "commands": ["test -f content.txt", "export ERRORS=0"], "outputVariables": ["ERRORS"],
        "namespace": "Measure", "inputArtifacts": [{"name": "Src"}],
        "outputArtifacts": [{"name": "Measured"}]}]}
    quiet = rule("VariableCheck", "NoErrors", Variable="#{Measure.ERRORS}", Value="0",
                 Operator="EQ")
    pipeline, first = create(session, app_name, [
        compute, deploy_stage(f"{app_name}-d", beforeEntry=condition("FAIL", quiet))])
    states = stage_states(cp, pipeline)
    assert states["Measure"]["latestExecution"]["status"] == "Succeeded"
    assert states["Deploy"]["latestExecution"]["status"] == "Succeeded"
    run = rule_runs(cp, pipeline, first)[0]
    assert run["input"]["resolvedConfiguration"]["Variable"] == "0"


def _measure_stage(commands):
    return {"name": "Measure", "actions": [{
        "name": "Measure", "actionTypeId": {"category": "Compute", "owner": "AWS",
                                            "provider": "Commands", "version": "1"},
        "commands": commands, "inputArtifacts": [{"name": "Src"}]}]}


@pytest.fixture
def no_bubblewrap(monkeypatch):
    """This process's sandbox probe answers as a machine without user namespaces."""
    monkeypatch.setitem(sandbox._state, "support",
                        sandbox.Support(False, "user namespaces are disabled (test)"))
    monkeypatch.setitem(sandbox._state, "allow_unsandboxed", False)


def test_without_a_sandbox_commands_are_refused_saying_why(session, app_name, no_bubblewrap):
    cp = session.client("codepipeline")
    pipeline, first = create(session, app_name, [_measure_stage(["touch /tmp/ran"])])
    rows = cp.list_action_executions(pipelineName=pipeline, filter={
        "pipelineExecutionId": first})["actionExecutionDetails"]
    run = next(r for r in rows if r["actionName"] == "Measure")
    summary = run["output"]["executionResult"]["externalExecutionSummary"]
    assert run["status"] == "Failed"
    assert "user namespaces are disabled" in summary and "--unsandboxed-builds" in summary


def test_unsandboxed_commands_still_get_a_clean_environment(session, app_name, no_bubblewrap,
                                                            monkeypatch):
    sandbox.allow_unsandboxed(True)
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_unsandboxedmarker0123456789abcdef")
    assert os.environ.get("AWS_SECRET_ACCESS_KEY")  # the fixture's operator key pair
    clean = ["test -z \"$GITHUB_TOKEN\"", "test -z \"$AWS_SECRET_ACCESS_KEY\"",
             "test -z \"$AWS_ACCESS_KEY_ID\"", "test -n \"$AWS_CONTAINER_CREDENTIALS_FULL_URI\"",
             "echo \"$CODEBUILD_SRC_DIR\" | grep -q /codebuild/output/src"]
    gate = rule("Commands", "Clean")
    gate["commands"] = clean
    pipeline, first = create(session, app_name, [
        _measure_stage([*clean, "test -f content.txt"]), deploy_stage(f"{app_name}-d",
                                            beforeEntry=condition("FAIL", gate))])
    states = stage_states(session.client("codepipeline"), pipeline)
    run = rule_runs(session.client("codepipeline"), pipeline, first)[0]
    assert states["Measure"]["latestExecution"]["status"] == "Succeeded", states["Measure"]
    assert run["status"] == "Succeeded", run["output"]


def test_condition_and_rule_changes_reach_eventbridge(session, app_name):
    sqs, events = session.client("sqs"), session.client("events")
    url = sqs.create_queue(QueueName=f"{app_name}-gates")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"]
    pipeline_name = f"{app_name}-gated"
    events.put_rule(Name=f"{app_name}-gates", EventPattern=json.dumps({
        "source": ["aws.codepipeline"],
        "detail-type": ["CodePipeline Rule Execution State Change",
                        "CodePipeline Stage Condition State Change"],
        "detail": {"pipeline": [pipeline_name], "state": ["FAILED"]}}))
    events.put_targets(Rule=f"{app_name}-gates", Targets=[{"Id": "q", "Arn": arn}])
    cp = session.client("codepipeline")
    pipeline, _ = create(session, app_name, [
        deploy_stage(f"{app_name}-d", beforeEntry=condition("FAIL", variable_gate()))])
    start(cp, pipeline, gate="shut")
    settle(cp, pipeline)
    bodies = [json.loads(m["Body"]) for m in receive_messages(
        sqs, url, lambda got: len(got) >= 2, what="the rule's and the condition's FAILED events")]
    kinds = {b["detail-type"]: b["detail"] for b in bodies}
    rule_detail = kinds["CodePipeline Rule Execution State Change"]
    assert (rule_detail["stage"], rule_detail["rule"], rule_detail["state"]) == (
        "Deploy", "Gate", "FAILED")
    assert rule_detail["type"]["provider"] == "VariableCheck"
    condition_detail = kinds["CodePipeline Stage Condition State Change"]
    assert (condition_detail["condition-type"], condition_detail["result"]) == (
        "beforeEntry", "FAIL")
    assert all(b["source"] == "aws.codepipeline" for b in bodies)


def test_retrying_a_stage_its_gate_failed_meets_the_gate_again(session, app_name):
    """A retry is no way around a gate (unverified reading: the guide does not say)."""
    cp = session.client("codepipeline")
    pipeline, _ = create(session, app_name, [
        deploy_stage(f"{app_name}-d", beforeEntry=condition("FAIL", variable_gate()))])
    blocked = start(cp, pipeline, gate="shut")
    settle(cp, pipeline)
    cp.retry_stage_execution(pipelineName=pipeline, stageName="Deploy",
                             pipelineExecutionId=blocked, retryMode="FAILED_ACTIONS")
    rows = settle(cp, pipeline)
    assert next(e for e in rows if e["pipelineExecutionId"] == blocked)["status"] == "Failed"
    assert [r["status"] for r in rule_runs(cp, pipeline, blocked)] == ["Failed", "Failed"]
    assert stage_states(cp, pipeline)["Deploy"]["retryStageMetadata"] == {
        "manualStageRetryAttempt": 1, "latestRetryTrigger": "ManualStageRetry"}
