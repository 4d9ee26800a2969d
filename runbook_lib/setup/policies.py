"""Least-privilege policy documents for the suite's service roles, generated from the parameters.

A build role runs whatever a commit puts in the buildspec, so anything it may do, any commit may
do. Every statement therefore names the app's own resources (ARNs from ``ResourceNames``); the
few actions AWS authorizes only on ``Resource: "*"`` are listed once, with the reason and the
Service Authorization Reference page, in :data:`STAR_ONLY_ACTIONS`, and the generator refuses any
other action on ``"*"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from runbook_lib.core.params import Params, ResourceNames

POLICY_VERSION = "2012-10-17"
INLINE_POLICY_NAME = "runbook-scoped"

_SAR = "https://docs.aws.amazon.com/service-authorization/latest/reference/"


@dataclass(frozen=True)
class StarOnlyAction:
    """An action that supports no resource-level permission, so it may only name ``"*"``."""

    reason: str
    reference: str


STAR_ONLY_ACTIONS: dict[str, StarOnlyAction] = {
    "ecr:GetAuthorizationToken": StarOnlyAction(
        "docker login token for the registry; the action has no resource type",
        _SAR + "list_amazonelasticcontainerregistry.html",
    ),
    "ecs:DescribeTaskDefinition": StarOnlyAction(
        "the ECS deploy action reads the service's current task definition; no resource type",
        _SAR + "list_amazonelasticcontainerservice.html",
    ),
    "cloudformation:ValidateTemplate": StarOnlyAction(
        "the CloudFormation deploy action validates the template before a change set; no "
        "resource type",
        _SAR + "list_awscloudformation.html",
    ),
}

@dataclass(frozen=True)
class LinterGap:
    """A parliament finding that AWS's own reference contradicts (its action data lags AWS)."""

    issue: str
    action: str
    why: str
    reference: str


# Findings of parliament (the policy linter the tests run) that are wrong for these policies.
# The parliament test fails on any finding not listed here, and on an entry no policy triggers.
PARLIAMENT_KNOWN_GAPS: tuple[LinterGap, ...] = tuple(
    LinterGap(
        "UNKNOWN_CONDITION_FOR_ACTION", action,
        "kms:ResourceAliases is a condition key of the KMS 'key' resource type, which every "
        "key-use action accepts; parliament only looks at per-action keys",
        "https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html"
        "#conditions-kms-resource-aliases",
    )
    for action in ("kms:Decrypt", "kms:GenerateDataKey")
)

@dataclass(frozen=True)
class RoleSpec:
    """One service role as the suite wants it: name, trust policy, inline permissions."""

    name: str
    service: str
    description: str
    trust: dict[str, Any]
    permissions: dict[str, Any]


# -- the roles ----------------------------------------------------------------------------------


def role_specs(params: Params, names: ResourceNames) -> list[RoleSpec]:
    """Every role the parameters call for, in creation order."""
    specs = [
        RoleSpec(
            names.codebuild_role, "codebuild.amazonaws.com",
            f"CodeBuild service role of {names.build_project} (pipeline runbooks)",
            trust_policy("codebuild.amazonaws.com", names, names.build_project_arn),
            codebuild_permissions(params, names),
        ),
        RoleSpec(
            names.codepipeline_role, "codepipeline.amazonaws.com",
            f"CodePipeline service role of {names.pipeline} (pipeline runbooks)",
            trust_policy("codepipeline.amazonaws.com", names, names.pipeline_arn),
            codepipeline_permissions(params, names),
        ),
    ]
    if params.deploy_provider == "cloudformation":
        specs.append(RoleSpec(
            names.cloudformation_role, "cloudformation.amazonaws.com",
            f"Changes the stacks {' and '.join(names.cloudformation_stacks)} (pipeline runbooks)",
            account_trust_policy("cloudformation.amazonaws.com", names),
            stack_permissions(names),
        ))
    if needs_events_role(params):
        specs.append(RoleSpec(
            names.events_role, "events.amazonaws.com",
            f"Lets the source-change rule start {names.pipeline} (pipeline runbooks)",
            trust_policy("events.amazonaws.com", names, names.source_change_rule_arn),
            events_permissions(names),
        ))
    return specs


