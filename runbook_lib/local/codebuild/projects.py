"""CodeBuild projects, served by the local AWS itself instead of moto.

moto's CodeBuild has no UpdateProject, insists on a source location for CODEPIPELINE sources,
lacks some compute types and answers some errors with other codes than AWS. Builds (next layer)
need the project record anyway, so projects live here, keyed by account and region, persisted
in the state directory. Shapes follow botocore's service model; error codes are AWS's.
"""

from __future__ import annotations

import copy
import re
import time
from typing import TYPE_CHECKING, Any

from runbook_lib.local.server.paging import (
    CODEBUILD,
    PageRule,
    batch_members,
    found_and_missing,
    page,
)
from runbook_lib.local.server.store import JsonStore
from runbook_lib.local.server.wire import AwsError, Request, Response, json_response

if TYPE_CHECKING:
    from runbook_lib.local.server.context import LocalContext

ACCOUNT_ID = "123456789012"
# ListProjects has no maxResults: 100 names a page, as on AWS.
LIST_PROJECTS = PageRule("ListProjects", "projects", CODEBUILD, max_results=None)

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-_]{1,254}$")
_SOURCE_TYPES = {"CODECOMMIT", "CODEPIPELINE", "GITHUB", "GITLAB", "GITLAB_SELF_MANAGED",
                 "S3", "BITBUCKET", "GITHUB_ENTERPRISE", "NO_SOURCE"}
_ARTIFACT_TYPES = {"CODEPIPELINE", "S3", "NO_ARTIFACTS"}
_ENV_TYPES = {"WINDOWS_CONTAINER", "LINUX_CONTAINER", "LINUX_GPU_CONTAINER", "ARM_CONTAINER",
              "WINDOWS_SERVER_2019_CONTAINER", "LINUX_LAMBDA_CONTAINER", "ARM_LAMBDA_CONTAINER",
              "MAC_ARM"}
_COMPUTE_TYPES = {"BUILD_GENERAL1_SMALL", "BUILD_GENERAL1_MEDIUM", "BUILD_GENERAL1_LARGE",
                  "BUILD_GENERAL1_XLARGE", "BUILD_GENERAL1_2XLARGE", "BUILD_LAMBDA_1GB",
                  "BUILD_LAMBDA_2GB", "BUILD_LAMBDA_4GB", "BUILD_LAMBDA_8GB", "BUILD_LAMBDA_10GB",
                  "ATTRIBUTE_BASED_COMPUTE", "CUSTOM_INSTANCE_TYPE"}
_ENV_VAR_TYPES = {"PLAINTEXT", "PARAMETER_STORE", "SECRETS_MANAGER"}
_FIELDS = ("description", "source", "secondarySources", "sourceVersion",
           "secondarySourceVersions", "artifacts", "secondaryArtifacts", "cache", "environment",
           "serviceRole", "timeoutInMinutes", "queuedTimeoutInMinutes", "encryptionKey", "tags",
           "vpcConfig", "logsConfig", "fileSystemLocations", "buildBatchConfig",
           "concurrentBuildLimit")


class CodeBuildProjects:
    """CreateProject, UpdateProject, BatchGetProjects, ListProjects, DeleteProject."""

    def __init__(self, ctx: LocalContext) -> None:
        self.store = JsonStore(ctx.state_dir / "codebuild-projects.json", {})

    def routes(self):
        ops = ("CreateProject", "UpdateProject", "BatchGetProjects", "ListProjects",
               "DeleteProject")
        return {("codebuild", op): getattr(self, _snake(op)) for op in ops}

    # -- lookups used by other extensions ---------------------------------------------------

    def get(self, region: str, name_or_arn: str) -> dict[str, Any] | None:
        name = name_or_arn.rsplit("project/", 1)[-1]
        with self.store.lock:
            project = self.store.data.get(region, {}).get(name)
            return copy.deepcopy(project) if project else None

    # -- operations ---------------------------------------------------------------------------

    def create_project(self, request: Request) -> Response:
        body = request.json()
        name = body.get("name", "")
        _validate_name(name)
        _validate_project(body, creating=True)
        with self.store.transaction():
            projects = self.store.data.setdefault(request.region, {})
            if name in projects:
                raise AwsError("ResourceAlreadyExistsException",
                               f"Project already exists: {_arn(request.region, name)}")
            now = time.time()
            project = {k: copy.deepcopy(body[k]) for k in _FIELDS if k in body}
            project.update({
                "name": name,
                "arn": _arn(request.region, name),
                "created": now,
                "lastModified": now,
                "badge": {"badgeEnabled": bool(body.get("badgeEnabled"))},
                "projectVisibility": "PRIVATE",
            })
            _fill_defaults(project, request.region)
            projects[name] = project
            return json_response({"project": project})

    def update_project(self, request: Request) -> Response:
        body = request.json()
        name = body.get("name", "")
        with self.store.transaction():
            projects = self.store.data.setdefault(request.region, {})
            if name not in projects:
                raise AwsError("ResourceNotFoundException",
                               f"Failed to call UpdateProject, reason: Project {name} not found")
            merged = copy.deepcopy(projects[name])
            for key in _FIELDS:
                if key in body:
                    merged[key] = copy.deepcopy(body[key])
            if "badgeEnabled" in body:
                merged["badge"] = {"badgeEnabled": bool(body["badgeEnabled"])}
            _validate_project(merged, creating=False)
            _fill_defaults(merged, request.region)
            merged["lastModified"] = time.time()
            projects[name] = merged
            return json_response({"project": merged})

    def batch_get_projects(self, request: Request) -> Response:
        names = batch_members(request.json(), "names", "project names")
        found, missing = found_and_missing(names, lambda name: self.get(request.region, name))
        return json_response({"projects": found, "projectsNotFound": missing})

    def list_projects(self, request: Request) -> Response:
        body = request.json()
        with self.store.lock:
            names = list(self.store.data.get(request.region, {}))
        order = body.get("sortOrder", "ASCENDING")
        key = body.get("sortBy", "NAME")
        if key == "NAME":
            names.sort(reverse=order == "DESCENDING")
        else:
            field = "created" if key == "CREATED_TIME" else "lastModified"
            # A project deleted since the names were read sorts first (it is gone from the page).
            names.sort(key=lambda n: ((self.get(request.region, n) or {}).get(field, 0), n),
                       reverse=order == "DESCENDING")
        return json_response(page(names, body, LIST_PROJECTS))

    def delete_project(self, request: Request) -> Response:
        name = request.json().get("name", "").rsplit("project/", 1)[-1]
        with self.store.transaction():
            self.store.data.get(request.region, {}).pop(name, None)  # AWS: idempotent
        return json_response({})


