"""The one parameter model every notebook shares, and every name derived from it.

Validation happens here, before any AWS call, so an operator learns about a bad bucket name
from a sentence naming the field, the value, the rule and a valid example, not from an AWS
error halfway through a setup.
"""

from __future__ import annotations

import dataclasses
import os
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from runbook_lib.core.errors import ParameterError
from runbook_lib.core.param_rules import (
    CONNECTION_PROVIDERS,
    SAMPLE_DEFAULTS,
    SAMPLE_REPO,
    validate,
)

LOCAL_ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"

# The rules (providers, modes, templates, the sample's defaults) live in param_rules.
__all__ = ["LOCAL_ACCOUNT_ID", "Params", "ResourceNames", "pairs_to_dict"]


@dataclass(frozen=True)
class Params:
    """Validated parameters; build with :func:`Params.from_mapping` or the constructor.

    Field defaults are the canonical local run; notebooks' parameters cells repeat them (a test
    keeps the two in step).
    """

    app_name: str = "sample-app"
    target: str = "local"
    region: str = ""  # empty: AWS_REGION, else AWS_DEFAULT_REGION, else us-east-1
    source_provider: str = "github"
    source_repo: str = "acme/sample-app"
    source_branch: str = "main"
    connection_arn: str = ""
    build_template: str = ""  # empty: detected from the repository (nodejs: the sample app)
    buildspec_path: str = ""  # in the repository; empty: buildspec.yml or buildspec.yaml
    deploy_provider: str = "s3"
    staging_name: str = "staging"
    production_name: str = "production"
    compute_type: str = "BUILD_GENERAL1_SMALL"
    build_image: str = "aws/codebuild/amazonlinux2-x86_64-standard:5.0"
    build_timeout_minutes: int = 15
    cache_mode: str = "s3"
    kms_key_arn: str = ""
    noncurrent_version_days: int = 30
    approval_emails: tuple[str, ...] = ()
    failure_emails: tuple[str, ...] = ()
    review_url: str = ""
    ecs_cluster: str = ""
    ecs_service: str = ""
    container_name: str = "app"
    execution_mode: str = "SUPERSEDED"
    # None: not given. The sample app then gets SAMPLE_DEFAULTS, any other repository nothing.
    plaintext_variables: tuple[str, ...] | None = None
    config_parameters: tuple[str, ...] | None = None
    secret_names: tuple[str, ...] | None = None
    secure_config_names: tuple[str, ...] | None = None
    # Release gates (V2 stage conditions, setup/gates.py); every default leaves them off.
    deploy_window_cron: str = ""
    deploy_window_timezone: str = "UTC"
    gate_alarm_wait_minutes: int = 0
    post_deploy_watch_minutes: int = 0
    build_retry_mode: str = ""
    staging_skip_variable: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.region:
            # The way boto3 and the AWS CLI pick a region, with the suite's own fallback.
            region = (os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
                      or DEFAULT_REGION)
            object.__setattr__(self, "region", region)
        self._fill_source_defaults()
        validate(self)

    def _fill_source_defaults(self) -> None:
        """Fields not given: the sample app's defaults for the sample app, else nothing."""
        sample = self.source_repo == SAMPLE_REPO
        for name, value in SAMPLE_DEFAULTS.items():
            if getattr(self, name) in (None, ""):
                empty = "" if name == "build_template" else ()
                object.__setattr__(self, name, value if sample else empty)

    @property
    def is_sample_app(self) -> bool:
        """The source is the sample app (its repository id), not the operator's repository."""
        return self.source_repo == SAMPLE_REPO

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Params:
        """Pick this model's fields out of a mapping (a notebook's ``globals()``, a YAML file).

        Unknown keys are ignored, so a notebook can pass its whole namespace. Comma-separated
        strings are accepted for list fields, as papermill and the command line pass strings.
        """
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            if f.name == "extra" or f.name not in values:
                continue
            kwargs[f.name] = _coerce(f.name, f.type, values[f.name])
        return cls(**kwargs)

    def replace(self, **changes: Any) -> Params:
        """A copy with some fields changed, validated again."""
        return dataclasses.replace(self, **changes)

    # -- derived facts --------------------------------------------------------------------------

    @property
    def uses_connection(self) -> bool:
        return self.source_provider in CONNECTION_PROVIDERS

    @property
    def builds_docker(self) -> bool:
        return self.build_template == "docker"

    @property
    def environments(self) -> tuple[str, str]:
        return (self.staging_name, self.production_name)

    @property
    def build_environments(self) -> tuple[str, ...]:
        """Environments whose config and secrets the build reads: the build and its tests run
        against staging; production's values stay out of the build role's reach."""
        return (self.staging_name,)

    def names(self, account_id: str = LOCAL_ACCOUNT_ID) -> ResourceNames:
        """Every resource name and ARN the suite creates, derived in one place."""
        return ResourceNames.derive(self, account_id)