def needs_events_role(params: Params) -> bool:
    """CodeCommit and S3 sources signal changes through an EventBridge rule that needs a role.

    Connection sources (GitHub, GitLab, Bitbucket) trigger the pipeline themselves, and the
    failure rule's SNS target is authorized by the topic policy, so no role is needed then.
    """
    return params.source_provider in ("codecommit", "s3")


def trust_policy(service: str, names: ResourceNames, source_arn: str) -> dict[str, Any]:
    """Only ``service`` may assume the role, and only on behalf of this account's resource.

    The two conditions stop the confused-deputy case: another account's pipeline or project
    naming this role.
    """
    return _document([{
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceAccount": names.account_id,
                                       "aws:SourceArn": source_arn}},
    }])


def account_trust_policy(service: str, names: ResourceNames) -> dict[str, Any]:
    """Only ``service``, acting for this account: for CloudFormation's stack role.

    CloudFormation's service-role guide documents no ``aws:SourceArn`` for the stacks it acts
    on, so the role names the account only; who may hand it to CloudFormation is the guard
    (iam:PassRole on this one role, granted to the pipeline role alone).
    """
    return _document([{
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceAccount": names.account_id}},
    }])


def stack_permissions(names: ResourceNames) -> dict[str, Any]:
    """What the sample template's resources need (runbook_lib/sample_app/infra/template.yaml),
    on the two stacks' own resource names only: a template that declares anything else is
    refused by IAM, not by review. An operator's own template adds its statements here."""
    stacks = names.cloudformation_stacks
    return _document([
        _allow("ReleaseParameter", ["ssm:PutParameter", "ssm:GetParameter", "ssm:GetParameters",
                                    "ssm:DeleteParameter", "ssm:AddTagsToResource",
                                    "ssm:RemoveTagsFromResource", "ssm:ListTagsForResource"],
               [names.arn("ssm", f"parameter/{stack}/release") for stack in stacks]),
        _allow("AlertsTopic", ["sns:CreateTopic", "sns:DeleteTopic", "sns:GetTopicAttributes",
                               "sns:SetTopicAttributes", "sns:TagResource", "sns:UntagResource",
                               "sns:ListTagsForResource", "sns:ListSubscriptionsByTopic"],
               [names.arn("sns", f"{stack}-alerts") for stack in stacks]),
    ])


# -- CodeBuild ----------------------------------------------------------------------------------


def codebuild_permissions(params: Params, names: ResourceNames) -> dict[str, Any]:
    """Logs, its artifacts and cache, its environments' config and secrets, its report groups;
    ECR for docker.

    A buildspec is code from any commit, so the role reaches only what the build uses: objects
    under the pipeline's artifact folder and the project's cache folder (not the approvals
    audit trail beside them), and the config and secrets of the build's environments (staging),
    never production's.
    """
    bucket = names.artifact_bucket_arn
    objects = [f"{bucket}/{names.pipeline_artifact_prefix}/*",
               f"{bucket}/{names.cache_prefix}/*"]
    environments = params.build_environments
    statements = [
        _allow("BuildLogs", ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
               [names.log_group_arn, f"{names.log_group_arn}:*"]),
        _allow("ArtifactAndCacheObjects", ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"],
               objects),
        _allow("ArtifactBucket", ["s3:GetBucketAcl", "s3:GetBucketLocation"], [bucket]),
        _allow("ConfigParameters", ["ssm:GetParameters"],
               [names.arn("ssm", f"parameter{names.ssm_path(env)}*") for env in environments]),
        _allow("Secrets", ["secretsmanager:GetSecretValue"],
               [names.arn("secretsmanager", f"secret:{names.secret_name(env, '*')}")
                for env in environments]),
        _allow("TestReports", ["codebuild:CreateReportGroup", "codebuild:CreateReport",
                               "codebuild:UpdateReport", "codebuild:BatchPutTestCases",
                               "codebuild:BatchPutCodeCoverages"],
               [names.arn("codebuild", f"report-group/{names.build_project}-*")]),
    ]
    if params.builds_docker:
        statements += [
            _allow("ImagePushPull", ["ecr:BatchCheckLayerAvailability",
                                     "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage",
                                     "ecr:PutImage", "ecr:InitiateLayerUpload",
                                     "ecr:UploadLayerPart", "ecr:CompleteLayerUpload"],
                   [names.ecr_repository_arn]),
            _star("RegistryLogin", ["ecr:GetAuthorizationToken"]),
        ]
    statements += _kms_statements(params)
    return _document(statements)


