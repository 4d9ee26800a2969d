"""Teardown: delete everything the suite created for one app, and nothing else.

A resource is deleted only when it has the suite's name for this app AND this app's ownership
tags. One that exists without them (made by hand, or by another app) is reported as kept and
never touched; teardown goes on with the rest. Deletion runs in dependency order: the pipeline
first (it uses everything else), the buckets last (the pipeline writes to them). A resource that
does not exist is shown as absent, so a second teardown makes no call that changes anything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from botocore.exceptions import ClientError

from runbook_lib.core import tags
from runbook_lib.core.errors import StepError
from runbook_lib.core.params import Params, ResourceNames
from runbook_lib.core.plan import Change, Plan
from runbook_lib.core.session import AwsSession
from runbook_lib.setup import event_archive, release_alarm
from runbook_lib.setup.event_archive_spec import ArchiveNames
from runbook_lib.setup.schedule import ReportNames

ABSENT = "absent"
KEPT = "kept: not created by this suite"
_S3_DELETE_BATCH = 1000  # DeleteObjects takes at most 1000 keys


def plan_teardown(session: AwsSession, params: Params, names: ResourceNames) -> Plan:
    """Every resource of the suite for this app, in the order it can be deleted."""
    plan = Plan("teardown")
    finders: list[Callable[[AwsSession, Params, ResourceNames], Iterable[Change]]] = [
        _pipeline, _stacks, _rules, _event_archive, _topics, _release_alarm, _report_schedule,
        _build_project, _log_group, _parameters, _secrets, _roles, _buckets,
    ]
    for find in finders:
        try:
            found = list(find(session, params, names))
        except ClientError as err:
            raise StepError(f"teardown: look up {find.__name__.strip('_')}: {err}") from err
        for change in found:
            plan.add(change)
    return plan


def kept_resources(plan: Plan) -> list[str]:
    """Resources left alone because they lack this app's ownership tags."""
    return [c.resource for c in plan.changes if KEPT in c.diff]


def kept_summary(kept: list[str]) -> str:
    """How many look-alikes were left alone, or that every resource found was this app's."""
    return f"{len(kept)} resources kept" if kept else "nothing kept: every resource found was ours"


def _decide(resource: str, found_tags: Mapping[str, str] | None, app_name: str,
            delete: Callable[[], Any], details: list[str] | None = None) -> Change:
    """Delete what this app owns; keep anything else. ``found_tags`` None means absent."""
    if found_tags is None:
        return Change(resource, "unchanged", [ABSENT])
    if not tags.is_owned(found_tags, app_name):
        return Change(resource, "unchanged", [KEPT])
    return Change(resource, "delete", details or [], _guarded(f"delete {resource}", delete))


# -- pipeline, rule, topics ---------------------------------------------------------------------


def _pipeline(session: AwsSession, params: Params, names: ResourceNames) -> list[Change]:
    cp = session.client("codepipeline")
    found = None
    if _exists(f"get pipeline {names.pipeline}", ("PipelineNotFoundException",),
               cp.get_pipeline, name=names.pipeline):
        found = _paged_tags(cp, "list_tags_for_resource", "tags",
                            resourceArn=names.pipeline_arn)
    return [_decide(f"CodePipeline pipeline {names.pipeline}", found, params.app_name,
                    lambda: cp.delete_pipeline(name=names.pipeline))]


def _release_alarm(session: AwsSession, params: Params, names: ResourceNames) -> list[Change]:
    resource, found, delete = release_alarm.teardown_target(session, names)
    return [_decide(resource, found, params.app_name, delete)]


def _rules(session: AwsSession, params: Params, names: ResourceNames) -> list[Change]:
    rules = (names.failure_rule, names.source_change_rule)
    return [_rule(session, params, rule) for rule in rules]


def _event_archive(session: AwsSession, params: Params, names: ResourceNames) -> list[Change]:
    """The archive's rule, stream, Glue database, workgroup and roles (setup/event_archive)."""
    archive = ArchiveNames.derive(names, params)
    found = event_archive.teardown_targets(session, params, names)
    return [_rule(session, params, archive.rule),
            *(_decide(label, owned, params.app_name, delete) for label, owned, delete in found),
            *(_role(session, params, r) for r in (archive.events_role, archive.firehose_role))]


