"""Executors for deploy actions; see runbook_lib.local.codepipeline.actions for the plug-in shape.

Each provider is a :class:`Deployer` whose ``deploy`` raises :class:`DeployError` with a summary
the operator can act on ("bucket X does not exist: ..."); ``run`` turns that into a failed
outcome. Adding CloudFormation or CodeDeploy is one more subclass with ``@register("Deploy",
provider)``, using the same helpers to read configuration and the input artifact. Every call goes
through ``ctx.aws``, so whoever answers (moto, an extension, real AWS) the deploy is the same.
"""

from __future__ import annotations

import io
import json
import mimetypes
import zipfile
from typing import Any

from botocore.exceptions import ClientError

from runbook_lib.local.codepipeline.actions import (
    ActionContext,
    ActionOutcome,
    ArtifactRef,
    register,
)
from runbook_lib.local.codepipeline.artifacts import get_artifact
from runbook_lib.local.safe_paths import UnsafePathError, check_relative

_SUMMARY_MAX = 2048
# CodePipeline's failure types (FailureDetails.type) used as the action's error code.
CONFIGURATION_ERROR = "ConfigurationError"
PERMISSION_ERROR = "PermissionError"
JOB_FAILED = "JobFailed"

_S3_MISSING_BUCKET = {"404", "NoSuchBucket"}
_ACCESS_DENIED = {"403", "AccessDenied", "AccessDeniedException"}
_CANNED_ACLS = {"private", "public-read", "public-read-write", "aws-exec-read",
                "authenticated-read", "bucket-owner-read", "bucket-owner-full-control",
                "log-delivery-write"}
DEFAULT_IMAGE_DEFINITIONS = "imagedefinitions.json"


class DeployError(Exception):
    """A deploy that cannot go on; the message is the action's summary."""

    def __init__(self, summary: str, error_code: str = JOB_FAILED) -> None:
        super().__init__(summary)
        self.summary = summary
        self.error_code = error_code


class Deployer:
    """Base of deploy executors: ``deploy`` does the work, ``run`` reports failures cleanly."""

    def run(self, ctx: ActionContext) -> ActionOutcome:
        try:
            return self.deploy(ctx)
        except DeployError as err:
            return ActionOutcome("Failed", err.summary[:_SUMMARY_MAX], error_code=err.error_code)

    def deploy(self, ctx: ActionContext) -> ActionOutcome:
        raise NotImplementedError


# -- helpers every provider uses ----------------------------------------------------------------


def required_config(ctx: ActionContext, name: str) -> str:
    value = (ctx.configuration.get(name) or "").strip()
    if not value:
        raise DeployError(f"configuration {name} is required", CONFIGURATION_ERROR)
    return value


def single_input(ctx: ActionContext) -> ArtifactRef:
    """Deploy actions take exactly one input artifact."""
    if len(ctx.input_artifacts) != 1:
        raise DeployError(f"expected 1 input artifact, got {len(ctx.input_artifacts)}",
                          CONFIGURATION_ERROR)
    return ctx.input_artifacts[0]


def read_input(ctx: ActionContext, ref: ArtifactRef) -> bytes:
    try:
        return get_artifact(ctx.aws, ctx.region, ref)
    except ClientError as err:
        raise DeployError(f"read input artifact {ref.name} from s3://{ref.bucket}/{ref.key}: "
                          f"{err}", _error_type(err)) from err


def open_zip(data: bytes, ref: ArtifactRef) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as err:
        raise DeployError(f"input artifact {ref.name} is not a zip file: {err}") from err


def _error_type(err: ClientError) -> str:
    return PERMISSION_ERROR if err.response["Error"]["Code"] in _ACCESS_DENIED else JOB_FAILED


# -- S3 ---------------------------------------------------------------------------------------


