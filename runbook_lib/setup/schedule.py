"""Setup option: the health report on a schedule, run inside AWS.

An EventBridge Scheduler schedule starts a CodeBuild project (through Scheduler's universal
target for ``codebuild:StartBuild``); the project installs this package, runs
``runbook report --target aws`` and copies the HTML to ``reports/<pipeline>/`` in the artifact
bucket, then tells the report topic (SNS) with a presigned link. Five pieces, each
create-or-update like every setup step:

- the report project's log group, and its role: logs on its own group, ``s3:PutObject`` on
  ``reports/*`` of the artifact bucket, read actions on this pipeline, its build project and
  build log group, nothing else;
- the scheduler's role: ``codebuild:StartBuild`` on the report project only, trusted by
  ``scheduler.amazonaws.com`` for this account's schedule group only;
- the CodeBuild project; the schedule group (tagged: schedules themselves take no tags) and the
  schedule in it;
- the report topic, and (on the local AWS) the package itself: a wheel built from the working
  tree, put in the artifact bucket, so the build installs it with no network
  (:mod:`runbook_lib.setup.report_delivery`).
"""

from __future__ import annotations

import json
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from runbook_lib.core import plan as plans
from runbook_lib.core import tags
from runbook_lib.core.errors import StepError, aws_step
from runbook_lib.core.params import Params, ResourceNames
from runbook_lib.core.plan import Plan
from runbook_lib.core.session import AwsSession
from runbook_lib.setup import codebuild, iam, policies, report_delivery, report_wheel
from runbook_lib.setup.policies import INLINE_POLICY_NAME, RoleSpec

REPORT_IMAGE = "aws/codebuild/amazonlinux2-x86_64-standard:5.0"  # Python 3.11 runtime
UNIVERSAL_START_BUILD = "arn:aws:scheduler:::aws-sdk:codebuild:startBuild"


@dataclass(frozen=True)
class ReportSchedule:
    """When and how the report runs. ``package`` is what pip installs in the build: the
    published name, a git URL (git+https://...@TAG), or a wheel in S3 (``s3://bucket/key.whl``,
    fetched with the build's own credentials). ``python`` and ``pip_options`` are for the local
    AWS, whose builds run on this machine: its interpreter (which has the dependencies) and
    ``--no-deps --no-index``."""

    expression: str = "cron(0 6 * * ? *)"  # every day at 06:00
    timezone: str = "UTC"
    days: int = 7
    package: str = "pipeline-runbooks"
    enabled: bool = True
    python: str = ""
    pip_options: str = ""


@dataclass(frozen=True)
class ReportNames:
    """Names of the report schedule's resources, derived from the app's names.

    Kept here until they move into :class:`~runbook_lib.core.params.ResourceNames`.
    """

    project: str
    project_role: str
    scheduler_role: str
    log_group: str
    schedule_group: str
    schedule: str
    report_prefix: str
    topic: str
    package_prefix: str

    @classmethod
    def derive(cls, params: Params, names: ResourceNames) -> ReportNames:
        app = params.app_name
        return cls(project=f"{app}-report", project_role=f"{app}-report-build",
                   scheduler_role=f"{app}-report-scheduler",
                   log_group=f"/aws/codebuild/{app}-report", schedule_group=f"{app}-reports",
                   schedule=f"{app}-pipeline-health", report_prefix=f"reports/{names.pipeline}/",
                   topic=f"{app}-reports", package_prefix="runbook-package/")


def plan_if_requested(session: AwsSession, params: Params, names: ResourceNames,
                      requested: bool) -> plans.Plan:
    """The setup option: the report schedule's plan when asked for, else an empty plan that
    says how to ask."""
    if not requested:
        return plans.Plan("scheduled health report not requested (schedule_report=True adds "
                          "it)")
    if params.target != "local":
        return plan_report_schedule(session, params, names)
    with tempfile.TemporaryDirectory(prefix="runbook-wheel-") as folder:
        wheel = report_wheel.build_wheel(Path(folder))  # read into the plan before it goes
        return plan_report_schedule(session, params, names, for_local_builds(ReportSchedule()),
                                    wheel)


def for_local_builds(options: ReportSchedule) -> ReportSchedule:
    """The local AWS runs builds on this machine, offline: this interpreter (it has the
    dependencies) installs the wheel alone."""
    return replace(options, python=sys.executable, pip_options="--no-deps --no-index")


