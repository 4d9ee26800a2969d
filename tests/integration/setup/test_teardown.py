"""Teardown on the local AWS: everything the suite made goes, look-alikes stay, re-runs are no-ops.

Resources are created here by hand, as the setup steps would (same names, ownership tags), so
these tests do not depend on the setup modules.
"""

import json

import pytest
from botocore.exceptions import ClientError
from helpers import create_pipeline_build_project

from runbook_lib.core.tags import as_tag_list, ownership_tags
from runbook_lib.setup import teardown

TRUST = {
    "codebuild": "codebuild.amazonaws.com",
    "codepipeline": "codepipeline.amazonaws.com",
    "events": "events.amazonaws.com",
}
POLICY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})


def _tags(owner):
    return ownership_tags(owner) if owner else {}


def _make_roles(session, names, owner):
    iam = session.client("iam")
    managed = iam.create_policy(PolicyName=f"{names.pipeline}-extra-{owner or 'none'}",
                                PolicyDocument=POLICY)["Policy"]["Arn"]
    roles = {names.codebuild_role: "codebuild", names.codepipeline_role: "codepipeline",
             names.events_role: "events"}
    for role, service in roles.items():
        trust = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": TRUST[service]},
            "Action": "sts:AssumeRole"}]}
        iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust),
                        Tags=as_tag_list(_tags(owner)))
        iam.put_role_policy(RoleName=role, PolicyName="inline-a", PolicyDocument=POLICY)
        iam.put_role_policy(RoleName=role, PolicyName="inline-b", PolicyDocument=POLICY)
    iam.attach_role_policy(RoleName=names.codepipeline_role, PolicyArn=managed)


def _make_buckets(session, names, owner):
    s3 = session.client("s3")
    for bucket in (*names.deploy_buckets, names.artifact_bucket):
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        if owner:
            s3.put_bucket_tagging(Bucket=bucket,
                                  Tagging={"TagSet": as_tag_list(ownership_tags(owner))})
        for n in range(3):
            s3.put_object(Bucket=bucket, Key="build/app.zip", Body=f"v{n}".encode())
        s3.put_object(Bucket=bucket, Key="gone.txt", Body=b"x")
        s3.delete_object(Bucket=bucket, Key="gone.txt")  # leaves a delete marker
        s3.delete_object(Bucket=bucket, Key="build/app.zip")


def _make_build_resources(session, names, owner):
    create_pipeline_build_project(session, names.build_project,
                                  names.role_arn(names.codebuild_role),
                                  tags=as_tag_list(_tags(owner), key="key", value="value"))
    session.client("logs").create_log_group(logGroupName=names.log_group, tags=_tags(owner))


def _make_config(session, names, owner):
    ssm, sm = session.client("ssm"), session.client("secretsmanager")
    tag_list = as_tag_list(_tags(owner))
    for key, kind in (("LOG_LEVEL", "String"), ("DB_URL", "SecureString")):
        extra = {"Tags": tag_list} if tag_list else {}
        ssm.put_parameter(Name=f"{names.ssm_path('staging')}{key}", Value="v", Type=kind,
                          **extra)
    sm.create_secret(Name=names.secret_name("staging", "API_KEY"), SecretString="s3cr3t",
                     Tags=tag_list)


def _make_notifications(session, names, owner):
    sns, events = session.client("sns"), session.client("events")
    for topic in (names.approval_topic, names.failure_topic):
        arn = sns.create_topic(Name=topic, Tags=as_tag_list(_tags(owner)))["TopicArn"]
        sns.subscribe(TopicArn=arn, Protocol="email", Endpoint="ops@example.com")
    events.put_rule(Name=names.failure_rule, EventPattern=json.dumps({"source": ["x"]}),
                    Tags=as_tag_list(_tags(owner)))
    events.put_targets(Rule=names.failure_rule, Targets=[
        {"Id": "failure-topic", "Arn": names.topic_arn(names.failure_topic)},
        {"Id": "second", "Arn": names.topic_arn(names.approval_topic)}])
    events.put_rule(Name=names.source_change_rule, Tags=as_tag_list(_tags(owner)),
                    EventPattern=json.dumps({"source": ["aws.s3"]}))
    events.put_targets(Rule=names.source_change_rule, Targets=[
        {"Id": "pipeline", "Arn": names.pipeline_arn,
         "RoleArn": names.role_arn(names.events_role)}])


