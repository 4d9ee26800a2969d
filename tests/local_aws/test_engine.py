"""Pipeline executions on the local AWS really run: stages, runOrder, variables, modes,
transitions, stop, retry, rollback and restart, seen through an operator's boto3 client.

The actions here are test-only executors (providers no real module uses) that the in-process
server runs: each can be held at a gate, made to fail, and records what it was given.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest
from botocore.exceptions import ClientError
from helpers import declared_pipeline, make_zip, wait_for_execution, wait_until

from runbook_lib.core import local_endpoint
from runbook_lib.core.session import AwsSession
from runbook_lib.local.codepipeline.actions import ActionOutcome, ArtifactRef, register
from runbook_lib.local.server import process

GATES: dict[str, threading.Event] = {}
FAIL: dict[str, bool | int] = {}  # action key -> fail next runs (True: all, n: the next n)
SEEN: list[dict] = []  # what each test step was given


@register("Source", "EngineTestSource")
class _TestSource:
    def run(self, ctx):
        commit = (ctx.source_revision or {}).get("COMMIT_ID", "c0ffee")
        outputs = []
        for name in ctx.output_artifact_names:
            ref = ArtifactRef(name, ctx.artifact_bucket, ctx.new_artifact_key(name))
            ctx.aws.client("s3", ctx.region).put_object(Bucket=ref.bucket, Key=ref.key,
                                                        Body=make_zip({"content.txt": commit}))
            outputs.append(ref)
        return ActionOutcome("Succeeded", f"commit {commit}", outputs,
                             {"CommitId": commit, "BranchName": "main"},
                             revision={"revisionId": commit, "revisionSummary": "test commit",
                                       "created": time.time()})


@register("Build", "EngineTestStep")
@register("Deploy", "EngineTestStep")
class _TestStep:
    """Configuration: ``Key`` (names it in SEEN/FAIL), ``Gate`` (wait for it), ``Echo``."""

    def run(self, ctx):
        cfg = ctx.configuration
        gate = GATES.get(cfg.get("Gate", ""))
        if gate is not None:
            gate.wait(timeout=60)
        SEEN.append({"key": cfg.get("Key"), "execution": ctx.execution_id, "config": dict(cfg),
                     "inputs": [(a.name, a.key) for a in ctx.input_artifacts],
                     "commit": ctx.commit_id, "stop": ctx.stop_requested.is_set()})
        fails = FAIL.get(cfg.get("Key", ""))
        if fails:
            if fails is not True:  # a count: fail that many more runs
                FAIL[cfg["Key"]] = fails - 1
            return ActionOutcome("Failed", f"{cfg.get('Key')} failed on purpose")
        outputs = []
        for name in ctx.output_artifact_names:
            ref = ArtifactRef(name, ctx.artifact_bucket, ctx.new_artifact_key(name))
            ctx.aws.client("s3", ctx.region).put_object(Bucket=ref.bucket, Key=ref.key,
                                                        Body=make_zip({"content.txt": name}))
            outputs.append(ref)
        return ActionOutcome("Succeeded", "done", outputs, {"Echo": cfg.get("Echo", "")})


# -- helpers ------------------------------------------------------------------------------------


def type_id(category, provider):
    return {"category": category, "owner": "AWS", "provider": provider, "version": "1"}


def source_stage(provider="EngineTestSource"):
    return {"name": "Source", "actions": [{
        "name": "Source", "actionTypeId": type_id("Source", provider),
        "outputArtifacts": [{"name": "Src"}], "namespace": "SourceVariables"}]}


def step(name, key, category="Build", run_order=1, inputs=("Src",), outputs=(), **config):
    return {"name": name, "actionTypeId": type_id(category, "EngineTestStep"),
            "runOrder": run_order, "configuration": {"Key": key, **config},
            "inputArtifacts": [{"name": n} for n in inputs],
            "outputArtifacts": [{"name": n} for n in outputs]}


def make_pipeline(session, app_name, stages, **extra):
    """Role, artifact bucket and pipeline; returns the pipeline name."""
    name = f"{app_name}-pipeline{extra.pop('suffix', '')}"
    session.client("codepipeline").create_pipeline(pipeline=declared_pipeline(
        session, app_name, name, f"{app_name}-artifacts", *stages,
        **{"pipelineType": "V2", **extra}))
    return name


def execution(cp, pipeline, execution_id):
    return cp.get_pipeline_execution(pipelineName=pipeline,
                                     pipelineExecutionId=execution_id)["pipelineExecution"]


def wait_status(cp, pipeline, execution_id, *statuses, timeout=30.0):
    return wait_for_execution(cp, pipeline, execution_id, *statuses, timeout=timeout)


def actions(cp, pipeline, execution_id=None):
    kwargs = {"filter": {"pipelineExecutionId": execution_id}} if execution_id else {}
    pages = cp.get_paginator("list_action_executions").paginate(pipelineName=pipeline, **kwargs)
    return [d for page in pages for d in page["actionExecutionDetails"]]


def by_action(details):
    return {d["actionName"]: d for d in details}


@pytest.fixture
def gate(app_name):
    """A gate test steps wait at; opened at teardown so no thread is left waiting."""
    GATES[app_name] = threading.Event()
    yield GATES[app_name]
    GATES.pop(app_name).set()


# -- runs ---------------------------------------------------------------------------------------


def test_runs_to_succeeded_with_real_timings_and_artifacts(session, app_name):
    cp = session.client("codepipeline")
    pipeline = make_pipeline(session, app_name, [
        source_stage(),
        {"name": "Build", "actions": [step("Build", f"{app_name}-b", outputs=("Out",))]},
        {"name": "Deploy", "actions": [step("Deploy", f"{app_name}-d", "Deploy",
                                            inputs=("Out",))]}])
    # A pipeline whose source can run locally starts once when created, as on AWS.
    first = cp.list_pipeline_executions(pipelineName=pipeline)["pipelineExecutionSummaries"]
    assert [e["trigger"]["triggerType"] for e in first] == ["CreatePipeline"]
    wait_status(cp, pipeline, first[0]["pipelineExecutionId"], "Succeeded")

    execution_id = cp.start_pipeline_execution(name=pipeline)["pipelineExecutionId"]
    done = wait_status(cp, pipeline, execution_id, "Succeeded")
    assert done["trigger"]["triggerType"] == "StartPipelineExecution"
    assert done["artifactRevisions"][0]["revisionId"] == "c0ffee"
    details = by_action(actions(cp, pipeline, execution_id))
    source, build, deploy = details["Source"], details["Build"], details["Deploy"]
    for detail in (source, build, deploy):
        assert detail["status"] == "Succeeded"
        assert detail["startTime"] <= detail["lastUpdateTime"]
    assert source["lastUpdateTime"] <= build["startTime"] <= deploy["startTime"]
    out = build["output"]["outputArtifacts"][0]
    assert deploy["input"]["inputArtifacts"] == [out]
    assert build["input"]["inputArtifacts"][0] == source["output"]["outputArtifacts"][0]
    assert [(s["stageName"], s["latestExecution"]["status"]) for s in
            cp.get_pipeline_state(name=pipeline)["stageStates"]] == [
        ("Source", "Succeeded"), ("Build", "Succeeded"), ("Deploy", "Succeeded")]
    summary = cp.list_pipeline_executions(pipelineName=pipeline)["pipelineExecutionSummaries"][0]
    assert summary["pipelineExecutionId"] == execution_id
    assert summary["startTime"] < summary["lastUpdateTime"]
    assert summary["sourceRevisions"][0]["revisionId"] == "c0ffee"


def test_actions_of_one_run_order_run_in_parallel_and_the_next_waits(session, app_name, gate):
    cp = session.client("codepipeline")
    pipeline = make_pipeline(session, app_name, [source_stage(), {"name": "Build", "actions": [
        step("A", f"{app_name}-a", Gate=app_name), step("B", f"{app_name}-b", Gate=app_name),
        step("C", f"{app_name}-c", run_order=2)]}])
    created = cp.list_pipeline_executions(pipelineName=pipeline)["pipelineExecutionSummaries"]
    execution_id = created[0]["pipelineExecutionId"]
    both = wait_until(lambda: by_action(actions(cp, pipeline, execution_id)),
                    lambda d: d.get("A", {}).get("status") == "InProgress"
                    and d.get("B", {}).get("status") == "InProgress", what="A and B running")
    assert "C" not in both
    gate.set()
    wait_status(cp, pipeline, execution_id, "Succeeded")
    details = by_action(actions(cp, pipeline, execution_id))
    assert details["C"]["startTime"] >= max(details["A"]["lastUpdateTime"],
                                            details["B"]["lastUpdateTime"])


def test_variables_namespaces_and_source_revisions_resolve(session, app_name):
    cp = session.client("codepipeline")
    echo = "#{SourceVariables.CommitId}/#{variables.Env}/#{codepipeline.PipelineExecutionId}"
    pipeline = make_pipeline(session, app_name, [source_stage(), {"name": "Build", "actions": [
        {**step("Build", f"{app_name}-b", Echo=echo), "namespace": "BuildVariables"}]},
        {"name": "Deploy", "actions": [step("Deploy", f"{app_name}-d", "Deploy",
                                            Echo="#{BuildVariables.Echo}")]}],
        variables=[{"name": "Env", "defaultValue": "staging"}])
    execution_id = cp.start_pipeline_execution(
        name=pipeline, variables=[{"name": "Env", "value": "prod"}],
        sourceRevisions=[{"actionName": "Source", "revisionType": "COMMIT_ID",
                          "revisionValue": "abc123"}])["pipelineExecutionId"]
    done = wait_status(cp, pipeline, execution_id, "Succeeded")
    assert done["variables"] == [{"name": "Env", "resolvedValue": "prod"}]
    details = by_action(actions(cp, pipeline, execution_id))
    expected = f"abc123/prod/{execution_id}"
    assert details["Build"]["input"]["resolvedConfiguration"]["Echo"] == expected
    assert details["Build"]["output"]["outputVariables"] == {"Echo": expected}
    assert details["Deploy"]["input"]["resolvedConfiguration"]["Echo"] == expected
    assert [s["commit"] for s in SEEN if s["execution"] == execution_id] == ["abc123"] * 2


@pytest.mark.parametrize("case, stage_action, summary_names", [
    ("unresolvable variable", lambda key: step("Build", key, Echo="#{Nowhere.Thing}"),
     "Nowhere.Thing"),
    ("provider the local AWS cannot run", lambda key: {  # an AWS type, with no local executor
        "name": "Build", "actionTypeId": type_id("Build", "ECRBuildAndPublish"), "runOrder": 1,
        "configuration": {"ECRRepositoryName": "app"},
        "inputArtifacts": [{"name": "Src"}]}, "ECRBuildAndPublish"),
    ("executor failure", lambda key: step("Build", key, Fail="yes"), "failed on purpose"),
])
def test_a_failed_action_fails_the_run_and_later_stages_never_start(session, app_name, case,
                                                                    stage_action, summary_names):
    cp = session.client("codepipeline")
    FAIL[f"{app_name}-b"] = True
    pipeline = make_pipeline(session, app_name, [
        source_stage(), {"name": "Build", "actions": [stage_action(f"{app_name}-b")]},
        {"name": "Deploy", "actions": [step("Deploy", f"{app_name}-d", "Deploy")]}])
    execution_id = cp.start_pipeline_execution(name=pipeline)["pipelineExecutionId"]
    done = wait_status(cp, pipeline, execution_id, "Failed")
    assert summary_names in done["statusSummary"], case
    details = by_action(actions(cp, pipeline, execution_id))
    assert details["Build"]["status"] == "Failed"
    assert summary_names in details["Build"]["output"]["executionResult"][
        "externalExecutionSummary"]
    assert "Deploy" not in details
    state = {s["stageName"]: s for s in cp.get_pipeline_state(name=pipeline)["stageStates"]}
    assert state["Build"]["actionStates"][0]["latestExecution"]["status"] == "Failed"
    assert "latestExecution" not in state["Deploy"]


def test_state_changes_reach_eventbridge_rules_in_codepipelines_shapes(session, app_name):
    sqs, events = session.client("sqs"), session.client("events")
    queue = sqs.create_queue(QueueName=f"{app_name}-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    pipeline = f"{app_name}-pipeline"
    events.put_rule(Name=f"{app_name}-all", EventPattern=json.dumps(
        {"source": ["aws.codepipeline"], "detail": {"pipeline": [pipeline]}}))
    events.put_targets(Rule=f"{app_name}-all", Targets=[{"Id": "q", "Arn": queue_arn}])
    cp = session.client("codepipeline")
    make_pipeline(session, app_name, _two_stage(app_name))
    wait_status(cp, pipeline, _created(cp, pipeline), "Succeeded")
    received: list[dict] = []

    def drain():
        for message in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get(
                "Messages", []):
            received.append(json.loads(message["Body"]))
        return received

    wanted = {("Pipeline", None, None, "STARTED"), ("Pipeline", None, None, "SUCCEEDED"),
              ("Stage", "Source", None, "STARTED"), ("Stage", "Build", None, "SUCCEEDED"),
              ("Action", "Build", "Build", "STARTED"), ("Action", "Build", "Build", "SUCCEEDED")}

    def kinds(got):
        return {(e["detail-type"].split()[1], e["detail"].get("stage"),
                 e["detail"].get("action"), e["detail"]["state"]) for e in got}

    wait_until(drain, lambda got: kinds(got) >= wanted, what="the run's state-change events")
    action = next(e for e in received if e["detail"].get("action") == "Build"
                  and e["detail"]["state"] == "SUCCEEDED")
    assert action["source"] == "aws.codepipeline"
    assert action["resources"] == [f"arn:aws:codepipeline:us-east-1:123456789012:{pipeline}"]
    assert action["detail"]["type"] == type_id("Build", "EngineTestStep") | {"owner": "AWS"}
    assert action["detail"]["input-artifacts"][0]["name"] == "Src"
    assert action["detail"]["version"] == 1.0
    started = next(e for e in received if e["detail-type"].startswith("CodePipeline Pipeline"))
    assert started["detail"]["execution-trigger"]["trigger-type"] == "CreatePipeline"


# -- execution modes and transitions --------------------------------------------------------------


def _two_stage(app_name, gate_name=None):
    extra = {"Gate": gate_name} if gate_name else {}
    return [source_stage(), {"name": "Build", "actions": [step("Build", f"{app_name}-b",
                                                               **extra)]}]


def _created(cp, pipeline):
    return cp.list_pipeline_executions(pipelineName=pipeline)[
        "pipelineExecutionSummaries"][0]["pipelineExecutionId"]


def _in_stage(cp, pipeline, execution_id, stage):
    return wait_until(lambda: by_action(actions(cp, pipeline, execution_id)),
                    lambda d: d.get(stage, {}).get("status") == "InProgress",
                    what=f"{execution_id} in {stage}")


def _held_and_next(session, app_name, mode):
    """(client, pipeline, first run held in Build at the gate, a second run started)."""
    cp = session.client("codepipeline")
    pipeline = make_pipeline(session, app_name, _two_stage(app_name, app_name),
                             executionMode=mode)
    first = _created(cp, pipeline)
    _in_stage(cp, pipeline, first, "Build")
    return cp, pipeline, first, cp.start_pipeline_execution(name=pipeline)["pipelineExecutionId"]


def test_superseded_mode_newer_execution_takes_over_the_boundary(session, app_name, gate):
    cp, pipeline, first, second = _held_and_next(session, app_name, "SUPERSEDED")
    wait_until(lambda: cp.get_pipeline_state(name=pipeline)["stageStates"][1],
             lambda s: s.get("inboundExecution", {}).get("pipelineExecutionId") == second,
             what="second waiting at Build")
    third = cp.start_pipeline_execution(name=pipeline)["pipelineExecutionId"]
    wait_status(cp, pipeline, second, "Superseded")
    gate.set()
    wait_status(cp, pipeline, first, "Succeeded")
    wait_status(cp, pipeline, third, "Succeeded")


def test_queued_mode_runs_one_execution_at_a_time_in_order(session, app_name, gate):
    cp, pipeline, first, second = _held_and_next(session, app_name, "QUEUED")
    third = cp.start_pipeline_execution(name=pipeline)["pipelineExecutionId"]
    assert actions(cp, pipeline, second) == [] and actions(cp, pipeline, third) == []
    assert execution(cp, pipeline, second)["status"] == "InProgress"
    gate.set()
    for execution_id in (first, second, third):
        wait_status(cp, pipeline, execution_id, "Succeeded")
    starts = [min(d["startTime"] for d in actions(cp, pipeline, e)) for e in (second, third)]
    ends = [max(d["lastUpdateTime"] for d in actions(cp, pipeline, e)) for e in (first, second)]
    assert ends[0] <= starts[0] and ends[1] <= starts[1]


def test_parallel_mode_runs_executions_independently(session, app_name, gate):
    cp = session.client("codepipeline")
    stages = [source_stage(), {"name": "Build", "actions": [
        step("Build", f"{app_name}-b", Gate="#{variables.Gate}")]}]
    pipeline = make_pipeline(session, app_name, stages, executionMode="PARALLEL",
                             variables=[{"name": "Gate", "defaultValue": app_name}])
    held = _created(cp, pipeline)
    _in_stage(cp, pipeline, held, "Build")
    free = cp.start_pipeline_execution(name=pipeline, variables=[
        {"name": "Gate", "value": "none"}])["pipelineExecutionId"]
    wait_status(cp, pipeline, free, "Succeeded")
    assert execution(cp, pipeline, held)["status"] == "InProgress"
    gate.set()
    wait_status(cp, pipeline, held, "Succeeded")


def test_disabled_transition_holds_executions_until_enabled(session, app_name):
    cp = session.client("codepipeline")
    pipeline = make_pipeline(session, app_name, _two_stage(app_name))
    wait_status(cp, pipeline, _created(cp, pipeline), "Succeeded")
    cp.disable_stage_transition(pipelineName=pipeline, stageName="Build",
                                transitionType="Inbound", reason="change freeze")
    execution_id = cp.start_pipeline_execution(name=pipeline)["pipelineExecutionId"]
    build = wait_until(lambda: cp.get_pipeline_state(name=pipeline)["stageStates"][1],
                     lambda s: "inboundExecution" in s, what="execution held at Build")
    assert build["inboundTransitionState"]["enabled"] is False
    assert build["inboundTransitionState"]["disabledReason"] == "change freeze"
    assert build["inboundExecution"] == {"pipelineExecutionId": execution_id,
                                         "status": "InProgress", "type": "STANDARD"}
    assert build["latestExecution"]["pipelineExecutionId"] != execution_id
    assert "Build" not in by_action(actions(cp, pipeline, execution_id))
    assert execution(cp, pipeline, execution_id)["status"] == "InProgress"
    cp.enable_stage_transition(pipelineName=pipeline, stageName="Build",
                               transitionType="Inbound")
    wait_status(cp, pipeline, execution_id, "Succeeded")


# -- stop, retry, rollback ----------------------------------------------------------------------


def test_stop_lets_running_actions_finish_then_ends_stopped(session, app_name, gate):
    cp = session.client("codepipeline")
    pipeline = make_pipeline(session, app_name, _two_stage(app_name, app_name) + [
        {"name": "Deploy", "actions": [step("Deploy", f"{app_name}-d", "Deploy")]}])
    execution_id = _created(cp, pipeline)
    _in_stage(cp, pipeline, execution_id, "Build")
    cp.stop_pipeline_execution(pipelineName=pipeline, pipelineExecutionId=execution_id,
                               abandon=False, reason="hold the release")
    assert execution(cp, pipeline, execution_id)["status"] == "Stopping"
    gate.set()
    wait_status(cp, pipeline, execution_id, "Stopped")
    details = by_action(actions(cp, pipeline, execution_id))
    assert details["Build"]["status"] == "Succeeded"
    assert "Deploy" not in details
    summary = cp.list_pipeline_executions(pipelineName=pipeline)["pipelineExecutionSummaries"][0]
    assert summary["stopTrigger"] == {"reason": "hold the release"}


def test_stop_and_abandon_ends_now_and_tells_the_executor(session, app_name, gate):
    cp = session.client("codepipeline")
    pipeline = make_pipeline(session, app_name, _two_stage(app_name, app_name))
    execution_id = _created(cp, pipeline)
    _in_stage(cp, pipeline, execution_id, "Build")
    cp.stop_pipeline_execution(pipelineName=pipeline, pipelineExecutionId=execution_id,
                               abandon=True)
    wait_status(cp, pipeline, execution_id, "Stopped")
    assert by_action(actions(cp, pipeline, execution_id))["Build"]["status"] == "Abandoned"
    gate.set()
    seen = wait_until(lambda: [s for s in SEEN if s["execution"] == execution_id],
                    lambda s: len(s) == 1, what="the step to return")
    assert seen[0]["stop"] is True
    assert by_action(actions(cp, pipeline, execution_id))["Build"]["status"] == "Abandoned"


def test_retry_failed_actions_reruns_only_those_and_goes_on(session, app_name):
    cp = session.client("codepipeline")
    FAIL[f"{app_name}-bad"] = True
    pipeline = make_pipeline(session, app_name, [source_stage(), {"name": "Build", "actions": [
        step("Good", f"{app_name}-good"), step("Bad", f"{app_name}-bad")]},
        {"name": "Deploy", "actions": [step("Deploy", f"{app_name}-d", "Deploy")]}])
    execution_id = _created(cp, pipeline)
    wait_status(cp, pipeline, execution_id, "Failed")
    with pytest.raises(ClientError) as err:
        cp.retry_stage_execution(pipelineName=pipeline, stageName="Source",
                                 pipelineExecutionId=execution_id, retryMode="FAILED_ACTIONS")
    assert err.value.response["Error"]["Code"] == "StageNotRetryableException"
    FAIL[f"{app_name}-bad"] = False
    cp.retry_stage_execution(pipelineName=pipeline, stageName="Build",
                             pipelineExecutionId=execution_id, retryMode="FAILED_ACTIONS")
    wait_status(cp, pipeline, execution_id, "Succeeded")
    runs = [d["actionName"] for d in actions(cp, pipeline, execution_id)]
    assert sorted(runs) == ["Bad", "Bad", "Deploy", "Good", "Source"]


def test_failed_stage_rolls_back_to_the_last_good_execution(session, app_name):
    cp = session.client("codepipeline")
    deploy = {"name": "Deploy", "onFailure": {"result": "ROLLBACK"},
              "actions": [step("Deploy", f"{app_name}-d", "Deploy")]}
    pipeline = make_pipeline(session, app_name, [source_stage(), deploy])
    good = _created(cp, pipeline)
    wait_status(cp, pipeline, good, "Succeeded")
    good_input = by_action(actions(cp, pipeline, good))["Deploy"]["input"]["inputArtifacts"]
    FAIL[f"{app_name}-d"] = 1  # the bad run fails; the rollback that follows at once does not
    bad = cp.start_pipeline_execution(name=pipeline)["pipelineExecutionId"]
    wait_status(cp, pipeline, bad, "Failed")
    rollback = wait_until(
        lambda: cp.list_pipeline_executions(pipelineName=pipeline)["pipelineExecutionSummaries"],
        lambda rows: rows[0]["executionType"] == "ROLLBACK", what="the automated rollback")[0]
    assert rollback["trigger"] == {"triggerType": "AutomatedRollback", "triggerDetail": bad}
    assert rollback["rollbackMetadata"] == {"rollbackTargetPipelineExecutionId": good}
    rollback_id = rollback["pipelineExecutionId"]
    wait_status(cp, pipeline, rollback_id, "Succeeded")
    details = by_action(actions(cp, pipeline, rollback_id))
    assert list(details) == ["Deploy"]
    assert details["Deploy"]["input"]["inputArtifacts"] == good_input

    manual = cp.rollback_stage(pipelineName=pipeline, stageName="Deploy",
                               targetPipelineExecutionId=good)["pipelineExecutionId"]
    done = wait_status(cp, pipeline, manual, "Succeeded")
    assert done["executionType"] == "ROLLBACK"
    assert done["trigger"]["triggerType"] == "ManualRollback"
    with pytest.raises(ClientError) as err:
        cp.rollback_stage(pipelineName=pipeline, stageName="Deploy",
                          targetPipelineExecutionId=bad)
    assert err.value.response["Error"]["Code"] == "UnableToRollbackStageException"


# -- restart ------------------------------------------------------------------------------------


def test_restart_fails_in_flight_executions_and_rearms_approvals(tmp_path, monkeypatch):
    """SIGKILL the server mid-run: a held execution ends Failed saying why; a waiting approval
    waits again with the same token and its approval completes the run."""
    status = process.start(tmp_path)
    try:
        session = AwsSession("local", "us-east-1", endpoint_url=status.endpoint_url)
        s3 = session.client("s3")
        s3.create_bucket(Bucket="restart-src")
        s3.put_bucket_versioning(Bucket="restart-src",
                                 VersioningConfiguration={"Status": "Enabled"})
        s3.put_object(Bucket="restart-src", Key="app.zip", Body=make_zip({"content.txt": "app"}))
        source = {"name": "Source", "actions": [{
            "name": "Source", "actionTypeId": type_id("Source", "S3"),
            "configuration": {"S3Bucket": "restart-src", "S3ObjectKey": "app.zip",
                              "PollForSourceChanges": "false"},
            "outputArtifacts": [{"name": "Src"}]}]}
        approve = {"name": "Approve", "actions": [{
            "name": "Approve", "actionTypeId": type_id("Approval", "Manual")}]}
        cp = session.client("codepipeline")
        held = make_pipeline(session, "restart", [source, approve], suffix="-held")
        cp.disable_stage_transition(pipelineName=held, stageName="Approve",
                                    transitionType="Inbound", reason="hold")
        waiting = make_pipeline(session, "restart", [source, approve], suffix="-approval")
        held_id = cp.start_pipeline_execution(name=held)["pipelineExecutionId"]
        wait_until(lambda: cp.get_pipeline_state(name=held)["stageStates"][1],
                 lambda s: s.get("inboundExecution", {}).get("pipelineExecutionId") == held_id,
                 what="held at Approve")
        waiting_id = _created(cp, waiting)
        token = wait_until(lambda: cp.get_pipeline_state(name=waiting)["stageStates"][1],
                         lambda s: "token" in s["actionStates"][0].get("latestExecution", {}),
                         what="approval waiting")["actionStates"][0]["latestExecution"]["token"]
        os.kill(status.pid, signal.SIGKILL)
        wait_until(lambda: local_endpoint.read_status(tmp_path).alive, lambda alive: not alive,
                 what="the server to die")
        status = process.start(tmp_path)
        session = AwsSession("local", "us-east-1", endpoint_url=status.endpoint_url)
        cp = session.client("codepipeline")
        failed = execution(cp, held, held_id)
        assert failed["status"] == "Failed"
        assert "restarted" in failed["statusSummary"]
        assert execution(cp, waiting, waiting_id)["status"] == "InProgress"
        again = cp.get_pipeline_state(name=waiting)["stageStates"][1]["actionStates"][0]
        assert again["latestExecution"]["token"] == token
        cp.put_approval_result(pipelineName=waiting, stageName="Approve", actionName="Approve",
                               token=token, result={"summary": "ok", "status": "Approved"})
        wait_status(cp, waiting, waiting_id, "Succeeded")
    finally:
        process.stop(tmp_path)
    stored = json.loads((tmp_path / "codepipeline-executions.json").read_text())
    assert stored["us-east-1"][held]["executions"][held_id]["status"] == "Failed"
