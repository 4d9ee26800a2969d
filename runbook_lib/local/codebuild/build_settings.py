"""What one StartBuild asks for: the project with the request's overrides, checked.

CodeBuild applies StartBuild's overrides (source, buildspec, environment, artifacts, secondary
sources and artifacts, timeout) to the project for that build only; what the local AWS cannot
run (a source type other than S3, NO_SOURCE or CODEPIPELINE) is refused here with CodeBuild's
InvalidInputException, before a build record exists. :meth:`BuildSettings.record` is the
build as BatchGetBuilds first shows it.
"""

from __future__ import annotations

import copy
import time

from runbook_lib.local.codebuild.git_source import GIT_SOURCE_TYPES
from runbook_lib.local.codebuild.outputs import artifact_target
from runbook_lib.local.codebuild.projects import ACCOUNT_ID
from runbook_lib.local.codebuild.secondary import (
    secondary_artifacts,
    secondary_sources,
    secondary_versions,
)
from runbook_lib.local.server.wire import AwsError

_RUNNABLE_SOURCES = ("S3", "NO_SOURCE", "CODEPIPELINE", *GIT_SOURCE_TYPES)
_ENV_OVERRIDES = {"imageOverride": "image", "computeTypeOverride": "computeType",
                  "environmentTypeOverride": "type", "privilegedModeOverride": "privilegedMode",
                  "certificateOverride": "certificate",
                  "imagePullCredentialsTypeOverride": "imagePullCredentialsType"}


class BuildSettings:
    """A project merged with StartBuild's overrides, validated as CodeBuild does."""

    def __init__(self, project: dict, body: dict, pipeline: str | None) -> None:
        self.project = project
        self.body = body
        self.source = copy.deepcopy(project["source"])
        if body.get("sourceTypeOverride"):  # a new source; the project's buildspec stays
            buildspec = self.source.get("buildspec")
            self.source = {"type": body["sourceTypeOverride"]}
            if buildspec:
                self.source["buildspec"] = buildspec
        if body.get("sourceLocationOverride"):
            self.source["location"] = body["sourceLocationOverride"]
        if body.get("buildspecOverride"):
            self.source["buildspec"] = body["buildspecOverride"]
        kind = self.source.get("type")
        if kind == "CODEPIPELINE" and pipeline is None:
            raise AwsError("InvalidInputException", "Builds of a project with source type "
                           "CODEPIPELINE can only be started by CodePipeline")
        if kind not in _RUNNABLE_SOURCES:
            raise AwsError("InvalidInputException", f"Source type {kind} is not supported by "
                           "the local AWS; use S3, NO_SOURCE or a git source (GITHUB, "
                           "GITLAB, BITBUCKET) registered with runbook local repo add")
        if kind == "S3" and not self.source.get("location"):
            raise AwsError("InvalidInputException", "Source location is required for S3")
        if kind == "NO_SOURCE" and not self.source.get("buildspec"):
            raise AwsError("InvalidInputException",
                           "A NO_SOURCE build needs an inline buildspec")
        self.secondary_sources = secondary_sources(project, body)
        self.secondary_artifacts = secondary_artifacts(project, body)
        self.artifacts = copy.deepcopy(body.get("artifactsOverride") or project["artifacts"])
        if self.artifacts.get("type") == "CODEPIPELINE":
            if pipeline is None:
                raise AwsError("InvalidInputException", "Artifacts type CODEPIPELINE needs a "
                               "build started by CodePipeline")
            self.artifacts = {"type": "NO_ARTIFACTS"}
        if self.artifacts.get("type") == "S3" and not self.artifacts.get("location"):
            raise AwsError("InvalidInputException", "Artifacts location is required for S3")
        timeout = body.get("timeoutInMinutesOverride", project.get("timeoutInMinutes", 60))
        if not 5 <= int(timeout) <= 2160:
            raise AwsError("InvalidInputException",
                           "timeoutInMinutesOverride must be between 5 and 2160")
        self.timeout = int(timeout)

    def environment(self) -> dict:
        env = copy.deepcopy(self.project["environment"])
        for key, field in _ENV_OVERRIDES.items():
            if key in self.body:
                env[field] = self.body[key]
        variables = {v["name"]: v for v in env.get("environmentVariables", [])}
        for var in self.body.get("environmentVariablesOverride") or []:
            variables[var["name"]] = {"type": "PLAINTEXT", **var}
        env["environmentVariables"] = list(variables.values())
        return env

    def record(self, region: str, build_id: str, number: int, location, initiator: str
               ) -> dict:
        now = time.time()
        target = artifact_target(self.artifacts, build_id.split(":")[-1], None)
        body, project = self.body, self.project
        record = {
            "id": build_id,
            "arn": f"arn:aws:codebuild:{region}:{ACCOUNT_ID}:build/{build_id}",
            "buildNumber": number,
            "startTime": now,
            "currentPhase": "QUEUED",
            "buildStatus": "IN_PROGRESS",
            "projectName": project["name"],
            "phases": [{"phaseType": "SUBMITTED", "phaseStatus": "SUCCEEDED", "startTime": now,
                        "endTime": now, "durationInSeconds": 0},
                       {"phaseType": "QUEUED", "startTime": now}],
            "source": self.source,
            "secondarySources": self.secondary_sources,
            "secondarySourceVersions": secondary_versions(project, body),
            "artifacts": {"location": target.arn if target else ""},
            "secondaryArtifacts": [],
            "cache": copy.deepcopy(body.get("cacheOverride") or project.get("cache")
                                   or {"type": "NO_CACHE"}),
            "environment": self.environment(),
            "serviceRole": body.get("serviceRoleOverride") or project["serviceRole"],
            "logs": location.as_build_logs(
                (body.get("logsConfigOverride") or project.get("logsConfig") or {}).get(
                    "cloudWatchLogs") or {"status": "ENABLED"},
                (project.get("logsConfig") or {}).get("s3Logs") or {"status": "DISABLED"}),
            "timeoutInMinutes": self.timeout,
            "queuedTimeoutInMinutes": int(body.get("queuedTimeoutInMinutesOverride",
                                                   project.get("queuedTimeoutInMinutes", 480))),
            "buildComplete": False,
            "initiator": initiator,
            "encryptionKey": body.get("encryptionKeyOverride") or project.get("encryptionKey")
            or f"arn:aws:kms:{region}:{ACCOUNT_ID}:alias/aws/s3",
        }
        version = body.get("sourceVersion") or project.get("sourceVersion")
        if version:
            record["sourceVersion"] = version
            if self.source["type"] != "S3":
                record["resolvedSourceVersion"] = version
        return record
