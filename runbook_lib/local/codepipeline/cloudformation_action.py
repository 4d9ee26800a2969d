"""The CloudFormation deploy action, run through the local AWS's CloudFormation (moto's).

Action modes as CodePipeline runs them: ``CREATE_UPDATE`` (create, or update; "no updates"
is a success), ``DELETE_ONLY``, ``REPLACE_ON_FAILURE`` (a stack in a failed state is deleted and
created again), ``CHANGE_SET_REPLACE`` (the change set is replaced, not executed) and
``CHANGE_SET_EXECUTE``. ``TemplatePath`` and ``TemplateConfiguration`` are
``Artifact::path`` in an input artifact; ``ParameterOverrides`` is JSON whose values may be
``{"Fn::GetParam": [artifact, file, key]}`` or ``{"Fn::GetArtifactAtt": [artifact,
BucketName|ObjectKey|URL]}``. ``Capabilities`` and ``RoleArn`` are passed on. The stack's outputs
become the action's output variables and, with ``OutputFileName``, a JSON file in the output
artifact. A stack that ends failed fails the action naming the resource that failed.

Which resource types moto's CloudFormation creates is moto's list (see the README).
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from typing import Any

from botocore.exceptions import ClientError

from runbook_lib.local.codepipeline.actions import (
    ActionContext,
    ActionOutcome,
    ArtifactRef,
    register,
)
from runbook_lib.local.codepipeline.artifacts import put_artifact
from runbook_lib.local.codepipeline.deployers import (
    CONFIGURATION_ERROR,
    Deployer,
    DeployError,
    open_zip,
    read_input,
    required_config,
)

MODES = ("CREATE_UPDATE", "DELETE_ONLY", "REPLACE_ON_FAILURE", "CHANGE_SET_REPLACE",
         "CHANGE_SET_EXECUTE")
_FAILED_STATES = ("CREATE_FAILED", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_FAILED",
                  "UPDATE_ROLLBACK_COMPLETE", "UPDATE_ROLLBACK_FAILED", "UPDATE_FAILED")
_WAIT_SECONDS = 300


@register("Deploy", "CloudFormation")
class CloudFormationDeploy(Deployer):
    """One CloudFormation action; every call goes through ``ctx.aws`` (moto answers)."""

    def deploy(self, ctx: ActionContext) -> ActionOutcome:
        mode = required_config(ctx, "ActionMode")
        if mode not in MODES:
            raise DeployError(f"ActionMode {mode!r} is not one of {', '.join(MODES)}",
                              CONFIGURATION_ERROR)
        stack = required_config(ctx, "StackName")
        cfn = ctx.aws.client("cloudformation", ctx.region)
        if mode == "DELETE_ONLY":
            _delete(cfn, stack)
            return ActionOutcome("Succeeded", f"Stack {stack} deleted (or was absent)")
        if mode == "CHANGE_SET_EXECUTE":
            name = required_config(ctx, "ChangeSetName")
            _call(f"execute change set {name}", cfn.execute_change_set, ChangeSetName=name,
                  StackName=stack)
            return self._finish(ctx, cfn, stack, f"Change set {name} executed")
        arguments = _stack_arguments(ctx, stack)
        if mode == "CHANGE_SET_REPLACE":
            return self._replace_change_set(ctx, cfn, stack, arguments)
        status = _status(cfn, stack)
        if mode == "REPLACE_ON_FAILURE" and status in _FAILED_STATES:
            _delete(cfn, stack)
            status = None
        if status is None:
            _call(f"create stack {stack}", cfn.create_stack, **arguments)
            return self._finish(ctx, cfn, stack, f"Stack {stack} created")
        try:
            cfn.update_stack(**arguments)
        except ClientError as err:
            if "No updates are to be performed" not in str(err):
                raise DeployError(f"update stack {stack}: {err}") from err
            return self._finish(ctx, cfn, stack, f"Stack {stack} is up to date")
        return self._finish(ctx, cfn, stack, f"Stack {stack} updated")

    def _replace_change_set(self, ctx: ActionContext, cfn, stack: str,
                            arguments: dict[str, Any]) -> ActionOutcome:
        name = required_config(ctx, "ChangeSetName")
        try:
            cfn.describe_change_set(ChangeSetName=name, StackName=stack)
            cfn.delete_change_set(ChangeSetName=name, StackName=stack)
        except ClientError:
            pass  # none yet (or it went with the stack)
        kind = "UPDATE" if _status(cfn, stack) not in (None, "REVIEW_IN_PROGRESS") else "CREATE"
        _call(f"create change set {name}", cfn.create_change_set, ChangeSetName=name,
              ChangeSetType=kind, **arguments)
        return ActionOutcome("Succeeded", f"Change set {name} of stack {stack} is ready to "
                                          "execute")

    def _finish(self, ctx: ActionContext, cfn, stack: str, summary: str) -> ActionOutcome:
        described = _wait(cfn, stack)
        if described["StackStatus"] in _FAILED_STATES:
            raise DeployError(f"Stack {stack} is {described['StackStatus']}: "
                              f"{_failed_resource(cfn, stack)}")
        outputs = {o["OutputKey"]: o.get("OutputValue", "") for o in
                   described.get("Outputs") or []}
        artifacts = []
        file_name = ctx.configuration.get("OutputFileName")
        if file_name and ctx.output_artifact_names:
            ref = ArtifactRef(ctx.output_artifact_names[0], ctx.artifact_bucket,
                              ctx.new_artifact_key(ctx.output_artifact_names[0]))
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
                archive.writestr(file_name, json.dumps(outputs, indent=2))
            body = buffer.getvalue()
            artifacts.append(put_artifact(ctx.aws, ctx.region, ref, body))
        return ActionOutcome("Succeeded", summary, output_artifacts=artifacts,
                             output_variables=outputs,
                             external_execution_id=described.get("StackId"))


def _stack_arguments(ctx: ActionContext, stack: str) -> dict[str, Any]:
    """create_stack / update_stack / create_change_set arguments from the configuration."""
    template = _artifact_file(ctx, required_config(ctx, "TemplatePath")).decode()
    parameters: dict[str, Any] = {}
    tags: dict[str, str] = {}
    if ctx.configuration.get("TemplateConfiguration"):
        config = json.loads(_artifact_file(ctx, ctx.configuration["TemplateConfiguration"]))
        parameters.update(config.get("Parameters") or {})
        tags.update(config.get("Tags") or {})
    if ctx.configuration.get("ParameterOverrides"):
        try:
            overrides = json.loads(ctx.configuration["ParameterOverrides"])
        except ValueError as err:
            raise DeployError(f"ParameterOverrides is not JSON: {err}",
                              CONFIGURATION_ERROR) from err
        parameters.update({k: _resolve(ctx, v) for k, v in overrides.items()})
    arguments: dict[str, Any] = {
        "StackName": stack, "TemplateBody": template,
        "Parameters": [{"ParameterKey": k, "ParameterValue": str(v)}
                       for k, v in parameters.items()]}
    if tags:
        arguments["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
    if ctx.configuration.get("Capabilities"):
        arguments["Capabilities"] = [c.strip() for c in
                                     ctx.configuration["Capabilities"].split(",") if c.strip()]
    if ctx.configuration.get("RoleArn"):
        arguments["RoleARN"] = ctx.configuration["RoleArn"]
    return arguments


def _resolve(ctx: ActionContext, value: Any) -> Any:
    """``Fn::GetParam`` and ``Fn::GetArtifactAtt`` in a parameter override."""
    if isinstance(value, dict) and "Fn::GetParam" in value:
        artifact, file_name, key = value["Fn::GetParam"]
        document = json.loads(_artifact_file(ctx, f"{artifact}::{file_name}"))
        if key not in document:
            raise DeployError(f"Fn::GetParam: {key} is not in {artifact}::{file_name}",
                              CONFIGURATION_ERROR)
        return document[key]
    if isinstance(value, dict) and "Fn::GetArtifactAtt" in value:
        artifact, attribute = value["Fn::GetArtifactAtt"]
        ref = _input(ctx, artifact)
        return {"BucketName": ref.bucket, "ObjectKey": ref.key,
                "URL": f"https://{ref.bucket}.s3.amazonaws.com/{ref.key}"}[attribute]
    return value


def _artifact_file(ctx: ActionContext, path: str) -> bytes:
    artifact, sep, name = path.partition("::")
    if not sep or not name:
        raise DeployError(f"{path!r} must be ArtifactName::path/in/artifact",
                          CONFIGURATION_ERROR)
    ref = _input(ctx, artifact)
    with open_zip(read_input(ctx, ref), ref) as archive:
        try:
            return archive.read(name)
        except KeyError as err:
            raise DeployError(f"{name} is not in input artifact {artifact}",
                              CONFIGURATION_ERROR) from err


def _input(ctx: ActionContext, name: str) -> ArtifactRef:
    for ref in ctx.input_artifacts:
        if ref.name == name:
            return ref
    raise DeployError(f"{name} is not an input artifact of this action", CONFIGURATION_ERROR)


def _status(cfn, stack: str) -> str | None:
    try:
        stacks = cfn.describe_stacks(StackName=stack)["Stacks"]
    except ClientError as err:
        if "does not exist" in str(err):
            return None
        raise DeployError(f"describe stack {stack}: {err}") from err
    return stacks[0]["StackStatus"] if stacks else None


def _wait(cfn, stack: str) -> dict[str, Any]:
    deadline = time.monotonic() + _WAIT_SECONDS
    while True:
        described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
        if not described["StackStatus"].endswith("_IN_PROGRESS") or \
                time.monotonic() > deadline:
            return described
        time.sleep(1)


def _delete(cfn, stack: str) -> None:
    if _status(cfn, stack) is not None:
        _call(f"delete stack {stack}", cfn.delete_stack, StackName=stack)


def _failed_resource(cfn, stack: str) -> str:
    """The first resource that failed, with its reason, from the stack's events."""
    for event in cfn.describe_stack_events(StackName=stack).get("StackEvents", []):
        if event.get("ResourceStatus", "").endswith("_FAILED") and \
                event.get("LogicalResourceId") != stack:
            return (f"{event['LogicalResourceId']} ({event.get('ResourceType')}): "
                    f"{event.get('ResourceStatusReason', '')}")
    return "no failed resource reported"


def _call(what: str, call, **kwargs: Any) -> dict[str, Any]:
    try:
        return call(**kwargs)
    except ClientError as err:
        raise DeployError(f"{what}: {err}") from err