@dataclass(frozen=True)
class ResourceNames:
    """Names and ARNs of everything the suite creates for one app in one account and region."""

    account_id: str
    region: str
    partition: str
    artifact_bucket: str
    codebuild_role: str
    codepipeline_role: str
    events_role: str
    build_project: str
    pipeline: str
    log_group: str
    approval_topic: str
    failure_topic: str
    failure_rule: str
    ssm_prefix: str
    secret_prefix: str
    connection_arn: str
    deploy_buckets: tuple[str, str]
    ecr_repository: str
    ecs_cluster: str
    ecs_services: tuple[str, str]
    ecs_task_roles: tuple[str, str]
    codedeploy_application: str
    codedeploy_groups: tuple[str, str]
    cloudformation_stacks: tuple[str, str]
    cloudformation_role: str
    environments: tuple[str, str]
    source_change_rule: str
    ecs_task_family: str
    codedeploy_config: str
    cache_location: str
    codecommit_repository: str
    source_object: tuple[str, str]
    release_alarm: str = ""

    @classmethod
    def derive(cls, p: Params, account_id: str) -> ResourceNames:
        if not re.fullmatch(r"\d{12}", account_id or ""):
            raise ParameterError("account_id", account_id, "must be 12 digits", LOCAL_ACCOUNT_ID)
        partition = "aws-us-gov" if "-gov-" in p.region else "aws"
        app = p.app_name
        bucket = f"{app}-artifacts-{account_id}-{p.region}"
        connection = p.connection_arn or _local_connection_arn(p, account_id, partition)
        return cls(
            account_id=account_id,
            region=p.region,
            partition=partition,
            artifact_bucket=bucket,
            codebuild_role=f"{app}-codebuild",
            codepipeline_role=f"{app}-codepipeline",
            events_role=f"{app}-events",
            build_project=f"{app}-build",
            pipeline=f"{app}-pipeline",
            log_group=f"/aws/codebuild/{app}-build",
            approval_topic=f"{app}-approvals",
            failure_topic=f"{app}-pipeline-failures",
            failure_rule=f"{app}-pipeline-failed",
            ssm_prefix=f"/{app}",
            secret_prefix=f"{app}",
            connection_arn=connection if p.uses_connection else "",
            deploy_buckets=(
                f"{app}-{p.staging_name}-{account_id}-{p.region}",
                f"{app}-{p.production_name}-{account_id}-{p.region}",
            ),
            environments=(p.staging_name, p.production_name),
            # Started by EventBridge on a CodeCommit or S3 change (connection sources use the
            # pipeline's own push trigger instead).
            source_change_rule=f"{app}-pipeline-source-change",
            **_deploy_target_names(p),
            cache_location=f"{bucket}/cache/{app}-build",
            codecommit_repository=p.source_repo if p.source_provider == "codecommit" else "",
            source_object=(_bucket_and_key(p.source_repo) if p.source_provider == "s3"
                           else ("", "")),
            release_alarm=f"{app}-{p.production_name}-errors",
        )

    # ARNs -------------------------------------------------------------------------------------

    def arn(self, service: str, resource: str, region: bool = True, account: bool = True) -> str:
        return (
            f"arn:{self.partition}:{service}:{self.region if region else ''}:"
            f"{self.account_id if account else ''}:{resource}"
        )

    def bucket_arn(self, bucket: str) -> str:
        return f"arn:{self.partition}:s3:::{bucket}"

    @property
    def source_change_rule_arn(self) -> str:
        return self.arn("events", f"rule/{self.source_change_rule}")

    @property
    def ecr_repository_arn(self) -> str:
        return self.arn("ecr", f"repository/{self.ecr_repository}")

    @property
    def codecommit_repository_arn(self) -> str:
        return self.arn("codecommit", self.codecommit_repository)

    @property
    def source_object_arns(self) -> tuple[str, str]:
        """(bucket ARN, object ARN) of an S3 source given as BUCKET/KEY."""
        bucket, key = self.source_object
        return (self.bucket_arn(bucket), f"{self.bucket_arn(bucket)}/{key}")

    @property
    def task_definition_arn(self) -> str:
        """Every revision of the app's task definition family."""
        return self.arn("ecs", f"task-definition/{self.ecs_task_family}:*")

    @property
    def codedeploy_config_arn(self) -> str:
        return self.arn("codedeploy", f"deploymentconfig:{self.codedeploy_config}")

    @property
    def ecr_registry(self) -> str:
        """The account's ECR registry host, where Docker builds push commit-SHA tags."""
        return f"{self.account_id}.dkr.ecr.{self.region}.amazonaws.com"

    @property
    def pipeline_artifact_prefix(self) -> str:
        """The artifact bucket folder CodePipeline keeps this pipeline's artifacts in (the
        pipeline name, cut to its first 20 characters by CodePipeline)."""
        return self.pipeline[:20]

    @property
    def cache_prefix(self) -> str:
        """The build cache's folder in the artifact bucket (``cache_location`` minus bucket)."""
        return self.cache_location.split("/", 1)[1]

    @property
    def artifact_bucket_arn(self) -> str:
        return f"arn:{self.partition}:s3:::{self.artifact_bucket}"

    def role_arn(self, role: str) -> str:
        return f"arn:{self.partition}:iam::{self.account_id}:role/{role}"

    @property
    def build_project_arn(self) -> str:
        return self.arn("codebuild", f"project/{self.build_project}")

    @property
    def pipeline_arn(self) -> str:
        return self.arn("codepipeline", self.pipeline)

    @property
    def log_group_arn(self) -> str:
        return self.arn("logs", f"log-group:{self.log_group}")

    def topic_arn(self, topic: str) -> str:
        return self.arn("sns", topic)

    @property
    def failure_rule_arn(self) -> str:
        return self.arn("events", f"rule/{self.failure_rule}")

    def ssm_path(self, environment: str) -> str:
        return f"{self.ssm_prefix}/{environment}/"

    def secret_name(self, environment: str, key: str) -> str:
        return f"{self.secret_prefix}/{environment}/{key}"

    def as_rows(self) -> list[tuple[str, str]]:
        """(what, name-or-ARN) rows for the preflight table."""
        rows = [
            ("artifact bucket", self.artifact_bucket_arn),
            ("CodeBuild role", self.role_arn(self.codebuild_role)),
            ("CodePipeline role", self.role_arn(self.codepipeline_role)),
            ("EventBridge role", self.role_arn(self.events_role)),
            ("build project", self.build_project_arn),
            ("build log group", self.log_group_arn),
            ("pipeline", self.pipeline_arn),
            ("approval topic", self.topic_arn(self.approval_topic)),
            ("failure topic", self.topic_arn(self.failure_topic)),
            ("failure rule", self.failure_rule_arn),
            ("config parameters", self.arn("ssm", f"parameter{self.ssm_prefix}/*")),
            ("secrets", self.arn("secretsmanager", f"secret:{self.secret_prefix}/*")),
        ]
        if self.connection_arn:
            rows.append(("source connection", self.connection_arn))
        return rows


