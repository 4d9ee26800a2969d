"""Preflight: who am I, where, what will be created, and may I create it (and delete it)?

On AWS the operator's own permissions are checked with IAM policy simulation before anything is
created; the local AWS grants everything, so the check is skipped there with a note.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from runbook_lib.core.params import Params, ResourceNames
from runbook_lib.core.session import AwsSession

# The IAM actions the suite calls, grouped by step, for the permission check: every call the
# setup notebooks and the teardown make with the default parameters (tests/e2e/test_setup_suite
# records them on the local AWS and checks each is here), reads included, as IAM names them.
REQUIRED_ACTIONS: dict[str, tuple[str, ...]] = {
    "artifact bucket": (
        "s3:CreateBucket", "s3:ListBucket", "s3:PutBucketVersioning", "s3:GetBucketVersioning",
        "s3:PutEncryptionConfiguration", "s3:GetEncryptionConfiguration",
        "s3:PutBucketPublicAccessBlock", "s3:GetBucketPublicAccessBlock",
        "s3:PutBucketPolicy", "s3:GetBucketPolicy", "s3:PutLifecycleConfiguration",
        "s3:GetLifecycleConfiguration", "s3:PutBucketTagging", "s3:GetBucketTagging",
    ),
    "IAM roles": (
        "iam:CreateRole", "iam:GetRole", "iam:PutRolePolicy", "iam:GetRolePolicy",
        "iam:UpdateAssumeRolePolicy", "iam:TagRole", "iam:PassRole",
    ),
    "build project": ("codebuild:CreateProject", "codebuild:UpdateProject",
                      "codebuild:BatchGetProjects", "logs:CreateLogGroup",
                      "logs:DescribeLogGroups", "logs:PutRetentionPolicy",
                      "logs:ListTagsForResource"),
    "config and secrets": (
        "ssm:PutParameter", "ssm:GetParametersByPath", "ssm:DescribeParameters",
        "ssm:GetParameter", "ssm:ListTagsForResource", "ssm:AddTagsToResource",
        "secretsmanager:CreateSecret", "secretsmanager:PutSecretValue",
        "secretsmanager:ListSecrets", "secretsmanager:DescribeSecret",
        "secretsmanager:GetSecretValue", "secretsmanager:UpdateSecret",
        "secretsmanager:TagResource",
    ),
    "pipeline": ("codepipeline:CreatePipeline", "codepipeline:UpdatePipeline",
                 "codepipeline:GetPipeline", "codepipeline:GetPipelineState",
                 "codepipeline:ListPipelines", "codepipeline:ListPipelineExecutions",
                 "codepipeline:ListActionExecutions", "codepipeline:ListRuleExecutions",
                 "codepipeline:ListTagsForResource", "codepipeline:TagResource",
                 "sns:CreateTopic", "sns:GetTopicAttributes", "sns:ListSubscriptionsByTopic",
                 "sns:ListTagsForResource"),
    "monitoring": ("events:PutRule", "events:PutTargets", "events:TestEventPattern",
                   "events:DescribeRule", "events:ListTargetsByRule",
                   "events:ListTagsForResource", "sns:Subscribe", "sns:SetTopicAttributes",
                   "scheduler:GetSchedule"),
    # the backfill reads what the archive already holds (once Firehose delivered some) and
    # writes the runs it lacks
    "event archive": ("firehose:CreateDeliveryStream", "firehose:DescribeDeliveryStream",
                      "glue:CreateDatabase", "glue:GetDatabase", "glue:CreateTable",
                      "glue:GetTable", "athena:CreateWorkGroup", "athena:GetWorkGroup",
                      "s3:GetObject", "s3:PutObject"),
    "teardown": (
        "codepipeline:DeletePipeline", "codebuild:DeleteProject", "events:RemoveTargets",
        "events:DeleteRule", "firehose:DeleteDeliveryStream",
        "firehose:ListTagsForDeliveryStream", "glue:DeleteDatabase", "glue:GetTags",
        "athena:DeleteWorkGroup", "athena:ListTagsForResource", "sns:DeleteTopic",
        "cloudwatch:DescribeAlarms", "scheduler:GetScheduleGroup", "logs:DeleteLogGroup",
        "ssm:DeleteParameter", "secretsmanager:DeleteSecret", "iam:ListRolePolicies",
        "iam:ListAttachedRolePolicies", "iam:DeleteRolePolicy", "iam:DeleteRole",
        "s3:ListBucketVersions", "s3:DeleteObject", "s3:DeleteObjectVersion",
        "s3:DeleteBucket",
    ),
}


@dataclass
class PermissionCheck:
    action: str
    step: str
    decision: str  # allowed, implicitDeny, explicitDeny, skipped


@dataclass
class PreflightReport:
    target: str
    region: str
    account_id: str
    caller_arn: str
    endpoint_url: str | None
    names: ResourceNames
    permissions: list[PermissionCheck] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def denied(self) -> list[PermissionCheck]:
        return [p for p in self.permissions if p.decision not in ("allowed", "skipped")]

    @property
    def ok(self) -> bool:
        return not self.denied

    @property
    def verdict(self) -> str:
        """One line for the operator: passed, or how many actions would be denied."""
        return "preflight passed" if self.ok else f"{len(self.denied)} actions would be denied"


PERMISSION_HEADERS = ("step", "action", "decision")


def permission_rows(report: PreflightReport) -> list[tuple[str, str, str]]:
    """:data:`PERMISSION_HEADERS` rows, in the order the setup steps run."""
    return [(p.step, p.action, p.decision) for p in report.permissions]


def run_preflight(session: AwsSession, params: Params) -> PreflightReport:
    """Identity, names and (on AWS) a permission simulation; changes nothing."""
    ident = session.client("sts").get_caller_identity()
    names = params.names(ident["Account"])
    report = PreflightReport(
        target=params.target,
        region=session.region,
        account_id=ident["Account"],
        caller_arn=ident["Arn"],
        endpoint_url=session.endpoint_url if session.is_local else None,
        names=names,
    )
    if session.is_local:
        report.notes.append(
            "permission check skipped: the local AWS allows every call; on target 'aws' each "
            "action below is simulated against your identity's policies."
        )
        report.permissions = [PermissionCheck(a, step, "skipped")
                              for step, actions in REQUIRED_ACTIONS.items() for a in actions]
        return report
    report.permissions = simulate_permissions(session, principal_arn(ident["Arn"]))
    return report


def principal_arn(caller_arn: str) -> str:
    """The IAM principal to simulate: an assumed-role session maps back to its role."""
    m = re.match(r"^arn:(aws[\w-]*):sts::(\d{12}):assumed-role/([^/]+)/.+$", caller_arn)
    if m:
        return f"arn:{m.group(1)}:iam::{m.group(2)}:role/{m.group(3)}"
    return caller_arn


def simulate_permissions(session: AwsSession, principal: str) -> list[PermissionCheck]:
    iam = session.client("iam")
    step_of = {a: step for step, actions in REQUIRED_ACTIONS.items() for a in actions}
    checks: list[PermissionCheck] = []
    paginator = iam.get_paginator("simulate_principal_policy")
    for page in paginator.paginate(PolicySourceArn=principal, ActionNames=list(step_of)):
        for res in page["EvaluationResults"]:
            name = res["EvalActionName"]
            checks.append(PermissionCheck(name, step_of.get(name, "?"), res["EvalDecision"]))
    return checks
