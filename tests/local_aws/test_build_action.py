"""The pipeline's CodeBuild action: builds the input artifact, stores the output under the
commit id, passes exported variables on, reports the failing phase, and honours a stop."""

import io
import json
import threading
import zipfile

import pytest
import yaml
from helpers import make_zip, wait_until

from runbook_lib.local.codepipeline.actions import ActionContext, ArtifactRef, executor_for

ROLE = "arn:aws:iam::123456789012:role/build-role"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def _spec(*commands):
    return yaml.safe_dump({
        "version": 0.2,
        "env": {"exported-variables": ["IMAGE_TAG"]},
        "phases": {"build": {"commands": list(commands)}},
        "artifacts": {"files": ["out/**/*"], "discard-paths": "yes"},
    })


def _context(local_aws, session, name, commands, configuration=None, outputs=("BuildOutput",)):
    """A pipeline-like action context: a CODEPIPELINE project and its input artifact in S3."""
    s3 = session.client("s3")
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key=f"{name}/SourceOutput/in.zip",
                  Body=make_zip({"buildspec.yml": _spec(*commands), "app.txt": "app\n"}))
    session.client("codebuild").create_project(
        name=name, source={"type": "CODEPIPELINE"}, artifacts={"type": "CODEPIPELINE"},
        environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0",
                     "computeType": "BUILD_GENERAL1_SMALL"}, serviceRole=ROLE)
    return ActionContext(
        aws=local_aws.app.context.aws, state_dir=local_aws.app.context.state_dir,
        region="us-east-1", account_id="123456789012", pipeline_name=f"{name}-pipeline",
        pipeline_version=1, execution_id="exec-1", stage_name="Build", action_name="Build",
        action_execution_id="act-1",
        configuration={"ProjectName": name, **(configuration or {})},
        input_artifacts=[ArtifactRef("SourceOutput", name, f"{name}/SourceOutput/in.zip")],
        output_artifact_names=list(outputs), artifact_bucket=name, commit_id=COMMIT,
        peers=local_aws.app.context.peers)


@pytest.mark.parametrize("category", ["Build", "Test"])
def test_a_successful_build_passes_its_artifact_and_variables_on(local_aws, session, app_name,
                                                                category):
    ctx = _context(local_aws, session, app_name, [
        "mkdir -p out/deep", "cp app.txt out/deep/", "echo $STAGE_NAME > out/stage.txt",
        "export IMAGE_TAG=${CODEBUILD_RESOLVED_SOURCE_VERSION:0:7}"],
        configuration={"EnvironmentVariables": json.dumps(
            [{"name": "STAGE_NAME", "value": "beta", "type": "PLAINTEXT"}])})
    outcome = executor_for(category, "CodeBuild").run(ctx)
    assert outcome.status == "Succeeded", outcome.summary
    assert outcome.output_variables == {"IMAGE_TAG": COMMIT[:7]}
    [artifact] = outcome.output_artifacts
    assert artifact.name == "BuildOutput" and COMMIT[:12] in artifact.key
    body = session.client("s3").get_object(Bucket=artifact.bucket, Key=artifact.key)["Body"]
    archive = zipfile.ZipFile(io.BytesIO(body.read()))
    assert sorted(archive.namelist()) == ["app.txt", "stage.txt"]
    assert archive.read("stage.txt") == b"beta\n"
    build = session.client("codebuild").batch_get_builds(
        ids=[outcome.external_execution_id])["builds"][0]
    assert build["initiator"] == f"codepipeline/{app_name}-pipeline"
    assert build["sourceVersion"] == COMMIT and build["resolvedSourceVersion"] == COMMIT
    assert build["id"] in outcome.external_execution_url


def test_a_failed_build_reports_the_failing_phase(local_aws, session, app_name):
    ctx = _context(local_aws, session, app_name, ["npm-not-installed test"])
    outcome = executor_for("Build", "CodeBuild").run(ctx)
    assert outcome.status == "Failed"
    assert "BUILD" in outcome.summary and "COMMAND_EXECUTION_ERROR" in outcome.summary
    assert "exit status 127" in outcome.summary
    assert outcome.output_artifacts == []


def test_a_pipeline_stop_stops_the_build(local_aws, session, app_name):
    ctx = _context(local_aws, session, app_name, ["sleep 60"])
    result = {}
    runner = threading.Thread(
        target=lambda: result.setdefault("outcome", executor_for("Build", "CodeBuild").run(ctx)))
    runner.start()
    cb = session.client("codebuild")

    def phase():
        ids = cb.list_builds_for_project(projectName=app_name)["ids"]
        return ids and cb.batch_get_builds(ids=ids)["builds"][0]["currentPhase"]

    wait_until(phase, lambda seen: seen == "BUILD", what="the build to reach BUILD")
    ctx.stop_requested.set()
    runner.join(timeout=30)
    outcome = result["outcome"]
    assert outcome.status == "Failed"
    build = cb.batch_get_builds(ids=[outcome.external_execution_id])["builds"][0]
    assert build["buildStatus"] == "STOPPED"


def test_the_pipeline_marker_is_ignored_from_operators(session, app_name):
    """Only in-process requests may claim a pipeline: an operator's header changes nothing."""
    cb = session.client("codebuild")
    cb.create_project(name=app_name, source={"type": "CODEPIPELINE"},
                      artifacts={"type": "CODEPIPELINE"},
                      environment={"type": "LINUX_CONTAINER", "image": "i",
                                   "computeType": "BUILD_GENERAL1_SMALL"}, serviceRole=ROLE)

    def claim(request, **_kwargs):
        request.headers["x-runbook-codepipeline"] = "forged"

    cb.meta.events.register("before-sign.codebuild.StartBuild", claim)
    with pytest.raises(cb.exceptions.InvalidInputException):
        cb.start_build(projectName=app_name)