def _rule(session: AwsSession, params: Params, name: str) -> Change:
    """A rule with targets cannot be deleted: its targets go first."""
    events = session.client("events")
    resource = f"EventBridge rule {name}"
    rule = _read(f"describe rule {name}", ("ResourceNotFoundException",), events.describe_rule,
                 Name=name, EventBusName="default")
    found = None if rule is None else tags.from_tag_list(
        _read(f"list tags of {name}", (), events.list_tags_for_resource,
              ResourceARN=rule["Arn"])["Tags"])
    if not tags.is_owned(found, params.app_name):
        return _decide(resource, found, params.app_name, _nothing)
    target_ids = [t["Id"] for page in events.get_paginator("list_targets_by_rule")
                  .paginate(Rule=name, EventBusName="default") for t in page["Targets"]]

    def delete() -> None:
        if target_ids:
            events.remove_targets(Rule=name, EventBusName="default", Ids=target_ids)
        events.delete_rule(Name=name, EventBusName="default")

    return _decide(resource, found, params.app_name, delete,
                   [f"remove target {i}" for i in target_ids])


def _topics(session: AwsSession, params: Params, names: ResourceNames) -> list[Change]:
    return [_topic(session, params, names.topic_arn(topic))
            for topic in (names.approval_topic, names.failure_topic,
                          ReportNames.derive(params, names).topic)]


def _topic(session: AwsSession, params: Params, arn: str) -> Change:
    """Confirmed subscriptions are removed first; pending ones cannot be, and go with the topic."""
    sns = session.client("sns")
    resource = f"SNS topic {arn.rsplit(':', 1)[-1]}"
    found = None
    if _exists(f"get topic attributes {arn}", ("NotFound", "NotFoundException"),
               sns.get_topic_attributes, TopicArn=arn):
        found = tags.from_tag_list(_read(f"list tags of {arn}", (), sns.list_tags_for_resource,
                                         ResourceArn=arn)["Tags"])
    if not tags.is_owned(found, params.app_name):
        return _decide(resource, found, params.app_name, _nothing)
    subs = [sub for page in sns.get_paginator("list_subscriptions_by_topic").paginate(
        TopicArn=arn) for sub in page["Subscriptions"]]
    confirmed = [s for s in subs if s["SubscriptionArn"].startswith("arn:")]
    pending = [s for s in subs if not s["SubscriptionArn"].startswith("arn:")]

    def delete() -> None:
        for sub in confirmed:
            sns.unsubscribe(SubscriptionArn=sub["SubscriptionArn"])
        sns.delete_topic(TopicArn=arn)

    details = [f"unsubscribe {s['Protocol']} {s['Endpoint']}" for s in confirmed]
    details += [f"{s['Protocol']} {s['Endpoint']}: pending confirmation, goes with the topic"
                for s in pending]
    return _decide(resource, found, params.app_name, delete, details)


# -- build project and logs ---------------------------------------------------------------------


def _build_project(session: AwsSession, params: Params, names: ResourceNames) -> list[Change]:
    report = ReportNames.derive(params, names)
    return [_project(session, params, names.build_project),
            _project(session, params, report.project)]


def _project(session: AwsSession, params: Params, name: str) -> Change:
    cb = session.client("codebuild")
    answer = _read(f"get project {name}", (), cb.batch_get_projects, names=[name])
    projects = [p for p in answer["projects"] if p["name"] == name]
    found = tags.from_tag_list(projects[0].get("tags")) if projects else None
    return _decide(f"CodeBuild project {name}", found, params.app_name,
                   lambda: cb.delete_project(name=name))


def _log_group(session: AwsSession, params: Params, names: ResourceNames) -> list[Change]:
    report = ReportNames.derive(params, names)
    return [_group(session, params, names.log_group, "every build log of the project"),
            _group(session, params, report.log_group, "every log of the report builds")]


def _group(session: AwsSession, params: Params, group: str, what: str) -> Change:
    logs = session.client("logs")
    paginator = logs.get_paginator("describe_log_groups")
    found_groups = {g["logGroupName"]: g["arn"].removesuffix(":*")
                    for page in paginator.paginate(logGroupNamePrefix=group)
                    for g in page["logGroups"]}
    found = None
    if group in found_groups:
        found = _read(f"list tags of {group}", (), logs.list_tags_for_resource,
                      resourceArn=found_groups[group])["tags"]
    return _decide(f"log group {group}", found, params.app_name,
                   lambda: logs.delete_log_group(logGroupName=group), [what])


