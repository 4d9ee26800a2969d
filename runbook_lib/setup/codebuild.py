"""The CodeBuild project that runs the buildspec, and the log group its builds write to.

One project per app, fed by CodePipeline (source and artifacts of type CODEPIPELINE). The plan
creates the log group first, so that every build logs to a group with a retention policy and
ownership tags, then creates the project or updates only the fields that drifted.

Build variables come in three kinds: PLAINTEXT for non-sensitive values only, PARAMETER_STORE
for configuration and SECRETS_MANAGER for secrets. A plaintext variable that looks secret is
refused before any AWS call, because plaintext values are visible to anyone who can read the
project.
"""

from __future__ import annotations

from typing import Any

from runbook_lib.core import redact, tags
from runbook_lib.core.converge import (
    create_or_adopt,
    role_exists_check,
    while_role_propagates,
)
from runbook_lib.core.errors import ParameterError, aws_step
from runbook_lib.core.params import Params, ResourceNames, pairs_to_dict
from runbook_lib.core.plan import Change, Plan, converge, diff_values
from runbook_lib.core.session import AwsSession
from runbook_lib.setup import source

LOG_RETENTION_DAYS = 30
BUILDSPEC_PATH = "buildspec.yml"
RESERVED_PREFIX = "CODEBUILD_"

# Top-level project fields the suite sets and therefore compares and updates; CodeBuild's own
# defaults (queuedTimeoutInMinutes, badge, s3Logs...) are left alone.
MANAGED_FIELDS = ("description", "source", "artifacts", "environment", "serviceRole",
                  "timeoutInMinutes", "cache", "logsConfig", "encryptionKey")

# Plaintext variables the suite derives itself for Docker builds (never secret).
DOCKER_VARIABLES = ("ECR_REGISTRY", "IMAGE_REPO_NAME", "CONTAINER_NAME")

_LOCAL_CACHE_MODES = ("LOCAL_SOURCE_CACHE", "LOCAL_CUSTOM_CACHE")
_DOCKER_CACHE_MODE = "LOCAL_DOCKER_LAYER_CACHE"


# -- desired configuration ------------------------------------------------------------------------


def build_environment_variables(params: Params, names: ResourceNames) -> list[dict[str, str]]:
    """The project's environment variables, in a stable order.

    Plaintext first (refused when secret-looking), then the Docker push variables, then
    Parameter Store references to the staging config (the build and its tests use staging),
    then Secrets Manager references. Values of the last two are names, never resolved here.
    """
    variables = [_plaintext(name, value)
                 for name, value in pairs_to_dict(params.plaintext_variables or ()).items()]
    if params.builds_docker:
        # Derived by the suite, not typed by the operator: no secret check (a registry host is
        # long and varied enough to look random).
        values = (ecr_registry(names), names.ecr_repository, params.container_name)
        variables += [_variable(name, "PLAINTEXT", value)
                      for name, value in zip(DOCKER_VARIABLES, values, strict=True)]
    config_path = names.ssm_path(params.staging_name)
    ssm_keys = [*pairs_to_dict(params.config_parameters or ()), *(params.secure_config_names or ())]
    variables += [_variable(key, "PARAMETER_STORE", config_path + key) for key in ssm_keys]
    variables += [_variable(key, "SECRETS_MANAGER", names.secret_name(params.staging_name, key))
                  for key in (params.secret_names or ())]
    _refuse_clashes(params, variables)
    return variables


def ecr_registry(names: ResourceNames) -> str:
    """The account's ECR registry host, where Docker builds push their image."""
    return f"{names.account_id}.dkr.ecr.{names.region}.amazonaws.com"


def build_cache(params: Params, names: ResourceNames) -> dict[str, Any]:
    """S3 cache survives between build hosts; LOCAL is faster but only while a host is warm."""
    if params.cache_mode == "s3":
        return {"type": "S3", "location": names.cache_location}
    if params.cache_mode == "local":
        modes = [*_LOCAL_CACHE_MODES, *([_DOCKER_CACHE_MODE] if params.builds_docker else [])]
        return {"type": "LOCAL", "modes": modes}
    return {"type": "NO_CACHE"}


