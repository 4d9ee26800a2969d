"""A build's temporary credentials: served to its token, accepted with their session token,
refused once revoked; the operator's secret never passes for them."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from runbook_lib.local.server import build_credentials


def _s3(local_aws, key_id, secret, token=None):
    return boto3.client("s3", endpoint_url=local_aws.endpoint_url, region_name="us-east-1",
                        aws_access_key_id=key_id, aws_secret_access_key=secret,
                        aws_session_token=token, config=Config(retries={"max_attempts": 1}))


def _status(call) -> int:
    with pytest.raises(ClientError) as err:
        call()
    return err.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_issued_credentials_sign_until_revoked(local_aws):
    creds = build_credentials.issue("p:1", "arn:aws:iam::123456789012:role/r")
    try:
        good = _s3(local_aws, creds.access_key_id, creds.secret_access_key, creds.session_token)
        assert "Buckets" in good.list_buckets()
        no_token = _s3(local_aws, creds.access_key_id, creds.secret_access_key)
        assert _status(no_token.list_buckets) == 403
        other_token = _s3(local_aws, creds.access_key_id, creds.secret_access_key, "x" * 40)
        assert _status(other_token.list_buckets) == 403
        operator = local_aws.credentials.secret_access_key  # not a build's secret
        posing = _s3(local_aws, creds.access_key_id, operator, creds.session_token)
        assert _status(posing.list_buckets) == 403
    finally:
        build_credentials.revoke(creds)
    assert _status(good.list_buckets) == 403


def test_the_endpoint_serves_them_only_to_the_builds_token(local_aws):
    creds = build_credentials.issue("p:2", "arn:aws:iam::123456789012:role/r")
    url = creds.full_uri(local_aws.endpoint_url)
    try:
        got = json.loads(urllib.request.urlopen(urllib.request.Request(
            url, headers={"Authorization": creds.authorization_token}), timeout=10).read())
        assert (got["AccessKeyId"], got["Token"]) == (creds.access_key_id, creds.session_token)
        assert got["AccessKeyId"].startswith("ASIA") and got["Expiration"].endswith("Z")
        bearer = "Bearer " + local_aws.credentials.control_token()
        for headers in ({}, {"Authorization": "wrong"}, {"Authorization": bearer}):
            with pytest.raises(urllib.error.HTTPError) as err:
                urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10)
            assert err.value.code == 403
    finally:
        build_credentials.revoke(creds)
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(urllib.request.Request(
            url, headers={"Authorization": creds.authorization_token}), timeout=10)
    assert not {creds.secret_access_key, creds.session_token,
                creds.authorization_token} & set(repr(creds).replace("'", " ").split())


def test_a_link_presigned_in_a_build_opens_after_it_ended_and_nothing_else_does(local_aws, session):
    """As on AWS, where a role's credentials live their hour: a report build's download link
    must open after the build; the ended build's key signs no other request."""
    bucket = f"presign-after-{uuid.uuid4().hex[:12]}"
    operator = session.client("s3")
    operator.create_bucket(Bucket=bucket)
    operator.put_object(Bucket=bucket, Key="report.html", Body=b"<p>report</p>")
    creds = build_credentials.issue("p:2", "arn:aws:iam::123456789012:role/r")
    s3 = _s3(local_aws, creds.access_key_id, creds.secret_access_key, creds.session_token)
    get_url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket,
                                                              "Key": "report.html"})
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "x"})
    build_credentials.revoke(creds)
    with urllib.request.urlopen(get_url) as answer:  # noqa: S310 (a loopback URL)
        assert answer.read() == b"<p>report</p>"
    put = urllib.request.Request(put_url, data=b"x", method="PUT")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(put)  # noqa: S310
    assert refused.value.code == 403
    assert _status(lambda: s3.get_object(Bucket=bucket, Key="report.html")) == 403
