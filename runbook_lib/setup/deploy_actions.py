"""Action declarations of the pipeline: the source action per provider, the deploy action per
target.

Kept apart from :mod:`runbook_lib.setup.pipeline` because each provider has its own configuration
keys (CodePipeline's action structure reference), and a table of small builders is easier to
check against that reference than one long function. Every builder is pure: parameters and
names in, one ``ActionDeclaration`` dict out.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from runbook_lib.core.params import Params, ResourceNames
from runbook_lib.core.tags import ownership_tags

SOURCE_ACTION = "Source"
SOURCE_OUTPUT = "SourceOutput"
SOURCE_NAMESPACE = "SourceVariables"
BUILD_OUTPUT = "BuildOutput"
BUILD_NAMESPACE = "BuildVariables"

IMAGE_DEFINITIONS_FILE = "imagedefinitions.json"
TASK_DEFINITION_TEMPLATE = "taskdef.json"
APPSPEC_TEMPLATE = "appspec.yaml"
IMAGE_PLACEHOLDER = "IMAGE1_NAME"
CLOUDFORMATION_TEMPLATE = "packaged.yaml"
CLOUDFORMATION_CAPABILITIES = "CAPABILITY_IAM,CAPABILITY_AUTO_EXPAND"
# The build variable naming the template file the CloudFormation deploy reads from BuildOutput
# (the sample app's build writes its infra/template.yaml there under that name).
STACK_TEMPLATE_VARIABLE = "STACK_TEMPLATE"
# And the template configuration it writes beside it: the stack's tags (the suite's ownership
# tags, which CloudFormation also puts on the stack's resources; teardown reads them).
CLOUDFORMATION_CONFIGURATION = "stack-configuration.json"
STACK_TAGS_VARIABLE = "STACK_TAGS"


def action_type(category: str, provider: str) -> dict[str, str]:
    """An AWS-owned action type; every action the suite declares is version 1."""
    return {"category": category, "owner": "AWS", "provider": provider, "version": "1"}


def revision_variable(params: Params) -> str:
    """The variable that names the source revision, for versioning artifacts and images.

    Git sources (connections, CodeCommit) emit ``CommitId``; an S3 source has no commit, so its
    object ``VersionId`` stands in (S3 source buckets must be versioned, so it always exists).
    """
    key = "VersionId" if params.source_provider == "s3" else "CommitId"
    return f"#{{{SOURCE_NAMESPACE}.{key}}}"


# -- source -------------------------------------------------------------------------------------


def source_action(params: Params, names: ResourceNames) -> dict:
    """The source action for ``params.source_provider``.

    Change detection is never the action's own: connection sources are started by the V2
    trigger (filtered to the branch), CodeCommit and S3 sources by an EventBridge rule, so
    ``DetectChanges`` and ``PollForSourceChanges`` are "false" (polling is slow and, with a
    trigger or rule, would start every run twice).
    """
    provider, configuration = _SOURCE_BUILDERS[params.source_provider](params, names)
    return {
        "name": SOURCE_ACTION,
        "actionTypeId": action_type("Source", provider),
        "runOrder": 1,
        "configuration": configuration,
        "outputArtifacts": [{"name": SOURCE_OUTPUT}],
        "inputArtifacts": [],
        "namespace": SOURCE_NAMESPACE,
    }


def _connection_source(params: Params, names: ResourceNames) -> tuple[str, dict[str, str]]:
    return "CodeStarSourceConnection", {
        "ConnectionArn": names.connection_arn,
        "FullRepositoryId": params.source_repo,
        "BranchName": params.source_branch,
        "OutputArtifactFormat": "CODE_ZIP",
        "DetectChanges": "false",
    }


def _codecommit_source(params: Params, names: ResourceNames) -> tuple[str, dict[str, str]]:
    return "CodeCommit", {
        "RepositoryName": names.codecommit_repository,
        "BranchName": params.source_branch,
        "PollForSourceChanges": "false",
        "OutputArtifactFormat": "CODE_ZIP",
    }


def _s3_source(_params: Params, names: ResourceNames) -> tuple[str, dict[str, str]]:
    bucket, key = names.source_object
    return "S3", {"S3Bucket": bucket, "S3ObjectKey": key, "PollForSourceChanges": "false"}


_SOURCE_BUILDERS: dict[str, Callable[[Params, ResourceNames], tuple[str, dict[str, str]]]] = {
    "github": _connection_source,
    "gitlab": _connection_source,
    "bitbucket": _connection_source,
    "codecommit": _codecommit_source,
    "s3": _s3_source,
}


# -- build --------------------------------------------------------------------------------------


def build_action(params: Params, names: ResourceNames) -> dict:
    """CodeBuild, given the source revision as ``COMMIT_SHA`` so that the build can version its
    artifacts and images by commit (the buildspec reads it; nothing is tagged ``latest``)."""
    variables = [{"name": "COMMIT_SHA", "value": revision_variable(params), "type": "PLAINTEXT"}]
    if params.deploy_provider == "cloudformation":
        tags = json.dumps(ownership_tags(params.app_name), separators=(",", ":"))
        variables += [{"name": STACK_TEMPLATE_VARIABLE, "value": CLOUDFORMATION_TEMPLATE,
                       "type": "PLAINTEXT"},
                      {"name": STACK_TAGS_VARIABLE, "value": tags, "type": "PLAINTEXT"}]
    return {
        "name": "Build",
        "actionTypeId": action_type("Build", "CodeBuild"),
        "runOrder": 1,
        "configuration": {
            "ProjectName": names.build_project,
            "EnvironmentVariables": json.dumps(variables, separators=(",", ":")),
        },
        "outputArtifacts": [{"name": BUILD_OUTPUT}],
        "inputArtifacts": [{"name": SOURCE_OUTPUT}],
        "namespace": BUILD_NAMESPACE,
    }


# -- deploy -------------------------------------------------------------------------------------


def deploy_action(params: Params, names: ResourceNames, environment: int) -> dict:
    """The deploy action for ``params.deploy_provider`` into environment 0 (staging) or 1
    (production); both environments use the same provider so staging rehearses production."""
    provider, configuration = _DEPLOY_BUILDERS[params.deploy_provider](params, names, environment)
    return {
        "name": "Deploy",
        "actionTypeId": action_type("Deploy", provider),
        "runOrder": 1,
        "configuration": configuration,
        "outputArtifacts": [],
        "inputArtifacts": [{"name": BUILD_OUTPUT}],
    }


def _s3_deploy(_params: Params, names: ResourceNames, env: int) -> tuple[str, dict[str, str]]:
    return "S3", {"BucketName": names.deploy_buckets[env], "Extract": "true"}


def _ecs_deploy(_params: Params, names: ResourceNames, env: int) -> tuple[str, dict[str, str]]:
    return "ECS", {
        "ClusterName": names.ecs_cluster,
        "ServiceName": names.ecs_services[env],
        "FileName": IMAGE_DEFINITIONS_FILE,
    }


def _codedeploy_ecs_deploy(_params: Params, names: ResourceNames,
                           env: int) -> tuple[str, dict[str, str]]:
    """Blue/green through CodeDeploy: the build writes taskdef.json, appspec.yaml and
    imageDetail.json; CodeDeploy puts the image URI in place of <IMAGE1_NAME>."""
    return "CodeDeployToECS", {
        "ApplicationName": names.codedeploy_application,
        "DeploymentGroupName": names.codedeploy_groups[env],
        "TaskDefinitionTemplateArtifact": BUILD_OUTPUT,
        "TaskDefinitionTemplatePath": TASK_DEFINITION_TEMPLATE,
        "AppSpecTemplateArtifact": BUILD_OUTPUT,
        "AppSpecTemplatePath": APPSPEC_TEMPLATE,
        "Image1ArtifactName": BUILD_OUTPUT,
        "Image1ContainerName": IMAGE_PLACEHOLDER,
    }


def _codedeploy_ec2_deploy(_params: Params, names: ResourceNames,
                           env: int) -> tuple[str, dict[str, str]]:
    return "CodeDeploy", {
        "ApplicationName": names.codedeploy_application,
        "DeploymentGroupName": names.codedeploy_groups[env],
    }


def _cloudformation_deploy(params: Params, names: ResourceNames,
                           env: int) -> tuple[str, dict[str, str]]:
    """The build packages the template (``aws cloudformation package``) into BuildOutput; the
    stack is changed by its own role, never with the pipeline role's permissions. The template
    is told its environment and the release it carries (the sample app's template takes
    both; an operator's template declares the same two parameters)."""
    overrides = {"Environment": params.environments[env], "Release": revision_variable(params)}
    return "CloudFormation", {
        "ActionMode": "CREATE_UPDATE",
        "StackName": names.cloudformation_stacks[env],
        "TemplatePath": f"{BUILD_OUTPUT}::{CLOUDFORMATION_TEMPLATE}",
        "TemplateConfiguration": f"{BUILD_OUTPUT}::{CLOUDFORMATION_CONFIGURATION}",
        "Capabilities": CLOUDFORMATION_CAPABILITIES,
        "RoleArn": names.role_arn(names.cloudformation_role),
        "ParameterOverrides": json.dumps(overrides, separators=(",", ":")),
    }


_DEPLOY_BUILDERS: dict[str, Callable[[Params, ResourceNames, int], tuple[str, dict[str, str]]]] = {
    "s3": _s3_deploy,
    "ecs": _ecs_deploy,
    "codedeploy-ecs": _codedeploy_ecs_deploy,
    "codedeploy-ec2": _codedeploy_ec2_deploy,
    "cloudformation": _cloudformation_deploy,
}


# -- approval -----------------------------------------------------------------------------------


def approval_action(params: Params, names: ResourceNames) -> dict:
    """Manual approval: SNS tells the approvers, and CodePipeline records who decided and why."""
    revision = revision_variable(params)
    staging, production = params.environments
    where = params.review_url or f"the {staging} environment"
    configuration = {
        "NotificationArn": names.topic_arn(names.approval_topic),
        "CustomData": (
            f"Release {revision} of {params.app_name} to {production}? It is live in {staging}: "
            f"check {where} (smoke test, error rate, logs and alarms) before approving; "
            "reject with a reason to stop it."
        ),
    }
    if params.review_url:
        configuration["ExternalEntityLink"] = params.review_url
    return {
        "name": "Approve",
        "actionTypeId": action_type("Approval", "Manual"),
        "runOrder": 1,
        "configuration": configuration,
        "outputArtifacts": [],
        "inputArtifacts": [],
    }