def desired_project(params: Params, names: ResourceNames, buildspec: str = BUILDSPEC_PATH
                    ) -> dict[str, Any]:
    """The CreateProject request for this app: every field the suite manages, plus tags.

    ``buildspec`` is the path CodeBuild reads from the source, or a template's text for a
    repository that carries none (:func:`runbook_lib.setup.source.project_buildspec`).
    """
    project: dict[str, Any] = {
        "name": names.build_project,
        "description": f"Build stage of {names.pipeline} (managed by pipeline-runbooks)",
        "source": {"type": "CODEPIPELINE", "buildspec": buildspec},
        "artifacts": {"type": "CODEPIPELINE"},
        "environment": {
            "type": "LINUX_CONTAINER",
            "image": params.build_image,
            "computeType": params.compute_type,
            # A privileged container is root on the build host: only Docker builds need it.
            "privilegedMode": params.builds_docker,
            "environmentVariables": build_environment_variables(params, names),
        },
        "serviceRole": names.role_arn(names.codebuild_role),
        "timeoutInMinutes": params.build_timeout_minutes,
        "cache": build_cache(params, names),
        "logsConfig": {"cloudWatchLogs": {"status": "ENABLED", "groupName": names.log_group}},
        "tags": tags.as_tag_list(tags.ownership_tags(params.app_name), key="key", value="value"),
    }
    if params.kms_key_arn:
        project["encryptionKey"] = params.kms_key_arn
    return project


def project_update_request(current: dict[str, Any], desired: dict[str, Any]) -> dict[str, Any]:
    """An UpdateProject request carrying only the managed fields that differ.

    Each field goes whole, because CodeBuild replaces a field (environment, cache...) as a unit.
    """
    request: dict[str, Any] = {"name": desired["name"]}
    for key in MANAGED_FIELDS:
        if key in desired and diff_values(current.get(key), desired[key]):
            request[key] = desired[key]
    return request


def _managed_view(project: dict[str, Any], desired: dict[str, Any]) -> dict[str, Any]:
    """The managed fields ``desired`` sets, as ``project`` has them: CodeBuild's own defaults
    (a default ``encryptionKey``, say) never look like drift."""
    return {k: project.get(k) for k in MANAGED_FIELDS if k in desired}


def _plaintext(name: str, value: str) -> dict[str, str]:
    if redact.looks_secret(name, value):
        reason = "its name" if redact.looks_like_secret_name(name) else "its value"
        raise ParameterError(
            "plaintext_variables",
            name,
            f"{name} looks like a secret (by {reason}, not shown) and plaintext build variables "
            "are readable by anyone who can read the project; store it with the "
            f"config-and-secrets notebook (secret_names={name}); it will be wired as "
            "SECRETS_MANAGER",
            "NODE_ENV=production",
        )
    return _variable(name, "PLAINTEXT", value)


def _variable(name: str, kind: str, value: str) -> dict[str, str]:
    return {"name": name, "value": value, "type": kind}


def _refuse_clashes(params: Params, variables: list[dict[str, str]]) -> None:
    """One name, one variable; and CODEBUILD_ names belong to CodeBuild."""
    seen: set[str] = set()
    for var in variables:
        name = var["name"]
        if name.upper().startswith(RESERVED_PREFIX):
            raise ParameterError(_field_of(params, name), name,
                                 f"names starting with {RESERVED_PREFIX} are reserved by "
                                 "CodeBuild; rename the variable", "APP_MODE")
        if name in seen:
            raise ParameterError(_field_of(params, name), name,
                                 "the same variable name is set twice (across "
                                 "plaintext_variables, config_parameters, secure_config_names, "
                                 "secret_names and the Docker variables); keep one", "APP_MODE")
        seen.add(name)


def _field_of(params: Params, name: str) -> str:
    if name in (params.secret_names or ()):
        return "secret_names"
    if name in (params.secure_config_names or ()):
        return "secure_config_names"
    if name in pairs_to_dict(params.config_parameters or ()):
        return "config_parameters"
    return "plaintext_variables"


# -- plan -----------------------------------------------------------------------------------------


def plan_build_project(session: AwsSession, params: Params, names: ResourceNames) -> Plan:
    """Log group, then project: create what is missing, update only what drifted.

    Read calls only; raises ``NotOwnedError`` for an untagged look-alike of either resource and
    ``ParameterError`` for a secret-looking plaintext variable, before anything changes.
    """
    params, _ = source.resolve(session, params)  # a detected docker template: privileged
    desired = desired_project(params, names, source.project_buildspec(session, params))
    plan = Plan("build project")
    plan.add(_log_group_change(session, params, names))
    plan.add(project_change(session, params, desired, _ROLE_HINT,
                            _project_details(desired, params)))
    return plan


