"""Bucket policies are kept as given and not enforced (moto would ignore their conditions)."""

import json

import pytest
from botocore.exceptions import ClientError

TLS_ONLY = {"Version": "2012-10-17", "Statement": [{
    "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
    "Resource": ["arn:aws:s3:::B", "arn:aws:s3:::B/*"],
    "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}


def test_tls_only_policy_round_trips_and_objects_still_flow(session, app_name):
    s3 = session.client("s3")
    s3.create_bucket(Bucket=app_name)
    policy = json.dumps(TLS_ONLY).replace("arn:aws:s3:::B", f"arn:aws:s3:::{app_name}")
    s3.put_bucket_policy(Bucket=app_name, Policy=policy)
    assert json.loads(s3.get_bucket_policy(Bucket=app_name)["Policy"]) == json.loads(policy)
    assert s3.get_bucket_policy_status(Bucket=app_name)["PolicyStatus"]["IsPublic"] is False
    s3.put_object(Bucket=app_name, Key="k", Body=b"v")
    assert s3.get_object(Bucket=app_name, Key="k")["Body"].read() == b"v"
    s3.delete_bucket_policy(Bucket=app_name)
    with pytest.raises(ClientError) as err:
        s3.get_bucket_policy(Bucket=app_name)
    assert err.value.response["Error"]["Code"] == "NoSuchBucketPolicy"


@pytest.mark.parametrize("call, code", [
    (lambda s3, b: s3.get_bucket_policy(Bucket=b + "-missing"), "NoSuchBucket"),
    (lambda s3, b: s3.put_bucket_policy(Bucket=b + "-missing", Policy="{}"), "NoSuchBucket"),
    (lambda s3, b: s3.put_bucket_policy(Bucket=b, Policy="not json"), "MalformedPolicy"),
])
def test_errors_use_s3_codes(session, app_name, call, code):
    session.client("s3").create_bucket(Bucket=app_name)
    with pytest.raises(ClientError) as err:
        call(session.client("s3"), app_name)
    assert err.value.response["Error"]["Code"] == code


def test_a_recreated_bucket_has_no_old_policy(session, app_name):
    s3 = session.client("s3")
    s3.create_bucket(Bucket=app_name)
    s3.put_bucket_policy(Bucket=app_name, Policy=json.dumps(TLS_ONLY))
    s3.delete_bucket(Bucket=app_name)
    s3.create_bucket(Bucket=app_name)
    with pytest.raises(ClientError) as err:
        s3.get_bucket_policy(Bucket=app_name)
    assert err.value.response["Error"]["Code"] == "NoSuchBucketPolicy"