def _report_schedule(session: AwsSession, params: Params, names: ResourceNames) -> list[Change]:
    """The scheduled health report's schedule group (tagged) and the schedules in it."""
    report = ReportNames.derive(params, names)
    scheduler = session.client("scheduler")
    group = _read(f"get schedule group {report.schedule_group}", ("ResourceNotFoundException",),
                  scheduler.get_schedule_group, Name=report.schedule_group)
    found = None
    if group is not None:
        found = tags.from_tag_list(_read(f"list tags of {report.schedule_group}", (),
                                         scheduler.list_tags_for_resource,
                                         ResourceArn=group["Arn"])["Tags"])

    def delete() -> None:
        paginator = scheduler.get_paginator("list_schedules")
        for page in paginator.paginate(GroupName=report.schedule_group):
            for item in page["Schedules"]:
                scheduler.delete_schedule(Name=item["Name"], GroupName=report.schedule_group)
        scheduler.delete_schedule_group(Name=report.schedule_group)

    return [_decide(f"schedule group {report.schedule_group} and its schedules", found,
                    params.app_name, delete)]


# -- config and secrets ---------------------------------------------------------------------------


def _parameters(session: AwsSession, params: Params, names: ResourceNames) -> list[Change]:
    """Each parameter under the app's path, judged by its own tags (values are never read out)."""
    ssm = session.client("ssm")
    paginator = ssm.get_paginator("get_parameters_by_path")
    found_names = [p["Name"] for page in paginator.paginate(Path=names.ssm_prefix, Recursive=True)
                   for p in page["Parameters"] if p["Name"].startswith(names.ssm_prefix + "/")]
    if not found_names:
        return [Change(f"SSM parameters under {names.ssm_prefix}/", "unchanged", [ABSENT])]
    return [_parameter(ssm, params, name) for name in found_names]


def _parameter(ssm, params: Params, name: str) -> Change:
    found = tags.from_tag_list(_read(f"list tags of parameter {name}", (),
                                     ssm.list_tags_for_resource, ResourceType="Parameter",
                                     ResourceId=name)["TagList"])
    return _decide(f"SSM parameter {name}", found, params.app_name,
                   lambda: ssm.delete_parameter(Name=name))


def _secrets(session: AwsSession, params: Params, names: ResourceNames) -> list[Change]:
    """Secrets under the app's prefix, deleted at once: no recovery window to wait out."""
    sm = session.client("secretsmanager")
    prefix = names.secret_prefix + "/"
    paginator = sm.get_paginator("list_secrets")
    secrets = [s for page in paginator.paginate(Filters=[{"Key": "name", "Values": [prefix]}])
               for s in page["SecretList"] if s["Name"].startswith(prefix)]
    if not secrets:
        return [Change(f"secrets under {prefix}", "unchanged", [ABSENT])]
    return [_decide(f"secret {s['Name']}", tags.from_tag_list(s.get("Tags")), params.app_name,
                    _secret_deleter(sm, s["ARN"]), ["force delete: no recovery window"])
            for s in secrets]


def _secret_deleter(sm, arn: str) -> Callable[[], Any]:
    return lambda: sm.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)


def _stacks(session: AwsSession, params: Params, names: ResourceNames) -> list[Change]:
    """The stacks the CloudFormation deploy made, deleted (by their own role, which goes
    later) and waited for; tagged through the build's template configuration."""
    if params.deploy_provider != "cloudformation":
        return []
    cfn = session.client("cloudformation")
    changes = []
    for stack in names.cloudformation_stacks:
        got = _read(f"describe stack {stack}", ("ValidationError",), cfn.describe_stacks,
                    StackName=stack)
        live = got and got["Stacks"][0]["StackStatus"] != "DELETE_COMPLETE"
        found = tags.from_tag_list(got["Stacks"][0].get("Tags")) if live else None

        def delete(stack: str = stack) -> None:
            cfn.delete_stack(StackName=stack)
            cfn.get_waiter("stack_delete_complete").wait(StackName=stack)

        changes.append(_decide(f"CloudFormation stack {stack}", found, params.app_name, delete,
                               ["delete the stack and every resource it made"]))
    return changes


# -- roles and buckets ----------------------------------------------------------------------------


def _roles(session: AwsSession, params: Params, names: ResourceNames) -> list[Change]:
    report = ReportNames.derive(params, names)
    stack_role = (names.cloudformation_role,) if params.deploy_provider == "cloudformation" \
        else ()
    return [_role(session, params, role)
            for role in (names.codebuild_role, names.codepipeline_role, names.events_role,
                         report.project_role, report.scheduler_role, *stack_role)]