# -- CodePipeline -------------------------------------------------------------------------------


def codepipeline_permissions(params: Params, names: ResourceNames) -> dict[str, Any]:
    """Artifacts, the build project, the source, approvals and the chosen deploy target."""
    bucket = names.artifact_bucket_arn
    statements = [
        _allow("ArtifactBucket", ["s3:GetBucketVersioning", "s3:GetBucketAcl",
                                  "s3:GetBucketLocation"], [bucket]),
        _allow("ArtifactObjects", ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"],
               [f"{bucket}/*"]),
        _allow("BuildProject", ["codebuild:StartBuild", "codebuild:BatchGetBuilds",
                                "codebuild:StopBuild"], [names.build_project_arn]),
        *_source_statements(params, names),
        _allow("ApprovalNotice", ["sns:Publish"], [names.topic_arn(names.approval_topic)]),
        *_DEPLOY_STATEMENTS[params.deploy_provider](params, names),
        *_kms_statements(params),
    ]
    return _document(statements)


def _source_statements(params: Params, names: ResourceNames) -> list[dict[str, Any]]:
    if params.uses_connection:
        # CodeStar Connections was renamed CodeConnections; a policy's action prefix must match
        # the prefix in the connection's ARN (https://docs.aws.amazon.com/dtconsole/latest/
        # userguide/rename.html), so grant only the one that applies to this connection.
        service = names.connection_arn.split(":")[2]
        return [_allow("SourceConnection", [f"{service}:UseConnection"], [names.connection_arn])]
    if params.source_provider == "codecommit":
        return [_allow("SourceRepository", ["codecommit:GetBranch", "codecommit:GetCommit",
                                            "codecommit:GetRepository",
                                            "codecommit:UploadArchive",
                                            "codecommit:GetUploadArchiveStatus",
                                            "codecommit:CancelUploadArchive"],
                       [names.codecommit_repository_arn])]
    bucket_arn, object_arn = names.source_object_arns
    return [
        _allow("SourceObject", ["s3:GetObject", "s3:GetObjectVersion"], [object_arn]),
        _allow("SourceBucket", ["s3:GetBucketVersioning"], [bucket_arn]),
    ]


def _deploy_s3(params: Params, names: ResourceNames) -> list[dict[str, Any]]:
    buckets = [names.arn("s3", f"{b}/*", region=False, account=False)
               for b in names.deploy_buckets]
    return [_allow("DeployObjects", ["s3:PutObject"], buckets)]


def _deploy_ecs(params: Params, names: ResourceNames) -> list[dict[str, Any]]:
    return [
        _allow("EcsService", ["ecs:DescribeServices", "ecs:UpdateService"],
               [names.arn("ecs", f"service/{names.ecs_cluster}/{service}")
                for service in names.ecs_services]),
        *_task_definition_statements(params, names),
    ]


def _task_definition_statements(params: Params, names: ResourceNames) -> list[dict[str, Any]]:
    """New task definition revisions, and passing exactly the app's two task roles to ECS."""
    return [
        _allow("TaskDefinitionRevision", ["ecs:RegisterTaskDefinition"],
               [names.task_definition_arn]),
        _star("TaskDefinitionRead", ["ecs:DescribeTaskDefinition"]),
        _pass_role("PassTaskRoles", [names.role_arn(r) for r in names.ecs_task_roles],
                   "ecs-tasks.amazonaws.com"),
    ]


