"""Artifact and deploy buckets on the local AWS: create, converge, drift per aspect, ownership."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError
from helpers import assert_converged

from runbook_lib.core import tags
from runbook_lib.core.errors import NotOwnedError, StepError
from runbook_lib.core.params import Params
from runbook_lib.core.session import AwsSession
from runbook_lib.setup import bucket, bucket_state

KMS_KEY = "arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-1111-2222-3333-444455556666"


def _apply_artifact_bucket(session, params, names):
    return bucket.plan_artifact_bucket(session, params, names).apply()


def _pending_resources(plan):
    return [c.resource for c in plan.pending]


def test_create_sets_every_aspect(session, params, names):
    plan = bucket.plan_artifact_bucket(session, params, names)
    assert [c.action for c in plan.changes] == ["create"] * 6
    plan.apply()

    state = bucket.describe_artifact_bucket(session, names)
    assert state.exists
    assert tags.is_owned(state.tags, params.app_name)
    assert state.versioning == "Enabled"
    assert state.encryption["SSEAlgorithm"] == "AES256"
    assert state.public_access_block == dict.fromkeys(bucket_state.PUBLIC_ACCESS_FLAGS, True)
    statement = state.tls_statement
    assert statement["Effect"] == "Deny" and statement["Principal"] == "*"
    assert statement["Action"] == "s3:*"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert sorted(statement["Resource"]) == [names.artifact_bucket_arn,
                                             names.artifact_bucket_arn + "/*"]
    rule = state.lifecycle_rule
    assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] == params.noncurrent_version_days
    assert rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] == 7


def test_converged_rerun_makes_no_mutating_call(session, params, names):
    _apply_artifact_bucket(session, params, names)
    plan = assert_converged(session, lambda: _apply_artifact_bucket(session, params, names))
    assert "no changes" in plan.summary()


def _suspend_versioning(s3, name):
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Suspended"})


def _delete_public_access_block(s3, name):
    s3.delete_public_access_block(Bucket=name)


def _open_one_public_access_flag(s3, name):
    config = dict.fromkeys(bucket_state.PUBLIC_ACCESS_FLAGS, True) | {"BlockPublicPolicy": False}
    s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=config)


def _delete_encryption(s3, name):
    s3.delete_bucket_encryption(Bucket=name)


def _delete_policy(s3, name):
    s3.delete_bucket_policy(Bucket=name)


def _shorten_lifecycle(s3, name):
    rule = {"ID": bucket_state.LIFECYCLE_RULE_ID, "Status": "Enabled", "Filter": {"Prefix": ""},
            "NoncurrentVersionExpiration": {"NoncurrentDays": 3},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}}
    s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": [rule]})


@pytest.mark.parametrize(
    "drift, aspect, diff_line",
    [
        (_suspend_versioning, "versioning", "versioning: Suspended -> Enabled"),
        (_delete_public_access_block, "public access block",
         "public access block: (none) -> all four blocks on"),
        (_open_one_public_access_flag, "public access block", "BlockPublicPolicy: false -> true"),
        (_delete_encryption, "encryption", "encryption: (none) -> SSE-S3 (AES256)"),
        (_delete_policy, "policy", None),
        (_shorten_lifecycle, "lifecycle", None),
    ],
    ids=["versioning suspended", "public access block deleted", "one public flag off",
         "encryption deleted", "policy deleted", "lifecycle shortened"],
)
def test_drift_in_one_aspect_updates_only_that_aspect(session, params, names, drift, aspect,
                                                      diff_line):
    _apply_artifact_bucket(session, params, names)
    drift(session.client("s3"), names.artifact_bucket)

    plan = bucket.plan_artifact_bucket(session, params, names)

    assert _pending_resources(plan) == [f"s3 bucket {names.artifact_bucket} {aspect}"]
    assert plan.pending[0].action == "update"
    if diff_line:
        assert diff_line in plan.pending[0].diff
    session.recorder.reset()
    plan.apply()
    assert session.recorder.mutating_count == 1, session.recorder.summary()
    assert not bucket.plan_artifact_bucket(session, params, names).has_changes


def test_policy_keeps_statements_the_operator_added(session, params, names):
    _apply_artifact_bucket(session, params, names)
    s3 = session.client("s3")
    extra = {"Sid": "OperatorRule", "Effect": "Deny", "Principal": "*",
             "Action": "s3:DeleteBucket", "Resource": names.artifact_bucket_arn}
    s3.put_bucket_policy(Bucket=names.artifact_bucket,
                         Policy=json.dumps({"Version": "2012-10-17", "Statement": [extra]}))

    plan = bucket.plan_artifact_bucket(session, params, names).apply()

    assert _pending_resources(plan) == []
    policy = json.loads(s3.get_bucket_policy(Bucket=names.artifact_bucket)["Policy"])
    assert {s["Sid"] for s in policy["Statement"]} == {"OperatorRule",
                                                      bucket_state.TLS_STATEMENT_SID}


def test_changed_noncurrent_days_is_a_lifecycle_update(session, params, names):
    _apply_artifact_bucket(session, params, names)

    plan = bucket.plan_artifact_bucket(session, params.replace(noncurrent_version_days=90),
                                       names)

    assert _pending_resources(plan) == [f"s3 bucket {names.artifact_bucket} lifecycle"]
    assert any("NoncurrentDays: 30 -> 90" in line for line in plan.pending[0].diff)


@pytest.mark.parametrize(
    "tag_set",
    [[], [{"Key": tags.MANAGED_BY_KEY, "Value": tags.MANAGED_BY_VALUE},
          {"Key": tags.APP_KEY, "Value": "someone-else"}]],
    ids=["untagged", "tagged for another app"],
)
def test_look_alike_bucket_is_refused_and_untouched(session, params, names, tag_set):
    s3 = session.client("s3")
    s3.create_bucket(Bucket=names.artifact_bucket)
    if tag_set:
        s3.put_bucket_tagging(Bucket=names.artifact_bucket, Tagging={"TagSet": tag_set})
    session.recorder.reset()

    with pytest.raises(NotOwnedError):
        bucket.plan_artifact_bucket(session, params, names)

    assert session.recorder.mutating_count == 0
    assert "Status" not in s3.get_bucket_versioning(Bucket=names.artifact_bucket)
    with pytest.raises(ClientError) as err:
        s3.get_public_access_block(Bucket=names.artifact_bucket)
    assert err.value.response["Error"]["Code"] == "NoSuchPublicAccessBlockConfiguration"


def test_other_region_uses_a_location_constraint(local_aws, app_name):
    params = Params(app_name=app_name, region="eu-west-2")
    names = params.names()
    session = AwsSession(target="local", region="eu-west-2", endpoint_url=local_aws.endpoint_url)

    _apply_artifact_bucket(session, params, names)

    location = session.client("s3").get_bucket_location(Bucket=names.artifact_bucket)
    assert location["LocationConstraint"] == "eu-west-2"
    assert_converged(session, lambda: _apply_artifact_bucket(session, params, names))


def test_us_east_1_takes_no_location_constraint(session, params, names):
    _apply_artifact_bucket(session, params, names)

    location = session.client("s3").get_bucket_location(Bucket=names.artifact_bucket)
    assert location["LocationConstraint"] in (None, "")


def test_kms_variant_and_switching_from_sse_s3(session, params, names):
    _apply_artifact_bucket(session, params, names)
    with_kms = params.replace(kms_key_arn=KMS_KEY)

    plan = bucket.plan_artifact_bucket(session, with_kms, names)

    assert _pending_resources(plan) == [f"s3 bucket {names.artifact_bucket} encryption"]
    assert plan.pending[0].diff == [
        f"encryption: SSE-S3 (AES256) -> SSE-KMS ({KMS_KEY}, bucket key)"]
    plan.apply()
    rules = session.client("s3").get_bucket_encryption(Bucket=names.artifact_bucket)[
        "ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": KMS_KEY}
    assert rules[0]["BucketKeyEnabled"] is True
    assert_converged(session, lambda: _apply_artifact_bucket(session, with_kms, names))


def test_deploy_buckets_for_s3_deploys(session, params, names):
    plan = bucket.plan_deploy_buckets(session, params, names).apply()

    assert len(plan.changes) == 8  # two buckets x (bucket, versioning, encryption, public access)
    for name in names.deploy_buckets:
        state = bucket_state.describe_bucket(session, name)
        assert tags.is_owned(state.tags, params.app_name)
        assert state.versioning == "Enabled"
        assert state.encryption["SSEAlgorithm"] == "AES256"
        assert all(state.public_access_block.values())
    assert_converged(session, lambda: bucket.plan_deploy_buckets(session, params, names).apply())


def test_deploy_buckets_refuse_a_look_alike_before_creating_either(session, params, names):
    staging, production = names.deploy_buckets
    session.client("s3").create_bucket(Bucket=production)

    with pytest.raises(NotOwnedError):
        bucket.plan_deploy_buckets(session, params, names)

    assert not bucket_state.describe_bucket(session, staging).exists


def test_no_deploy_buckets_for_other_providers(session, app_name):
    params = Params(app_name=app_name, deploy_provider="cloudformation")

    plan = bucket.plan_deploy_buckets(session, params, params.names())

    assert plan.changes == []
    assert session.recorder.calls == {}


def test_describe_missing_bucket(session, names):
    state = bucket.describe_artifact_bucket(session, names)

    assert not state.exists
    assert state.as_rows() == [("bucket", f"{names.artifact_bucket} (does not exist)")]


def test_describe_rows_after_create(session, params, names):
    _apply_artifact_bucket(session, params, names)

    rows = dict(bucket.describe_artifact_bucket(session, names).as_rows())

    assert rows["versioning"] == "Enabled"
    assert rows["encryption"] == "SSE-S3 (AES256)"
    assert rows["public access blocks"] == "4 of 4 on"
    assert rows["TLS-only policy"] == "yes"
    assert rows["noncurrent versions expire after"] == "30 days"


def test_unexpected_read_error_is_wrapped_not_treated_as_missing(session, params, names):
    s3 = session.client("s3")

    def _deny(**_kwargs):
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "GetBucketPolicy")

    _apply_artifact_bucket(session, params, names)
    original = s3.get_bucket_policy
    s3.get_bucket_policy = _deny
    try:
        with pytest.raises(StepError) as err:
            bucket.plan_artifact_bucket(session, params, names)
    finally:
        s3.get_bucket_policy = original
    assert names.artifact_bucket in str(err.value)
    assert isinstance(err.value.__cause__, ClientError)
