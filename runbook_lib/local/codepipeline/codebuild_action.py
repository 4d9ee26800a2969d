"""The pipeline's CodeBuild action: start a build on the input artifact, wait, pass outputs on.

As in CodePipeline, the build reads the primary input artifact (the zip CodePipeline stored)
and writes its output artifact where the pipeline says, here under a key carrying the commit
id, so artifacts are versioned by commit. The build's exported variables become the action's
output variables. The build goes through the local CodeBuild API (StartBuild/BatchGetBuilds/
StopBuild) with a marker header that only in-process requests may carry, so the build knows a
pipeline started it (CODEPIPELINE projects allowed, initiator ``codepipeline/<pipeline>``).
"""

from __future__ import annotations

import json
import posixpath
import threading

from botocore.exceptions import ClientError

from runbook_lib.local.codebuild.builds import PIPELINE_HEADER, CodeBuildBuilds
from runbook_lib.local.codepipeline.actions import (
    ActionContext,
    ActionOutcome,
    ArtifactRef,
    register,
)

# How often a waiting action looks at the pipeline's stop flag; the build's own completion
# wakes it at once (CodeBuildBuilds.wait_until_complete), so this bounds only stop latency.
STOP_CHECK_SECONDS = 0.1

_calling_pipeline = threading.local()  # the pipeline on whose behalf this thread calls


@register("Build", "CodeBuild")
@register("Test", "CodeBuild")
class CodeBuildAction:
    """Runs the action's ``ProjectName`` build and waits for it; see the module docstring."""

    def run(self, ctx: ActionContext) -> ActionOutcome:
        client = ctx.aws.client("codebuild", ctx.region)
        _mark_pipeline_calls(client)
        try:
            params = _start_params(ctx)
        except ValueError as err:
            return ActionOutcome("Failed", str(err), error_code="ConfigurationError")
        _calling_pipeline.name = ctx.pipeline_name
        try:
            build = client.start_build(**params)["build"]
        except ClientError as err:
            error = err.response["Error"]
            return ActionOutcome("Failed", f"StartBuild {params['projectName']}: "
                                 f"{error['Code']}: {error.get('Message', '')}")
        finally:
            _calling_pipeline.name = None
        build = _wait(client, ctx, build)
        return _outcome(ctx, build, params)


def _start_params(ctx: ActionContext) -> dict:
    config = ctx.configuration
    project = config.get("ProjectName")
    if not project:
        raise ValueError("The action's configuration needs ProjectName")
    params: dict = {"projectName": project}
    source = _primary_input(ctx)
    if source is not None:
        params.update(sourceTypeOverride="S3",
                      sourceLocationOverride=f"{source.bucket}/{source.key}")
    else:
        params["sourceTypeOverride"] = "NO_SOURCE"
    if ctx.commit_id:
        params["sourceVersion"] = ctx.commit_id
    if ctx.output_artifact_names:
        key = ctx.new_artifact_key(ctx.output_artifact_names[0])
        params["artifactsOverride"] = {
            "type": "S3", "location": ctx.artifact_bucket, "path": posixpath.dirname(key),
            "name": posixpath.basename(key), "namespaceType": "NONE", "packaging": "ZIP",
            "overrideArtifactName": False}
    else:
        params["artifactsOverride"] = {"type": "NO_ARTIFACTS"}
    variables = config.get("EnvironmentVariables")
    if variables:
        try:
            parsed = json.loads(variables)
        except ValueError as err:
            raise ValueError(f"EnvironmentVariables is not valid JSON: {err}") from err
        params["environmentVariablesOverride"] = [
            {"name": v["name"], "value": str(v.get("value", "")),
             "type": v.get("type", "PLAINTEXT")} for v in parsed]
    return params


def _primary_input(ctx: ActionContext) -> ArtifactRef | None:
    wanted = ctx.configuration.get("PrimarySource")
    for artifact in ctx.input_artifacts:
        if artifact.name == wanted:
            return artifact
    return ctx.input_artifacts[0] if ctx.input_artifacts else None


def _wait(client, ctx: ActionContext, build: dict) -> dict:
    """Wait until the build completes; a pipeline stop stops the build (once).

    The wait is on the build service's completion notice, not on a polling interval, so the
    pipeline moves on the moment the build ends; BatchGetBuilds then reads the final record.
    """
    builds = _build_service(ctx)
    stop_sent = False
    while not build.get("buildComplete"):
        complete = builds.wait_until_complete(ctx.region, build["id"], STOP_CHECK_SECONDS)
        if ctx.stop_requested.is_set() and not stop_sent:
            client.stop_build(id=build["id"])
            stop_sent = complete = True
        if complete:
            build = client.batch_get_builds(ids=[build["id"]])["builds"][0]
    return build


def _build_service(ctx: ActionContext):
    """The local CodeBuild builds extension (a peer in this process: no AWS API waits)."""
    return ctx.peers.get(CodeBuildBuilds)


def _outcome(ctx: ActionContext, build: dict, params: dict) -> ActionOutcome:
    url = (f"https://console.aws.amazon.com/codesuite/codebuild/{ctx.account_id}/projects/"
           f"{build['projectName']}/build/{build['id']}/?region={ctx.region}")
    outputs = []
    override = params["artifactsOverride"]
    status = build["buildStatus"]
    if status == "SUCCEEDED" and override["type"] == "S3":
        key = posixpath.join(override["path"], override["name"])
        outputs.append(ArtifactRef(ctx.output_artifact_names[0], ctx.artifact_bucket, key))
    variables = {v["name"]: v["value"] for v in build.get("exportedEnvironmentVariables", [])}
    common = {"external_execution_id": build["id"], "external_execution_url": url}
    if status == "SUCCEEDED":
        return ActionOutcome("Succeeded", f"Build {build['id']} succeeded",
                             output_artifacts=outputs, output_variables=variables, **common)
    return ActionOutcome("Failed", _failure_summary(build), output_variables=variables,
                         **common)


def _failure_summary(build: dict) -> str:
    """The failing phase's context, as CodePipeline shows it for a failed build."""
    for phase in build.get("phases", []):
        if phase.get("phaseStatus") not in (None, "SUCCEEDED"):
            contexts = [c for c in phase.get("contexts", []) if c.get("statusCode")]
            detail = "; ".join(f"{c['statusCode']}: {c['message']}" for c in contexts)
            return (f"Build {build['id']} {build['buildStatus']} in phase "
                    f"{phase['phaseType']}" + (f": {detail}" if detail else ""))
    return f"Build {build['id']} ended {build['buildStatus']}"


def _mark_pipeline_calls(client) -> None:
    """Add the pipeline marker header to StartBuild calls made while a pipeline is set for
    this thread (the client is shared, so the header comes from thread-local state)."""
    client.meta.events.register("before-sign.codebuild.StartBuild", _add_pipeline_header,
                                unique_id="runbook-codepipeline-marker")


def _add_pipeline_header(request, **_kwargs) -> None:
    name = getattr(_calling_pipeline, "name", None)
    if name:
        request.headers[PIPELINE_HEADER] = name