def _role(session: AwsSession, params: Params, role: str) -> Change:
    iam = session.client("iam")
    got = _read(f"get role {role}", ("NoSuchEntity",), iam.get_role, RoleName=role)
    found = None if got is None else tags.from_tag_list(got["Role"].get("Tags"))
    if not tags.is_owned(found, params.app_name):
        return _decide(f"IAM role {role}", found, params.app_name, _nothing)
    inline = [n for page in iam.get_paginator("list_role_policies").paginate(RoleName=role)
              for n in page["PolicyNames"]]
    attached = [p["PolicyArn"] for page in iam.get_paginator("list_attached_role_policies")
                .paginate(RoleName=role) for p in page["AttachedPolicies"]]

    def delete() -> None:
        for name in inline:
            iam.delete_role_policy(RoleName=role, PolicyName=name)
        for arn in attached:
            iam.detach_role_policy(RoleName=role, PolicyArn=arn)
        iam.delete_role(RoleName=role)

    details = [f"delete inline policy {n}" for n in inline]
    details += [f"detach managed policy {a}" for a in attached]
    return _decide(f"IAM role {role}", found, params.app_name, delete, details)


def _buckets(session: AwsSession, params: Params, names: ResourceNames) -> list[Change]:
    return [_bucket(session, params, bucket)
            for bucket in (*names.deploy_buckets, names.artifact_bucket)]


def _bucket(session: AwsSession, params: Params, bucket: str) -> Change:
    s3 = session.client("s3")
    found: dict[str, str] | None
    try:
        found = tags.from_tag_list(s3.get_bucket_tagging(Bucket=bucket)["TagSet"])
    except ClientError as err:
        code = err.response["Error"]["Code"]
        if code not in ("NoSuchBucket", "NoSuchTagSet"):
            raise StepError(f"get tags of bucket {bucket}: {err}") from err
        found = None if code == "NoSuchBucket" else {}
    return _decide(f"S3 bucket {bucket}", found, params.app_name,
                   lambda: _empty_and_delete_bucket(s3, bucket),
                   ["every object version and delete marker, then the bucket"])


def _empty_and_delete_bucket(s3, bucket: str) -> None:
    """A versioned bucket is empty only when every version and delete marker is gone."""
    paginator = s3.get_paginator("list_object_versions")
    keys = [{"Key": v["Key"], "VersionId": v["VersionId"]}
            for page in paginator.paginate(Bucket=bucket)
            for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
    for start in range(0, len(keys), _S3_DELETE_BATCH):
        batch = keys[start:start + _S3_DELETE_BATCH]
        answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
        if answer.get("Errors"):
            first = answer["Errors"][0]
            raise StepError(f"empty bucket {bucket}: {len(answer['Errors'])} objects not "
                            f"deleted, first {first['Key']}: {first['Code']}. Fix: check the "
                            "bucket policy and object lock, then run teardown again.")
    s3.delete_bucket(Bucket=bucket)


# -- reads ----------------------------------------------------------------------------------------


def _read(what: str, missing_codes: tuple[str, ...], call: Callable[..., Any],
          **kwargs: Any) -> Any:
    """One read call; None when its error code says the resource is missing."""
    try:
        return call(**kwargs)
    except ClientError as err:
        if err.response["Error"]["Code"] in missing_codes:
            return None
        raise StepError(f"{what}: {err}") from err


def _exists(what: str, missing_codes: tuple[str, ...], call: Callable[..., Any],
            **kwargs: Any) -> bool:
    return _read(what, missing_codes, call, **kwargs) is not None


def _paged_tags(client, operation: str, key: str, **kwargs: Any) -> dict[str, str]:
    paginator = client.get_paginator(operation)
    return tags.from_tag_list([t for page in paginator.paginate(**kwargs) for t in page[key]])


def _nothing() -> None:
    """The delete of a change that never runs (absent or kept)."""


def _guarded(what: str, fn: Callable[[], Any]) -> Callable[[], Any]:
    """Wrap a delete so an AWS failure names the resource and keeps its cause."""

    def run() -> Any:
        try:
            return fn()
        except ClientError as err:
            raise StepError(f"{what}: {err}. Fix: correct the cause and run teardown again; "
                            "what is already deleted shows as absent.") from err

    return run