def report_buildspec(names: ResourceNames, report: ReportNames) -> str:
    """Install the package beside the build (``pip --target``), render the report, publish it.

    Only the standard AWS environment is used inside the build (boto3's default credential
    chain, ``AWS_ENDPOINT_URL`` when set), so the same buildspec runs on AWS and locally.
    ``runbook report --publish`` puts the HTML at ``<date>.html`` and ``latest.html`` and
    ``--notify`` sends the presigned link to the report topic."""
    target = f"s3://{names.artifact_bucket}/{report.report_prefix}"
    return "\n".join([
        "version: 0.2",
        "phases:",
        "  install:",
        "    commands:",
        "      - |",
        '        PY="${RUNBOOK_PYTHON:-python3}"; PKG="$RUNBOOK_PACKAGE"',
        '        case "$PKG" in s3://*) "$PY" -c "$FETCH" "$PKG"; PKG="./${PKG##*/}";; esac',
        '        "$PY" -m pip install --quiet --target .runbook $RUNBOOK_PIP_OPTIONS "$PKG"',
        "  build:",
        "    commands:",
        '      - PYTHONPATH="$PWD/.runbook" "${RUNBOOK_PYTHON:-python3}" -m runbook_lib.app.cli'
        ' report --target aws --pipeline "$PIPELINE" --days "$REPORT_DAYS"'
        f' --out pipeline-health.html --publish "{target}" --notify "$REPORT_TOPIC"',
        "",
    ])


# Fetches s3://bucket/key into the working folder with boto3's default chain (python only).
_FETCH = ("import sys, boto3; b, _, k = sys.argv[1][5:].partition('/'); "
          "boto3.client('s3').download_file(b, k, k.rsplit('/', 1)[-1])")


def desired_project(params: Params, names: ResourceNames, report: ReportNames,
                    options: ReportSchedule) -> dict[str, Any]:
    variables = {"PIPELINE": names.pipeline, "REPORT_DAYS": str(options.days),
                 "RUNBOOK_PACKAGE": options.package, "RUNBOOK_HEADLESS": "1",
                 "REPORT_TOPIC": names.topic_arn(report.topic), "FETCH": _FETCH}
    if options.python:
        variables["RUNBOOK_PYTHON"] = options.python
    if options.pip_options:
        variables["RUNBOOK_PIP_OPTIONS"] = options.pip_options
    return {
        "name": report.project,
        "description": f"Health report of {names.pipeline} (managed by pipeline-runbooks)",
        "source": {"type": "NO_SOURCE", "buildspec": report_buildspec(names, report)},
        "artifacts": {"type": "NO_ARTIFACTS"},
        "environment": {
            "type": "LINUX_CONTAINER", "image": REPORT_IMAGE,
            "computeType": "BUILD_GENERAL1_SMALL", "privilegedMode": False,
            "environmentVariables": [{"name": k, "value": v, "type": "PLAINTEXT"}
                                     for k, v in variables.items()],
        },
        "serviceRole": names.role_arn(report.project_role),
        "timeoutInMinutes": 30,
        "logsConfig": {"cloudWatchLogs": {"status": "ENABLED", "groupName": report.log_group}},
        "tags": tags.as_tag_list(tags.ownership_tags(params.app_name), key="key", value="value"),
    }