@register("Deploy", "S3")
class S3Deploy(Deployer):
    """Amazon S3 deploy: the artifact's files (``Extract`` true) or the zip itself to a bucket.

    With ``Extract`` true a non-empty ``ObjectKey`` is the deployment path the files go under.
    The action has no output variables on AWS, so none are returned.
    """

    def deploy(self, ctx: ActionContext) -> ActionOutcome:
        cfg = ctx.configuration
        bucket = required_config(ctx, "BucketName")
        extract = _flag(cfg.get("Extract"), "Extract")
        object_key = (cfg.get("ObjectKey") or "").strip()
        if not extract and not object_key:
            raise DeployError("configuration ObjectKey is required when Extract is false",
                              CONFIGURATION_ERROR)
        options = _put_options(cfg)
        ref = single_input(ctx)
        data = read_input(ctx, ref)
        s3 = ctx.aws.client("s3", ctx.region)
        _check_bucket(s3, bucket)
        if not extract:
            _put(s3, bucket, object_key, data, "application/zip", options)
            return ActionOutcome("Succeeded", f"Deployed {ref.name} to s3://{bucket}/{object_key}")
        prefix = object_key.strip("/")
        with open_zip(data, ref) as archive:
            files = [info for info in archive.infolist() if not info.is_dir()]
            _check_members(files)
            for info in files:
                key = f"{prefix}/{info.filename}" if prefix else info.filename
                _put(s3, bucket, key, archive.read(info), _content_type(info.filename), options)
        where = f"s3://{bucket}/{prefix + '/' if prefix else ''}"
        return ActionOutcome("Succeeded", f"Deployed {len(files)} files to {where}")


def _check_members(files: list) -> None:
    """Keys stay under the deployment path: no absolute member, no ``..``."""
    try:
        for info in files:
            check_relative(info.filename, "artifact member")
    except UnsafePathError as err:
        raise DeployError(str(err), CONFIGURATION_ERROR) from err


def _flag(value: str | None, name: str) -> bool:
    text = (value or "").strip().lower()
    if text not in ("true", "false"):
        raise DeployError(f"configuration {name} must be true or false, not {value!r}",
                          CONFIGURATION_ERROR)
    return text == "true"


def _put_options(cfg: dict[str, str]) -> dict[str, str]:
    options: dict[str, str] = {}
    if cfg.get("CannedACL"):
        if cfg["CannedACL"] not in _CANNED_ACLS:
            raise DeployError(f"configuration CannedACL {cfg['CannedACL']!r} is not one of "
                              f"{', '.join(sorted(_CANNED_ACLS))}", CONFIGURATION_ERROR)
        options["ACL"] = cfg["CannedACL"]
    if cfg.get("CacheControl"):
        options["CacheControl"] = cfg["CacheControl"]
    if cfg.get("KMSEncryptionKeyARN"):
        options["ServerSideEncryption"] = "aws:kms"
        options["SSEKMSKeyId"] = cfg["KMSEncryptionKeyARN"]
    return options


def _check_bucket(s3, bucket: str) -> None:
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as err:
        code = err.response["Error"]["Code"]
        if code in _S3_MISSING_BUCKET:
            raise DeployError(f"bucket {bucket} does not exist: {err}") from err
        if code in _ACCESS_DENIED:
            raise DeployError(f"access to bucket {bucket} denied: {err}",
                              PERMISSION_ERROR) from err
        raise DeployError(f"head bucket {bucket}: {err}") from err


def _put(s3, bucket: str, key: str, body: bytes, content_type: str,
         options: dict[str, str]) -> None:
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type, **options)
    except ClientError as err:
        raise DeployError(f"put s3://{bucket}/{key}: {err}", _error_type(err)) from err


def _content_type(file_name: str) -> str:
    guessed, _ = mimetypes.guess_type(file_name, strict=False)
    return guessed or "application/octet-stream"


# -- ECS ----------------------------------------------------------------------------------------


@register("Deploy", "ECS")
class EcsDeploy(Deployer):
    """Amazon ECS (standard) deploy: new images from ``imagedefinitions.json`` go into a new
    revision of the service's task definition, and the service is updated to it.

    The local AWS runs no ECS tasks, so the action does not wait for the service to reach a
    steady state; ``DeploymentTimeout`` is validated (1-60 minutes) but has nothing to bound.
    """

    def deploy(self, ctx: ActionContext) -> ActionOutcome:
        cfg = ctx.configuration
        cluster = required_config(ctx, "ClusterName")
        service = required_config(ctx, "ServiceName")
        file_name = (cfg.get("FileName") or "").strip() or DEFAULT_IMAGE_DEFINITIONS
        _deployment_timeout(cfg.get("DeploymentTimeout"))
        ref = single_input(ctx)
        images = _image_definitions(read_input(ctx, ref), ref, file_name)
        ecs = ctx.aws.client("ecs", ctx.region)
        current = _describe_service(ecs, cluster, service)
        described = _ecs_call(f"describe task definition {current['taskDefinition']}",
                              ecs.describe_task_definition,
                              taskDefinition=current["taskDefinition"], include=["TAGS"])
        revision = _with_images(ecs, described["taskDefinition"], images)
        if described.get("tags"):
            revision["tags"] = described["tags"]
        family = revision["family"]
        new_arn = _ecs_call(f"register task definition {family}", ecs.register_task_definition,
                            **revision)["taskDefinition"]["taskDefinitionArn"]
        _ecs_call(f"update service {service}", ecs.update_service, cluster=cluster,
                  service=service, taskDefinition=new_arn)
        changed = ", ".join(f"{name}={uri}" for name, uri in images.items())
        return ActionOutcome("Succeeded", f"Updated service {service} in cluster {cluster} to "
                                          f"{new_arn.rsplit('/', 1)[-1]} ({changed})")