def pairs_to_dict(entries: tuple[str, ...]) -> dict[str, str]:  # noqa: D401
    """("A=1", "B=2") -> {"A": "1", "B": "2"}; entries were validated already."""
    return dict(entry.split("=", 1) for entry in entries)


def _coerce(name: str, annotation: object, value: Any) -> Any:
    """Turn strings from papermill or the command line into the field's type."""
    text = str(annotation)
    if "tuple" in text:
        if value is None and "None" in text:
            return None  # not given: the source's default (see SAMPLE_DEFAULTS)
        if value is None or value == "":
            return ()
        if isinstance(value, str):
            return tuple(v.strip() for v in value.split(",") if v.strip())
        if isinstance(value, Mapping):
            # Notebooks write KEY=VALUE fields as dicts: papermill cannot parse a parameter
            # line holding a second "=".
            return tuple(f"{k}={v}" for k, v in value.items())
        if isinstance(value, list | tuple):
            return tuple(value)
        return value
    if text == "int" and isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError as err:
            raise ParameterError(name, value, "must be a whole number", "30") from err
    if text == "str" and value is None:
        return ""
    return value


def _deploy_target_names(p: Params) -> dict[str, Any]:
    """The names of what the deploy stages deploy to (ECS, CodeDeploy, CloudFormation)."""
    app = p.app_name
    service = p.ecs_service or f"{app}-service"
    return {
        "ecr_repository": app,
        "ecs_cluster": p.ecs_cluster or f"{app}-cluster",
        # One service per environment: staging and production never share a service.
        "ecs_services": (f"{service}-{p.staging_name}", f"{service}-{p.production_name}"),
        # Roles of the deployed app's tasks: they belong to the app, not to the suite, and are
        # named by convention so the pipeline role may pass exactly these two.
        "ecs_task_roles": (f"{app}-ecs-task-execution", f"{app}-ecs-task"),
        "ecs_task_family": app,
        "codedeploy_application": app,
        "codedeploy_groups": (f"{app}-{p.staging_name}", f"{app}-{p.production_name}"),
        "codedeploy_config": ("CodeDeployDefault.ECSAllAtOnce"
                              if p.deploy_provider == "codedeploy-ecs"
                              else "CodeDeployDefault.OneAtATime"),
        "cloudformation_stacks": (f"{app}-{p.staging_name}", f"{app}-{p.production_name}"),
        "cloudformation_role": f"{app}-cloudformation",
    }


def _bucket_and_key(location: str) -> tuple[str, str]:
    """``bucket/key/of/object`` as (bucket, key); the rules checked already that both are there."""
    bucket, _, key = location.partition("/")
    return bucket, key


def _local_connection_arn(p: Params, account_id: str, partition: str) -> str:
    """A stable connection ARN for the local AWS, where no OAuth handshake exists."""
    conn_id = uuid.uuid5(uuid.NAMESPACE_URL, f"runbook-local:{p.app_name}:{p.source_repo}")
    return f"arn:{partition}:codeconnections:{p.region}:{account_id}:connection/{conn_id}"
