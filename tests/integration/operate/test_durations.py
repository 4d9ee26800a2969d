"""Stage and action durations read from the local AWS with paginated List calls (one call per
page, not per execution), from a small pipeline whose actions finish at once."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from helpers import pipeline_role, wait_for_execution

from runbook_lib.core import errors
from runbook_lib.core.errors import ParameterError
from runbook_lib.core.session import AwsSession
from runbook_lib.local.codepipeline.actions import ActionOutcome, ArtifactRef, register
from runbook_lib.operate import durations, records_io

AUTHOR_DATE = "2026-03-02T09:00:00Z"


# -- a small pipeline whose actions finish at once, with a failing build on demand ------------


@register("Source", "DurationsTestSource")
class _Source:
    def run(self, ctx):
        refs = [ArtifactRef(n, ctx.artifact_bucket, ctx.new_artifact_key(n))
                for n in ctx.output_artifact_names]
        for ref in refs:
            ctx.aws.client("s3", ctx.region).put_object(Bucket=ref.bucket, Key=ref.key, Body=b"x")
        sha = "ab" * 20
        return ActionOutcome("Succeeded", "a commit", refs,
                             {"CommitId": sha, "AuthorDate": AUTHOR_DATE,
                              "CommitMessage": "a commit"},
                             revision={"revisionId": sha, "revisionSummary": "a commit",
                                       "created": time.time()})

    @staticmethod
    def can_start(aws, state_dir, region, configuration):
        return False  # runs start only when the test starts them


@register("Build", "DurationsTestBuild")
class _Build:
    def run(self, ctx):
        if ctx.configuration.get("Fail") == "yes":
            return ActionOutcome("Failed", "tests failed", external_execution_id="b:1")
        return ActionOutcome("Succeeded", "built", external_execution_id="b:2")


@register("Deploy", "DurationsTestDeploy")
class _Deploy:
    def run(self, ctx):
        return ActionOutcome("Succeeded", "deployed")


def _type(category, provider):
    return {"category": category, "owner": "AWS", "provider": provider, "version": "1"}


def _declaration(name, role_arn, bucket):
    return {
        "name": name, "roleArn": role_arn, "pipelineType": "V2", "executionMode": "QUEUED",
        "artifactStore": {"type": "S3", "location": bucket},
        "variables": [{"name": "Fail", "defaultValue": "no"}],
        "stages": [
            {"name": "Source", "actions": [{
                "name": "Source", "actionTypeId": _type("Source", "DurationsTestSource"),
                "configuration": {}, "outputArtifacts": [{"name": "Src"}],
                "namespace": "SourceVariables"}]},
            {"name": "Build", "actions": [{
                "name": "Build", "actionTypeId": _type("Build", "DurationsTestBuild"),
                "configuration": {"Fail": "#{variables.Fail}"},
                "inputArtifacts": [{"name": "Src"}]}]},
            {"name": "Deploy-production", "actions": [{
                "name": "Deploy", "actionTypeId": _type("Deploy", "DurationsTestDeploy"),
                "configuration": {}, "inputArtifacts": [{"name": "Src"}]}]},
        ],
    }


def _finish(cp, pipeline, execution_id, timeout=30.0):
    return wait_for_execution(cp, pipeline, execution_id, timeout=timeout)["status"]


@pytest.fixture(scope="module")
def history(local_aws):
    """A pipeline with four runs: green, red in Build, green, then a rollback of production to
    the first run. Returns (pipeline, [execution ids, oldest first])."""
    session = AwsSession("local", "us-east-1", endpoint_url=local_aws.endpoint_url)
    app = f"dur-{int(time.time() * 1000) % 10**8}"
    role = pipeline_role(session, app)
    session.client("s3").create_bucket(Bucket=f"{app}-art")
    pipeline = f"{app}-pipeline"
    cp = session.client("codepipeline")
    cp.create_pipeline(pipeline=_declaration(
        pipeline, role, f"{app}-art"))
    ids = []
    for fail in ("no", "yes", "no"):
        run = cp.start_pipeline_execution(name=pipeline, variables=[
            {"name": "Fail", "value": fail}])["pipelineExecutionId"]
        assert _finish(cp, pipeline, run) == ("Failed" if fail == "yes" else "Succeeded")
        ids.append(run)
    rollback = cp.rollback_stage(pipelineName=pipeline, stageName="Deploy-production",
                                 targetPipelineExecutionId=ids[0])["pipelineExecutionId"]
    assert _finish(cp, pipeline, rollback) == "Succeeded"
    ids.append(rollback)
    return pipeline, ids


def test_read_records_one_list_call_per_page_not_per_execution(local_aws, history):
    pipeline, ids = history
    session = AwsSession("local", "us-east-1", endpoint_url=local_aws.endpoint_url)
    records = durations.read_records(session, pipeline, last=10)
    assert [r.execution_id for r in records] == ids
    calls = session.recorder.calls
    assert calls[("codepipeline", "ListPipelineExecutions")] == 1
    assert calls[("codepipeline", "ListActionExecutions")] == 1  # 4 executions, 1 page
    assert calls[("codepipeline", "GetPipelineExecution")] == 0
    assert session.recorder.mutating_count == 0

    # 9 action executions (3 + 2 + 3 + 1) in pages of 3: 3 calls for 4 executions.
    session.recorder.reset()
    paged = durations.read_records(session, pipeline, last=10, page_size=3)
    assert session.recorder.calls[("codepipeline", "ListActionExecutions")] == 3
    assert records_io.records_json(paged) == records_io.records_json(records)


def test_read_records_reads_every_action_of_the_runs_wanted_in_bounded_calls(local_aws, history):
    """No page order is relied upon: one run wanted is one filtered listing; when the
    unfiltered pages would outnumber the runs, each run is read with its own listing."""
    pipeline, ids = history
    session = AwsSession("local", "us-east-1", endpoint_url=local_aws.endpoint_url)
    whole = {r.execution_id: r for r in durations.read_records(session, pipeline, last=10)}
    session.recorder.reset()
    records = durations.read_records(session, pipeline, last=1, page_size=1)
    assert [r.execution_id for r in records] == ids[-1:]
    assert session.recorder.calls[("codepipeline", "ListActionExecutions")] == 1

    session.recorder.reset()
    records = durations.read_records(session, pipeline, last=2, page_size=1)
    assert [r.execution_id for r in records] == ids[-2:]
    # 9 action executions in pages of 1: after 2 pages (2 runs) each run is read on its own.
    assert session.recorder.calls[("codepipeline", "ListActionExecutions")] == 2 + 2
    assert records_io.records_json(records) == records_io.records_json(
        [whole[i] for i in ids[-2:]])


def test_records_hold_stages_actions_commits_and_rollbacks(local_aws, history):
    pipeline, ids = history
    session = AwsSession("local", "us-east-1", endpoint_url=local_aws.endpoint_url)
    green, red, fix, rollback = durations.read_records(session, pipeline)
    assert [s.stage for s in green.stages] == ["Source", "Build", "Deploy-production"]
    assert [(s.stage, s.status) for s in red.stages] == [("Source", "Succeeded"),
                                                        ("Build", "Failed")]
    assert red.stage("Build").actions[0].external_id == "b:1"
    assert green.commit_id == "ab" * 20
    assert green.commit_time == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert green.trigger == "StartPipelineExecution"
    assert rollback.is_rollback and rollback.rollback_target == ids[0]
    assert [s.stage for s in rollback.stages] == ["Deploy-production"]
    for record in (green, red, fix, rollback):
        assert record.duration_s is not None and record.duration_s >= 0
        assert all(s.duration_s is not None for s in record.stages)
    stats = {s.stage: s for s in durations.stage_stats([green, red, fix, rollback])}
    assert (stats["Build"].runs, stats["Build"].failures) == (3, 1)
    assert (stats["Deploy-production"].runs, stats["Deploy-production"].failures) == (3, 0)


def test_unknown_pipeline_names_the_fix(session):
    with pytest.raises(errors.StepError, match="pipeline notebook"):
        durations.read_records(session, "no-such-pipeline")


@pytest.mark.parametrize("last", [0, -1, "5"], ids=["zero", "negative", "string"])
def test_last_must_be_a_positive_whole_number(session, last):
    with pytest.raises(ParameterError):
        durations.read_records(session, "any-pipeline", last=last)