def role_specs(names: ResourceNames, report: ReportNames) -> list[RoleSpec]:
    """The report project's role and the scheduler's role, least privilege."""
    project_arn = names.arn("codebuild", f"project/{report.project}")
    log_arn = names.arn("logs", f"log-group:{report.log_group}")
    group_arn = names.arn("scheduler", f"schedule-group/{report.schedule_group}")
    project_permissions = {"Version": policies.POLICY_VERSION, "Statement": [
        _allow("ReportLogs", ["logs:CreateLogGroup", "logs:CreateLogStream",
                              "logs:PutLogEvents"], [log_arn, f"{log_arn}:*"]),
        _allow("PutReports", ["s3:PutObject", "s3:GetObject"],
               [f"{names.artifact_bucket_arn}/{report.report_prefix}*"]),
        _allow("GetPackage", ["s3:GetObject"],
               [f"{names.artifact_bucket_arn}/{report.package_prefix}*"]),
        _allow("TellReaders", ["sns:Publish"], [names.topic_arn(report.topic)]),
        _allow("ReadPipeline", ["codepipeline:GetPipeline", "codepipeline:GetPipelineState",
                                "codepipeline:GetPipelineExecution",
                                "codepipeline:ListPipelineExecutions",
                                "codepipeline:ListActionExecutions"], [names.pipeline_arn]),
        _allow("ReadBuilds", ["codebuild:BatchGetBuilds"], [names.build_project_arn]),
        _allow("ReadBuildLogs", ["logs:GetLogEvents", "logs:FilterLogEvents"],
               [names.log_group_arn, f"{names.log_group_arn}:*"]),
    ]}
    scheduler_permissions = {"Version": policies.POLICY_VERSION, "Statement": [
        _allow("StartReportBuild", ["codebuild:StartBuild"], [project_arn])]}
    return [
        RoleSpec(report.project_role, "codebuild.amazonaws.com",
                 f"Runs the health report of {names.pipeline} (pipeline runbooks)",
                 policies.trust_policy("codebuild.amazonaws.com", names, project_arn),
                 project_permissions),
        RoleSpec(report.scheduler_role, "scheduler.amazonaws.com",
                 f"Lets the report schedule start {report.project} (pipeline runbooks)",
                 policies.trust_policy("scheduler.amazonaws.com", names, group_arn),
                 scheduler_permissions),
    ]


def desired_schedule(names: ResourceNames, report: ReportNames,
                     options: ReportSchedule) -> dict[str, Any]:
    return {
        "Name": report.schedule,
        "GroupName": report.schedule_group,
        "Description": f"Health report of {names.pipeline} (managed by pipeline-runbooks)",
        "ScheduleExpression": options.expression,
        "ScheduleExpressionTimezone": options.timezone,
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "State": "ENABLED" if options.enabled else "DISABLED",
        "Target": {
            "Arn": UNIVERSAL_START_BUILD,
            "RoleArn": names.role_arn(report.scheduler_role),
            "Input": json.dumps({"ProjectName": report.project}),
        },
    }


# -- plan -----------------------------------------------------------------------------------------


def plan_report_schedule(session: AwsSession, params: Params, names: ResourceNames,
                         options: ReportSchedule | None = None, wheel: Path | None = None) -> Plan:
    """Topic, log group, roles, report project, schedule group and schedule: read calls only.

    ``wheel``: a package built from the working tree, put in the artifact bucket for the build
    to install (the local AWS's way; on AWS ``options.package`` names a published release)."""
    options = options or ReportSchedule()
    report = ReportNames.derive(params, names)
    plan = Plan("report schedule")
    plan.add(report_delivery.topic_change(session, params, names, report.topic))
    if wheel is not None:
        plan.add(report_delivery.package_change(session, names, report.package_prefix, wheel))
        key = report_delivery.package_key(report.package_prefix, wheel)
        options = replace(options, package=f"s3://{names.artifact_bucket}/{key}")
    plan.add(_log_group_change(session, params, report))
    for spec in role_specs(names, report):
        plan.changes.extend(_role_changes(session, spec, params.app_name))
    desired = desired_project(params, names, report, options)
    plan.add(codebuild.project_change(session, params, desired, _PROPAGATION_HINT, [
        "source: NO_SOURCE, buildspec runs `runbook report --target aws`",
        f"image: {REPORT_IMAGE}", f"logs: {desired['logsConfig']['cloudWatchLogs']['groupName']}",
    ]))
    plan.add(_group_change(session, params, names, report))
    plan.add(_schedule_change(session, desired_schedule(names, report, options)))
    return plan


def _log_group_change(session: AwsSession, params: Params, report: ReportNames
                      ) -> plans.Change:
    logs = session.client("logs")
    resource = f"log group {report.log_group}"
    current = codebuild.find_log_group(session, report.log_group)
    if current is not None:
        with aws_step(f"list tags of {resource}"):
            found = logs.list_tags_log_group(logGroupName=report.log_group).get("tags", {})
        tags.require_owned(resource, found, params.app_name)

    def create() -> None:
        with aws_step(f"create {resource}"):
            logs.create_log_group(logGroupName=report.log_group,
                                  tags=tags.ownership_tags(params.app_name))
            logs.put_retention_policy(logGroupName=report.log_group,
                                      retentionInDays=codebuild.LOG_RETENTION_DAYS)

    def update() -> None:
        with aws_step(f"set retention of {resource}"):
            logs.put_retention_policy(logGroupName=report.log_group,
                                      retentionInDays=codebuild.LOG_RETENTION_DAYS)

    return plans.converge(
        resource, None if current is None else {"retentionInDays": current.get("retentionInDays")},
        {"retentionInDays": codebuild.LOG_RETENTION_DAYS}, create, update,
        [f"retentionInDays: {codebuild.LOG_RETENTION_DAYS}"])