def _log_group_change(session: AwsSession, params: Params, names: ResourceNames) -> Change:
    logs = session.client("logs")
    group = names.log_group
    resource = f"log group {group}"
    current = find_log_group(session, group)
    if current is not None:
        with aws_step(f"list tags of {resource}"):
            found = logs.list_tags_for_resource(resourceArn=names.log_group_arn)["tags"]
        tags.require_owned(resource, found, params.app_name)

    def adopt() -> None:  # it exists after all (a lost answer was retried): ours?
        found = logs.list_tags_for_resource(resourceArn=names.log_group_arn)["tags"]
        tags.require_owned(resource, found, params.app_name)

    def create() -> None:
        with aws_step(f"create {resource}"):
            create_or_adopt(lambda: logs.create_log_group(
                logGroupName=group, tags=tags.ownership_tags(params.app_name)),
                ("ResourceAlreadyExistsException",), adopt)
            logs.put_retention_policy(logGroupName=group, retentionInDays=LOG_RETENTION_DAYS)

    def update() -> None:
        with aws_step(f"set retention of {resource}"):
            logs.put_retention_policy(logGroupName=group, retentionInDays=LOG_RETENTION_DAYS)

    return converge(
        resource,
        None if current is None else {"retentionInDays": current.get("retentionInDays")},
        {"retentionInDays": LOG_RETENTION_DAYS},
        create,
        update,
        [f"retentionInDays: {LOG_RETENTION_DAYS}", _tags_line(params.app_name)],
    )


def find_log_group(session: AwsSession, group: str) -> dict[str, Any] | None:
    """The log group named exactly ``group``, or None (a prefix search, filtered)."""
    paginator = session.client("logs").get_paginator("describe_log_groups")
    with aws_step(f"describe log group {group}"):
        for page in paginator.paginate(logGroupNamePrefix=group):
            for found in page["logGroups"]:
                if found["logGroupName"] == group:
                    return found
    return None


def project_change(session: AwsSession, params: Params, desired: dict[str, Any], hint: str,
                   details: list[str]) -> Change:
    """Create-or-update one build project this app owns (the pipeline's, the report's).

    ``hint`` is the fix shown when CodeBuild rejects the request; ``details`` describe a new
    project in the plan.
    """
    codebuild = session.client("codebuild")
    name = desired["name"]
    resource = f"build project {name}"
    current = get_project(session, name)
    if current is not None:
        tags.require_owned(resource, tags.from_tag_list(current.get("tags")), params.app_name)

    def adopt() -> None:  # it exists after all (a lost answer was retried): ours, and same?
        found = get_project(session, name) or {}
        tags.require_owned(resource, tags.from_tag_list(found.get("tags")), params.app_name)
        if diff_values(_managed_view(found, desired), _managed_view(desired, desired)):
            codebuild.update_project(**project_update_request(found, desired))

    def create() -> None:
        with aws_step(f"create {resource}", hint):
            create_or_adopt(lambda: while_role_propagates(
                lambda: codebuild.create_project(**desired), f"create {resource}",
                desired["serviceRole"], role_exists_check(session, desired["serviceRole"])),
                ("ResourceAlreadyExistsException",), adopt)

    def update() -> None:
        assert current is not None, "converge updates only a project that exists"
        with aws_step(f"update {resource}", hint):
            while_role_propagates(
                lambda: codebuild.update_project(**project_update_request(current, desired)),
                f"update {resource}", desired["serviceRole"],
                role_exists_check(session, desired["serviceRole"]))

    return converge(resource, None if current is None else _managed_view(current, desired),
                    _managed_view(desired, desired), create, update, details)


def get_project(session: AwsSession, name: str) -> dict[str, Any] | None:
    """The project as BatchGetProjects answers it, or None when it does not exist."""
    with aws_step(f"describe build project {name}"):
        found = session.client("codebuild").batch_get_projects(names=[name])["projects"]
    return found[0] if found else None


def _project_details(desired: dict[str, Any], params: Params) -> list[str]:
    env, buildspec = desired["environment"], desired["source"]["buildspec"]
    return [
        "buildspec: " + (f"the {params.build_template} template, inline" if "\n" in buildspec
                         else f"{buildspec} in the source"),
        f"image: {env['image']} ({env['computeType']})",
        f"privilegedMode: {env['privilegedMode']}",
        f"logs: {desired['logsConfig']['cloudWatchLogs']['groupName']}",
        f"cache: {desired['cache']['type']}",
        f"timeoutInMinutes: {desired['timeoutInMinutes']}",
        "environmentVariables: " + (", ".join(v["name"] for v in env["environmentVariables"])
                                    or "none"),
        _tags_line(params.app_name),
    ]


def _tags_line(app_name: str) -> str:
    owned = tags.ownership_tags(app_name)
    return "tags: " + ", ".join(f"{k}={v}" for k, v in sorted(owned.items()))


_ROLE_HINT = ("if the CodeBuild role was created moments ago, IAM may still be propagating it: "
              "wait a minute and re-run; otherwise run the IAM roles notebook first")