def _make_pipeline(session, names, owner):
    action = {"actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3",
                               "version": "1"},
              "configuration": {"S3Bucket": names.artifact_bucket, "S3ObjectKey": "src.zip"},
              "outputArtifacts": [{"name": "src"}], "name": "Source"}
    build = {"actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild",
                              "version": "1"},
             "configuration": {"ProjectName": names.build_project},
             "inputArtifacts": [{"name": "src"}], "name": "Build"}
    session.client("codepipeline").create_pipeline(
        pipeline={"name": names.pipeline, "roleArn": names.role_arn(names.codepipeline_role),
                  "artifactStore": {"type": "S3", "location": names.artifact_bucket},
                  "stages": [{"name": "Source", "actions": [action]},
                             {"name": "Build", "actions": [build]}]},
        tags=as_tag_list(_tags(owner), key="key", value="value"))


def _make_everything(session, names, owner):
    """Every resource the suite creates for ``names``, tagged for ``owner`` (None: untagged)."""
    _make_roles(session, names, owner)
    _make_buckets(session, names, owner)
    _make_build_resources(session, names, owner)
    _make_config(session, names, owner)
    _make_notifications(session, names, owner)
    _make_pipeline(session, names, owner)


def _missing(call, codes, **kwargs):
    try:
        call(**kwargs)
    except ClientError as err:
        return err.response["Error"]["Code"] in codes
    return False


def _what_remains(session, names):
    """Names of the app's resources still there, checked without the teardown module."""
    cp, events, sns = (session.client(s) for s in ("codepipeline", "events", "sns"))
    iam, s3, ssm = (session.client(s) for s in ("iam", "s3", "ssm"))
    left = []
    if not _missing(cp.get_pipeline, {"PipelineNotFoundException"}, name=names.pipeline):
        left.append(names.pipeline)
    for rule in (names.failure_rule, names.source_change_rule):
        if not _missing(events.describe_rule, {"ResourceNotFoundException"}, Name=rule):
            left.append(rule)
    for topic in (names.approval_topic, names.failure_topic):
        if not _missing(sns.get_topic_attributes, {"NotFound"}, TopicArn=names.topic_arn(topic)):
            left.append(topic)
    if session.client("codebuild").batch_get_projects(names=[names.build_project])["projects"]:
        left.append(names.build_project)
    groups = session.client("logs").describe_log_groups(logGroupNamePrefix=names.log_group)
    left += [g["logGroupName"] for g in groups["logGroups"]]
    left += [p["Name"] for page in ssm.get_paginator("get_parameters_by_path").paginate(
        Path=names.ssm_prefix, Recursive=True) for p in page["Parameters"]]
    secrets = session.client("secretsmanager").list_secrets(
        Filters=[{"Key": "name", "Values": [names.secret_prefix + "/"]}])["SecretList"]
    left += [s["Name"] for s in secrets]
    for role in (names.codebuild_role, names.codepipeline_role, names.events_role):
        if not _missing(iam.get_role, {"NoSuchEntity"}, RoleName=role):
            left.append(role)
    for bucket in (*names.deploy_buckets, names.artifact_bucket):
        if not _missing(s3.head_bucket, {"404", "NoSuchBucket"}, Bucket=bucket):
            left.append(bucket)
    return sorted(left)