def _deployment_timeout(value: str | None) -> int:
    if not value:
        return 60
    if not value.strip().isdigit() or not 1 <= int(value) <= 60:
        raise DeployError(f"configuration DeploymentTimeout must be 1 to 60 minutes, not "
                          f"{value!r}", CONFIGURATION_ERROR)
    return int(value)


def _image_definitions(data: bytes, ref: ArtifactRef, file_name: str) -> dict[str, str]:
    """Container name -> image URI, from ``[{"name": ..., "imageUri": ...}]``."""
    with open_zip(data, ref) as archive:
        try:
            raw = archive.read(file_name)
        except KeyError as err:
            raise DeployError(f"{file_name} not found in input artifact {ref.name}") from err
    try:
        entries = json.loads(raw)
    except ValueError as err:
        raise DeployError(f"{file_name} in {ref.name} is not valid JSON: {err}") from err
    valid = isinstance(entries, list) and entries and all(
        isinstance(e, dict) and isinstance(e.get("name"), str) and e["name"]
        and isinstance(e.get("imageUri"), str) and e["imageUri"] for e in entries)
    if not valid:
        raise DeployError(f"{file_name} in {ref.name} must be a non-empty list of "
                          '{"name": ..., "imageUri": ...} objects')
    return {e["name"]: e["imageUri"] for e in entries}


def _describe_service(ecs, cluster: str, service: str) -> dict[str, Any]:
    answer = _ecs_call(f"describe service {service} in cluster {cluster}",
                       ecs.describe_services, cluster=cluster, services=[service])
    found = [s for s in answer.get("services", []) if s.get("status") != "INACTIVE"]
    if not found:
        raise DeployError(f"service {service} does not exist in cluster {cluster}")
    return found[0]


def _with_images(ecs, task_definition: dict[str, Any], images: dict[str, str]) -> dict[str, Any]:
    """RegisterTaskDefinition arguments: the same definition with the named images replaced."""
    model = ecs.meta.service_model
    register_shape = model.operation_model("RegisterTaskDefinition").input_shape
    container_shape = model.shape_for("ContainerDefinition")
    revision = {k: v for k, v in task_definition.items()
                if k in register_shape.members and k != "tags" and v not in (None, [], {})}
    containers = [{k: v for k, v in c.items() if k in container_shape.members}
                  for c in task_definition.get("containerDefinitions", [])]
    names = {c.get("name") for c in containers}
    unknown = sorted(set(images) - names)
    if unknown:
        where = f"{task_definition['family']}:{task_definition.get('revision')}"
        raise DeployError(f"container {', '.join(unknown)} is not in task definition {where} "
                          f"(containers: {', '.join(sorted(n for n in names if n))})")
    for container in containers:
        if container.get("name") in images:
            container["image"] = images[container["name"]]
    revision["containerDefinitions"] = containers
    return revision


def _ecs_call(what: str, call, **kwargs: Any) -> dict[str, Any]:
    try:
        return call(**kwargs)
    except ClientError as err:
        code = err.response["Error"]["Code"]
        if code == "ClusterNotFoundException":
            raise DeployError(f"cluster {kwargs.get('cluster')} does not exist: {err}") from err
        if code == "ServiceNotFoundException":
            raise DeployError(f"service {kwargs.get('service')} does not exist: {err}") from err
        raise DeployError(f"{what}: {err}", _error_type(err)) from err
