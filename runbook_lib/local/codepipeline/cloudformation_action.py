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

Where moto differs from AWS the action makes up the difference, so that a rehearsal fails where
AWS would: moto passes over resource types it does not model (the stack still ends complete),
so a template resource the stack lacks fails the action naming it; moto ignores Capabilities,
so IAM resources and transforms without theirs are refused as AWS refuses them; a resource that
fails leaves moto's stack half made in CREATE_IN_PROGRESS, so a creation that fails deletes it
(AWS rolls back) and such a stack counts as CREATE_FAILED (REPLACE_ON_FAILURE replaces it).
Which resource types moto's CloudFormation creates: docs/cloudformation.md.
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
from runbook_lib.local.codepipeline.cloudformation_template import (
    TemplateError,
    missing_capabilities,
    not_created,
    parse_template,
    template_resources,
)
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
# States in which REPLACE_ON_FAILURE deletes and creates the stack again (AWS's list).
_REPLACEABLE_STATES = ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED",
                       "DELETE_FAILED", "UPDATE_ROLLBACK_FAILED")
_FAILED_STATES = (*_REPLACEABLE_STATES, "UPDATE_ROLLBACK_COMPLETE", "UPDATE_FAILED")
_WAIT_SECONDS = 300
_MOTO = "the local AWS's CloudFormation (moto)"


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
            return self._execute_change_set(ctx, cfn, stack)
        arguments = _stack_arguments(ctx, stack)
        if mode == "CHANGE_SET_REPLACE":
            return self._replace_change_set(ctx, cfn, stack, arguments)
        return self._create_or_update(ctx, cfn, stack, mode, arguments)

    def _create_or_update(self, ctx: ActionContext, cfn, stack: str, mode: str,
                          arguments: dict[str, Any]) -> ActionOutcome:
        status = _status(cfn, stack)
        if status == "CREATE_IN_PROGRESS" and _half_made(cfn, stack):
            status = "CREATE_FAILED"  # what AWS would show for it
        if mode == "REPLACE_ON_FAILURE" and status in _REPLACEABLE_STATES:
            _delete(cfn, stack)
            status = None
        if status is None:
            _create(cfn, stack, arguments, cfn.create_stack, **arguments)
            return self._finish(ctx, cfn, stack, f"Stack {stack} created", created=True)
        if status in _REPLACEABLE_STATES:  # UPDATE_ROLLBACK_COMPLETE may be updated
            raise DeployError(f"Stack {stack} is in {status} state and can not be updated: "
                              "delete it, or use ActionMode REPLACE_ON_FAILURE")
        try:
            cfn.update_stack(**arguments)
        except ClientError as err:
            if "No updates are to be performed" not in str(err):
                raise DeployError(f"update stack {stack}: {_error(err)}"
                                  f"{_resources_hint(arguments)}") from err
            return self._finish(ctx, cfn, stack, f"Stack {stack} is up to date")
        return self._finish(ctx, cfn, stack, f"Stack {stack} updated")

    def _execute_change_set(self, ctx: ActionContext, cfn, stack: str) -> ActionOutcome:
        name = required_config(ctx, "ChangeSetName")
        _call(f"describe change set {name}", cfn.describe_change_set, ChangeSetName=name,
              StackName=stack)
        creating = _status(cfn, stack) == "REVIEW_IN_PROGRESS"
        template = _call(f"get template of {stack}", cfn.get_template, StackName=stack)
        arguments = {"StackName": stack, "TemplateBody": template.get("TemplateBody") or ""}
        call = _create if creating else _update
        call(cfn, stack, arguments, cfn.execute_change_set, ChangeSetName=name,
             StackName=stack)
        return self._finish(ctx, cfn, stack, f"Change set {name} executed", created=creating)

    def _replace_change_set(self, ctx: ActionContext, cfn, stack: str,
                            arguments: dict[str, Any]) -> ActionOutcome:
        name = required_config(ctx, "ChangeSetName")
        try:
            cfn.describe_change_set(ChangeSetName=name, StackName=stack)
            cfn.delete_change_set(ChangeSetName=name, StackName=stack)
        except ClientError:
            pass  # none yet (or it went with the stack)
        kind = "UPDATE" if _status(cfn, stack) not in (None, "REVIEW_IN_PROGRESS") else "CREATE"
        arguments = {k: v for k, v in arguments.items() if k != "StackPolicyBody"}
        _call(f"create change set {name}", cfn.create_change_set, ChangeSetName=name,
              ChangeSetType=kind, **arguments)
        return ActionOutcome("Succeeded", f"Change set {name} of stack {stack} is ready to "
                                          "execute")

    def _finish(self, ctx: ActionContext, cfn, stack: str, summary: str,
                created: bool = False) -> ActionOutcome:
        described = _wait(cfn, stack)
        if described["StackStatus"] in _FAILED_STATES:
            raise DeployError(f"Stack {stack} is {described['StackStatus']}: "
                              f"{_failed_resource(cfn, stack)}")
        _check_all_created(cfn, stack, created)
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
    policy = None
    if ctx.configuration.get("TemplateConfiguration"):
        config = _json_file(ctx, ctx.configuration["TemplateConfiguration"])
        parameters.update(config.get("Parameters") or {})
        tags.update(config.get("Tags") or {})
        policy = config.get("StackPolicy")
    if ctx.configuration.get("ParameterOverrides"):
        try:
            overrides = json.loads(ctx.configuration["ParameterOverrides"])
        except ValueError as err:
            raise DeployError(f"ParameterOverrides is not JSON: {err}",
                              CONFIGURATION_ERROR) from err
        if not isinstance(overrides, dict):
            raise DeployError("ParameterOverrides must be a JSON object of parameter names",
                              CONFIGURATION_ERROR)
        parameters.update({k: _resolve(ctx, v) for k, v in overrides.items()})
    arguments: dict[str, Any] = {
        "StackName": stack, "TemplateBody": template,
        "Parameters": [{"ParameterKey": k, "ParameterValue": str(v)}
                       for k, v in parameters.items()]}
    if tags:
        arguments["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
    if policy:
        arguments["StackPolicyBody"] = json.dumps(policy)
    if ctx.configuration.get("Capabilities"):
        arguments["Capabilities"] = [c.strip() for c in
                                     ctx.configuration["Capabilities"].split(",") if c.strip()]
    if ctx.configuration.get("RoleArn"):
        arguments["RoleARN"] = ctx.configuration["RoleArn"]
    _check_capabilities(template, arguments.get("Capabilities", []))
    return arguments


def _check_capabilities(body: str, granted: list[str]) -> None:
    """AWS refuses IAM resources and transforms without their capability; moto does not."""
    try:
        missing = missing_capabilities(parse_template(body), granted)
    except TemplateError as err:
        raise DeployError(f"TemplatePath: {err}", CONFIGURATION_ERROR) from err
    if missing:
        raise DeployError(f"InsufficientCapabilitiesException: Requires capabilities : "
                          f"[{', '.join(missing)}] (add them to the action's Capabilities)",
                          CONFIGURATION_ERROR)


def _resolve(ctx: ActionContext, value: Any) -> Any:
    """``Fn::GetParam`` and ``Fn::GetArtifactAtt`` in a parameter override."""
    if isinstance(value, dict) and "Fn::GetParam" in value:
        artifact, file_name, key = value["Fn::GetParam"]
        document = _json_file(ctx, f"{artifact}::{file_name}")
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


def _json_file(ctx: ActionContext, path: str) -> dict[str, Any]:
    try:
        document = json.loads(_artifact_file(ctx, path))
    except ValueError as err:
        raise DeployError(f"{path} is not JSON: {err}", CONFIGURATION_ERROR) from err
    if not isinstance(document, dict):
        raise DeployError(f"{path} is not a JSON object", CONFIGURATION_ERROR)
    return document


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


def _half_made(cfn, stack: str) -> bool:
    """moto's mark of a creation whose resource failed outside this action: the stack stays
    CREATE_IN_PROGRESS and listing its resources fails again with that resource's error."""
    try:
        next(iter(cfn.get_paginator("list_stack_resources").paginate(StackName=stack)))
    except ClientError:
        return True
    return False


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


def _create(cfn, stack: str, arguments: dict[str, Any], call, **kwargs: Any) -> None:
    """Create (a stack, or execute a CREATE change set). moto creates every resource inside
    the call and, when one fails, answers that resource's error and leaves the stack half made
    in CREATE_IN_PROGRESS; it is deleted here, as AWS rolls a failed creation back."""
    try:
        call(**kwargs)
    except ClientError as err:
        if _status(cfn, stack) is not None:
            cfn.delete_stack(StackName=stack)
        raise DeployError(f"create stack {stack}: {_error(err)}{_resources_hint(arguments)}; "
                          "the half-made stack was deleted (as AWS rolls back)") from err


def _update(cfn, stack: str, arguments: dict[str, Any], call, **kwargs: Any) -> None:
    try:
        call(**kwargs)
    except ClientError as err:
        raise DeployError(f"update stack {stack}: {_error(err)}"
                          f"{_resources_hint(arguments)}") from err


def _error(err: ClientError) -> str:
    error = err.response.get("Error", {})
    return f"{error.get('Code', 'Error')}: {error.get('Message', str(err))}"


def _resources_hint(arguments: dict[str, Any]) -> str:
    """Which resources the failed call was making: moto names none in its error."""
    try:
        resources = template_resources(parse_template(arguments.get("TemplateBody") or ""))
    except TemplateError:
        return ""
    return (f" ({_MOTO} stopped at one of its resources: "
            f"{', '.join(r.label for r in resources)})")


def _check_all_created(cfn, stack: str, created: bool) -> None:
    """Fail, naming them, when the stack lacks resources of its template: moto passes over
    the resource types it does not model and still reports the stack complete."""
    template = parse_template(cfn.get_template(StackName=stack)["TemplateBody"])
    held = {r["LogicalResourceId"]
            for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack)
            for r in page["StackResourceSummaries"] if r.get("LogicalResourceId")}
    missing = not_created(template, held)
    if not missing:
        return
    if created:
        cfn.delete_stack(StackName=stack)
    types = sorted({r.type for r in missing})
    raise DeployError(
        f"Stack {stack}: {', '.join(r.label for r in missing)} not created: {_MOTO} does not "
        f"create {', '.join(types)} (AWS would); the resource types it creates are listed in "
        "docs/cloudformation.md" + ("; the stack was deleted (as AWS rolls back)"
                                    if created else ""))


def _call(what: str, call, **kwargs: Any) -> dict[str, Any]:
    try:
        return call(**kwargs)
    except ClientError as err:
        raise DeployError(f"{what}: {err}") from err