def test_teardown_deletes_everything_owned_in_dependency_order(session, params, names):
    _make_everything(session, names, params.app_name)
    plan = teardown.plan_teardown(session, params, names)
    deleting = [c.resource for c in plan.changes if c.action == "delete"]
    assert len(deleting) == 16, plan.render()  # pipeline, 2 rules, 2 topics, project, log
    # group, 2 parameters, 1 secret, 3 roles, 3 buckets
    assert deleting[0] == f"CodePipeline pipeline {names.pipeline}"
    assert deleting[-1] == f"S3 bucket {names.artifact_bucket}"
    assert teardown.kept_resources(plan) == []
    plan.apply()
    assert _what_remains(session, names) == []


def test_second_teardown_is_a_no_op(session, params, names):
    _make_everything(session, names, params.app_name)
    teardown.plan_teardown(session, params, names).apply()
    session.recorder.reset()
    plan = teardown.plan_teardown(session, params, names).apply()
    assert session.recorder.mutating_count == 0, session.recorder.summary()
    assert "no changes" in plan.summary()
    assert all(c.diff == [teardown.ABSENT] for c in plan.changes)


@pytest.mark.parametrize("case, owner", [("no tags", None), ("another app's tags", "other")])
def test_lookalikes_are_kept_untouched_and_do_not_stop_teardown(session, params, names, case,
                                                                 owner):
    _make_everything(session, names, owner)
    before = _what_remains(session, names)
    session.recorder.reset()
    plan = teardown.plan_teardown(session, params, names).apply()
    assert session.recorder.mutating_count == 0, case
    assert not [c for c in plan.changes if c.action == "delete"], case
    kept = teardown.kept_resources(plan)
    assert len(kept) == 16, case
    assert _what_remains(session, names) == before, case
    versions = session.client("s3").list_object_versions(Bucket=names.artifact_bucket)
    assert len(versions["Versions"]) == 4 and len(versions["DeleteMarkers"]) == 2, case


def test_only_owned_items_under_shared_prefixes_are_deleted(session, params, names):
    _make_config(session, names, params.app_name)
    manual_parameter = f"{names.ssm_prefix}/manual/NOTE"
    manual_secret = names.secret_name("manual", "TOKEN")
    session.client("ssm").put_parameter(Name=manual_parameter, Value="x", Type="String")
    session.client("secretsmanager").create_secret(Name=manual_secret, SecretString="x")
    plan = teardown.plan_teardown(session, params, names).apply()
    assert sorted(teardown.kept_resources(plan)) == [f"SSM parameter {manual_parameter}",
                                                     f"secret {manual_secret}"]
    assert _what_remains(session, names) == sorted([manual_parameter, manual_secret])


def test_the_scheduled_report_is_torn_down_too(session, params, names):
    from runbook_lib.setup import schedule

    schedule.plan_report_schedule(session, params, names).apply()
    report = schedule.ReportNames.derive(params, names)
    plan = teardown.plan_teardown(session, params, names)
    deleted = {c.resource for c in plan.changes if c.action == "delete"}
    assert {f"schedule group {report.schedule_group} and its schedules",
            f"CodeBuild project {report.project}", f"log group {report.log_group}",
            f"IAM role {report.project_role}", f"IAM role {report.scheduler_role}"} <= deleted
    plan.apply()
    scheduler = session.client("scheduler")
    groups = [g["Name"] for g in scheduler.list_schedule_groups()["ScheduleGroups"]]
    assert report.schedule_group not in groups
    assert session.client("codebuild").batch_get_projects(names=[report.project])[
        "projectsNotFound"] == [report.project]
    session.recorder.reset()
    teardown.plan_teardown(session, params, names).apply()
    assert session.recorder.mutating_count == 0, session.recorder.summary()


def test_schedule_option_is_an_empty_plan_unless_requested(session, params, names):
    from runbook_lib.setup import schedule

    session.recorder.reset()
    plan = schedule.plan_if_requested(session, params, names, False)
    assert plan.changes == [] and "schedule_report=True" in plan.summary()
    assert session.recorder.calls == {}
    assert schedule.plan_if_requested(session, params, names, True).has_changes