def _role_changes(session: AwsSession, spec: RoleSpec, app_name: str) -> list[plans.Change]:
    client = session.client("iam")
    label = f"IAM role {spec.name}"
    policy_label = f"{label} policy {INLINE_POLICY_NAME}"

    def create_role() -> None:
        with aws_step(f"create {label}"):
            client.create_role(RoleName=spec.name, AssumeRolePolicyDocument=json.dumps(spec.trust),
                               Description=spec.description,
                               Tags=tags.as_tag_list(tags.ownership_tags(app_name)))

    def put_policy() -> None:
        with aws_step(f"put {policy_label}"):
            client.put_role_policy(RoleName=spec.name, PolicyName=INLINE_POLICY_NAME,
                                   PolicyDocument=json.dumps(spec.permissions))

    def update_trust() -> None:
        with aws_step(f"update trust policy of {label}"):
            client.update_assume_role_policy(RoleName=spec.name,
                                             PolicyDocument=json.dumps(spec.trust))

    state = iam.describe_role(client, spec.name)
    if state is None:
        return [plans.create(label, create_role, [f"trusted by {spec.service}"]),
                plans.create(policy_label, put_policy,
                             [f"{len(spec.permissions['Statement'])} statements"])]
    tags.require_owned(label, state.tags, app_name)
    changes = [_document_change(f"{label} trust", state.trust, spec.trust, update_trust)]
    current = iam.get_inline_policy(client, spec.name)
    changes.append(plans.create(policy_label, put_policy) if current is None else
                   _document_change(policy_label, current, spec.permissions, put_policy))
    return changes


def _document_change(label: str, current: dict, desired: dict, apply_fn) -> plans.Change:
    if current == desired:
        return plans.unchanged(label)
    return plans.update(label, iam.document_diff(current, desired), apply_fn)


def _group_change(session: AwsSession, params: Params, names: ResourceNames,
                  report: ReportNames) -> plans.Change:
    client = session.client("scheduler")
    resource = f"schedule group {report.schedule_group}"
    try:
        found = client.get_schedule_group(Name=report.schedule_group)
    except ClientError as err:
        if err.response["Error"]["Code"] != "ResourceNotFoundException":
            raise StepError(f"get {resource}: {err}") from err
        found = None
    if found is not None:
        with aws_step(f"list tags of {resource}"):
            listed = client.list_tags_for_resource(ResourceArn=found["Arn"])["Tags"]
        tags.require_owned(resource, tags.from_tag_list(listed), params.app_name)
        return plans.unchanged(resource)

    def create() -> None:
        with aws_step(f"create {resource}"):
            client.create_schedule_group(
                Name=report.schedule_group,
                Tags=tags.as_tag_list(tags.ownership_tags(params.app_name)))

    return plans.create(resource, create, ["tags: the ownership of the schedules in it"])


def _schedule_change(session: AwsSession, desired: dict[str, Any]) -> plans.Change:
    client = session.client("scheduler")
    resource = f"schedule {desired['GroupName']}/{desired['Name']}"
    try:
        current = client.get_schedule(Name=desired["Name"], GroupName=desired["GroupName"])
    except ClientError as err:
        if err.response["Error"]["Code"] != "ResourceNotFoundException":
            raise StepError(f"get {resource}: {err}") from err
        current = None

    def create() -> None:
        with aws_step(f"create {resource}", _PROPAGATION_HINT):
            client.create_schedule(**desired)

    def update() -> None:  # UpdateSchedule replaces the whole schedule
        with aws_step(f"update {resource}", _PROPAGATION_HINT):
            client.update_schedule(**desired)

    when = f"{desired['ScheduleExpression']} ({desired['ScheduleExpressionTimezone']})"
    return plans.converge(resource, current, desired, create, update,
                          [when, "target: codebuild:StartBuild (universal target)"])


def _allow(sid: str, actions: list[str], resources: list[str]) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}


_PROPAGATION_HINT = ("a role created moments ago may still be propagating in IAM: wait a minute "
                     "and re-run")