def _deploy_codedeploy(params: Params, names: ResourceNames) -> list[dict[str, Any]]:
    app = names.codedeploy_application
    statements = [
        _allow("Deployments", ["codedeploy:CreateDeployment", "codedeploy:GetDeployment"],
               [names.arn("codedeploy", f"deploymentgroup:{app}/{g}")
                for g in names.codedeploy_groups]),
        _allow("DeployApplication", ["codedeploy:GetApplication",
                                     "codedeploy:GetApplicationRevision",
                                     "codedeploy:RegisterApplicationRevision"],
               [names.arn("codedeploy", f"application:{app}")]),
        _allow("DeploymentConfig", ["codedeploy:GetDeploymentConfig"],
               [names.codedeploy_config_arn]),
    ]
    if params.deploy_provider == "codedeploy-ecs":
        # CodeDeployToECS registers the task definition from the artifact itself.
        statements += _task_definition_statements(params, names)
    return statements


def _deploy_cloudformation(params: Params, names: ResourceNames) -> list[dict[str, Any]]:
    stacks = [names.arn("cloudformation", f"stack/{s}/*") for s in names.cloudformation_stacks]
    return [
        _allow("Stacks", ["cloudformation:CreateStack", "cloudformation:DeleteStack",
                          "cloudformation:DescribeStacks", "cloudformation:UpdateStack",
                          "cloudformation:CreateChangeSet", "cloudformation:DeleteChangeSet",
                          "cloudformation:DescribeChangeSet", "cloudformation:ExecuteChangeSet",
                          "cloudformation:DescribeStackEvents", "cloudformation:GetTemplate",
                          "cloudformation:ListStackResources",
                          "cloudformation:SetStackPolicy"], stacks),
        _star("TemplateValidation", ["cloudformation:ValidateTemplate"]),
        _pass_role("PassStackRole", [names.role_arn(names.cloudformation_role)],
                   "cloudformation.amazonaws.com"),
    ]


_DEPLOY_STATEMENTS = {
    "s3": _deploy_s3,
    "ecs": _deploy_ecs,
    "codedeploy-ecs": _deploy_codedeploy,
    "codedeploy-ec2": _deploy_codedeploy,
    "cloudformation": _deploy_cloudformation,
}


# -- EventBridge --------------------------------------------------------------------------------


def events_permissions(names: ResourceNames) -> dict[str, Any]:
    """The source-change rule may start this one pipeline and nothing else."""
    return _document([_allow("StartPipeline", ["codepipeline:StartPipelineExecution"],
                             [names.pipeline_arn])])


# -- statement helpers --------------------------------------------------------------------------


def _document(statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Version": POLICY_VERSION, "Statement": statements}


def _allow(sid: str, actions: list[str], resources: list[str],
           condition: dict[str, Any] | None = None) -> dict[str, Any]:
    if "*" in resources:
        raise ValueError(f"statement {sid}: use _star() for Resource '*'")
    statement: dict[str, Any] = {"Sid": sid, "Effect": "Allow", "Action": actions,
                                 "Resource": resources}
    if condition:
        statement["Condition"] = condition
    return statement


def _star(sid: str, actions: list[str]) -> dict[str, Any]:
    """A ``Resource: "*"`` statement, allowed only for the actions in STAR_ONLY_ACTIONS."""
    unlisted = [a for a in actions if a not in STAR_ONLY_ACTIONS]
    if unlisted:
        raise ValueError(f"statement {sid}: {unlisted} not in STAR_ONLY_ACTIONS; scope them to "
                         "resources or document why they cannot be scoped")
    return {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": "*"}


def _pass_role(sid: str, role_arns: list[str], service: str) -> dict[str, Any]:
    """PassRole always names the roles and the one service they may be passed to."""
    return _allow(sid, ["iam:PassRole"], role_arns,
                  {"StringEquals": {"iam:PassedToService": service}})


def _kms_statements(params: Params) -> list[dict[str, Any]]:
    """Artifact encryption with a customer key; an alias ARN is matched through its key."""
    arn = params.kms_key_arn
    if not arn:
        return []
    actions = ["kms:Decrypt", "kms:GenerateDataKey"]
    prefix, _, resource = arn.rpartition(":")
    if not resource.startswith("alias/"):
        return [_allow("ArtifactKey", actions, [arn])]
    # Key use is authorized against the key ARN, never the alias ARN: match the key by alias.
    return [_allow("ArtifactKey", actions, [f"{prefix}:key/*"],
                   {"ForAnyValue:StringEquals": {"kms:ResourceAliases": resource}})]
