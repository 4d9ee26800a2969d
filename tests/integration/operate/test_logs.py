"""Finding a build and reading its log: a real failing pipeline run on the local AWS (built
once for the module), the log read whole and filtered server-side, secrets masked."""

from __future__ import annotations

import uuid

import pytest
import yaml
from helpers import make_zip, pipeline_role, wait_for_execution, wait_until

from runbook_lib.core.errors import StepError
from runbook_lib.core.session import AwsSession
from runbook_lib.operate import logs, triage

FAKE_KEY = "AKIA" + "Q" * 12 + "7XYZ"
FAILING_BUILDSPEC = yaml.safe_dump({"version": 0.2, "phases": {
    "install": {"commands": ["echo installing"]},
    "pre_build": {"commands": [
        "for i in $(seq 1 60); do echo filler line $i; done",
        f"echo leaked key {FAKE_KEY}",
        "printf 'TAP version 13\\nok 1 - adds\\nnot ok 2 - greets by name\\n# fail 1\\n'",
        "exit 1"]},
    "build": {"commands": ["echo never"]}}})


@pytest.fixture(scope="module")
def failed_run(local_aws):
    """(session, pipeline, execution id): an S3-sourced pipeline whose build fails a test."""
    session = AwsSession(target="local", region="us-east-1", endpoint_url=local_aws.endpoint_url)
    app = f"logs-{uuid.uuid4().hex[:6]}"
    s3 = session.client("s3")
    for bucket in (f"{app}-src", f"{app}-art"):
        s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=f"{app}-src", VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=f"{app}-src", Key="src.zip",
                  Body=make_zip({"buildspec.yml": FAILING_BUILDSPEC}))
    role = pipeline_role(session, app)
    session.client("codebuild").create_project(
        name=f"{app}-build", source={"type": "CODEPIPELINE"}, artifacts={"type": "CODEPIPELINE"},
        environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0",
                     "computeType": "BUILD_GENERAL1_SMALL"}, serviceRole=role)

    def _type(category, provider):
        return {"category": category, "owner": "AWS", "provider": provider, "version": "1"}

    cp = session.client("codepipeline")
    cp.create_pipeline(pipeline={
        "name": f"{app}-pipeline", "roleArn": role,
        "artifactStore": {"type": "S3", "location": f"{app}-art"},
        "stages": [
            {"name": "Source", "actions": [{
                "name": "Source", "actionTypeId": _type("Source", "S3"),
                "configuration": {"S3Bucket": f"{app}-src", "S3ObjectKey": "src.zip",
                                  "PollForSourceChanges": "false"},
                "outputArtifacts": [{"name": "Src"}]}]},
            {"name": "Build", "actions": [{
                "name": "UnitTests", "actionTypeId": _type("Build", "CodeBuild"),
                "configuration": {"ProjectName": f"{app}-build"},
                "inputArtifacts": [{"name": "Src"}]}]}]})
    pipeline = f"{app}-pipeline"
    summaries = wait_until(lambda: cp.list_pipeline_executions(pipelineName=pipeline)[
        "pipelineExecutionSummaries"], lambda s: s and s[0]["status"] not in ("InProgress",),
        timeout=90, what="the failing run to end")
    assert summaries[0]["status"] == "Failed", summaries
    return session, pipeline, summaries[0]["pipelineExecutionId"]


def test_locates_the_failed_build_of_the_latest_failed_execution(failed_run):
    session, pipeline, execution_id = failed_run
    ref = logs.locate_build(session, pipeline)
    assert (ref.execution_id, ref.stage, ref.action, ref.status) == (
        execution_id, "Build", "UnitTests", "Failed")
    assert ref.build_id.startswith(f"{pipeline.removesuffix('-pipeline')}-build:")
    assert logs.locate_build(session, pipeline, execution_id, action="Build/UnitTests") == ref
    assert logs.locate_build(session, pipeline, build_id="p:1").build_id == "p:1"
    with pytest.raises(StepError, match="no CodeBuild action named 'Deploy'"):
        logs.locate_build(session, pipeline, execution_id, action="Deploy")


def test_reads_phases_log_and_failing_command_with_secrets_masked(failed_run):
    session, pipeline, _ = failed_run
    log = logs.read_build_log(session, logs.locate_build(session, pipeline).build_id)
    assert log.status == "FAILED" and not log.filtered
    assert (log.failed_phase, log.status_code) == ("PRE_BUILD", "COMMAND_EXECUTION_ERROR")
    assert [p.name for p in log.phases][-3:] == ["PRE_BUILD", "FINALIZING", "COMPLETED"]
    assert all(p.seconds is not None for p in log.phases[:-1])
    assert log.failing_tests == ["greets by name"]
    assert "filler line 60" in log.lines and "leaked key ***" in log.lines
    assert not any(FAKE_KEY in line for line in log.lines)
    assert log.line_phases[log.lines.index("not ok 2 - greets by name")] == "PRE_BUILD"

    result = triage.triage_build(log, context_lines=2)
    assert (result.command, result.exit_code, result.category) == ("exit 1", 1, "test_failure")
    assert result.error_line == "not ok 2 - greets by name"
    assert len(result.excerpt) == 5


def test_server_side_filter_finds_the_same_failure(failed_run):
    session, pipeline, _ = failed_run
    build_id = logs.locate_build(session, pipeline).build_id
    whole = triage.triage_build(logs.read_build_log(session, build_id), 2)
    log = logs.read_build_log(session, build_id, server_filter=True, context_lines=2)
    filtered = triage.triage_build(log, 2)
    assert log.filtered and filtered.filtered
    assert (filtered.category, filtered.failing_tests, filtered.error_line) == (
        whole.category, whole.failing_tests, whole.error_line)
    assert [text for _, text in filtered.excerpt] == [text for _, text in whole.excerpt]


def test_streamed_triage_reports_what_the_whole_log_does(failed_run):
    session, pipeline, _ = failed_run
    build_id = logs.locate_build(session, pipeline).build_id
    whole = triage.triage_build(logs.read_build_log(session, build_id), 2)
    for server_filter in (False, True):
        record, streamed = logs.triage_build_log(session, build_id, server_filter, 2)
        assert record.lines == [] or server_filter
        assert triage.render_text(streamed).replace(
            " of the lines read (log filtered server-side)", "").split("first error")[0] == (
            triage.render_text(whole).split("first error")[0])
        assert [text for _, text in streamed.excerpt] == [text for _, text in whole.excerpt]
    shown = [text for _, text in logs.triage_build_log(session, build_id, False, 70)[1].excerpt]
    assert "leaked key ***" in shown and not any(FAKE_KEY in text for text in shown)


def test_unknown_build_names_the_fix(session):
    with pytest.raises(StepError, match="check the id"):
        logs.read_build_log(session, "nope:00000000-0000-0000-0000-000000000000")


def test_a_newer_run_that_failed_before_its_build_is_passed_over(failed_run):
    """Kept last in this module: it adds a failed run to the shared pipeline."""
    session, pipeline, execution_id = failed_run
    cp = session.client("codepipeline")
    newer = cp.start_pipeline_execution(name=pipeline, sourceRevisions=[{
        "actionName": "Source", "revisionType": "S3_OBJECT_VERSION_ID",
        "revisionValue": "no-such-version"}])["pipelineExecutionId"]
    wait_for_execution(cp, pipeline, newer, "Failed", timeout=90)
    assert logs.locate_build(session, pipeline).execution_id == execution_id