def _snake(op: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", op).lower()


def _arn(region: str, name: str) -> str:
    return f"arn:aws:codebuild:{region}:{ACCOUNT_ID}:project/{name}"


def _validate_name(name: str) -> None:
    if not _NAME_RE.match(name or ""):
        raise AwsError("InvalidInputException",
                       f"Invalid project name: {name!r}; use 2-255 letters, digits, - and _")


def _validate_project(p: dict[str, Any], creating: bool) -> None:
    source = p.get("source") or {}
    if source.get("type") not in _SOURCE_TYPES:
        raise AwsError("InvalidInputException",
                       f"Invalid type provided: Project source type {source.get('type')!r}")
    if source["type"] not in ("CODEPIPELINE", "NO_SOURCE") and not source.get("location"):
        raise AwsError("InvalidInputException", "Project source location is required")
    artifacts = p.get("artifacts") or {}
    if artifacts.get("type") not in _ARTIFACT_TYPES:
        raise AwsError("InvalidInputException", "Invalid type provided: Artifact type")
    if artifacts["type"] == "S3" and not artifacts.get("location"):
        raise AwsError("InvalidInputException", "Project artifacts location is required")
    env = p.get("environment") or {}
    if env.get("type") not in _ENV_TYPES:
        raise AwsError("InvalidInputException", f"Invalid type provided: {env.get('type')}")
    if env.get("computeType") not in _COMPUTE_TYPES:
        raise AwsError("InvalidInputException",
                       f"Invalid compute type provided: {env.get('computeType')}")
    if not env.get("image"):
        raise AwsError("InvalidInputException", "Project environment image is required")
    for var in env.get("environmentVariables") or []:
        if var.get("type", "PLAINTEXT") not in _ENV_VAR_TYPES:
            raise AwsError("InvalidInputException",
                           f"Invalid environment variable type: {var.get('type')}")
    role = p.get("serviceRole") or ""
    if not re.match(r"^arn:aws[\w-]*:iam::\d{12}:role/.+", role):
        raise AwsError("InvalidInputException", "Invalid service role: must be a role ARN")
    timeout = p.get("timeoutInMinutes")
    if timeout is not None and not 5 <= int(timeout) <= 2160:
        raise AwsError("InvalidInputException", "timeoutInMinutes must be between 5 and 2160")
    cache = p.get("cache") or {}
    if cache.get("type") == "S3" and not cache.get("location"):
        raise AwsError("InvalidInputException", "Cache location is required for cache type S3")


def _fill_defaults(p: dict[str, Any], region: str) -> None:
    p.setdefault("timeoutInMinutes", 60)
    p.setdefault("queuedTimeoutInMinutes", 480)
    p.setdefault("cache", {"type": "NO_CACHE"})
    p.setdefault("tags", [])
    p.setdefault("encryptionKey", f"arn:aws:kms:{region}:{ACCOUNT_ID}:alias/aws/s3")
    p["environment"].setdefault("privilegedMode", False)
    p["environment"].setdefault("environmentVariables", [])
    p["environment"].setdefault("imagePullCredentialsType", "CODEBUILD")
    logs = p.setdefault("logsConfig", {})
    logs.setdefault("cloudWatchLogs", {"status": "ENABLED"})
    logs.setdefault("s3Logs", {"status": "DISABLED", "encryptionDisabled": False})
