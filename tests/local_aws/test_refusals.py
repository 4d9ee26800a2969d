"""What the local AWS does not emulate is refused at once, in the called service's protocol.

An operation neither the project nor moto serves, a service moto lacks, and a crash inside moto
all answered werkzeug's HTML "500 Internal Server Error" page, which the AWS CLI retried for
about 12 s before printing it. Now each is an AWS error botocore parses, with a status no SDK
retries; and six DeleteBucket*Configuration calls no longer delete the bucket (a moto bug).
"""

from __future__ import annotations

import re
import subprocess
import uuid

import boto3
import flask
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from helpers import AWS_CLI

from runbook_lib.local.server import moto_faults
from runbook_lib.local.server.wire import make_environ, read_request

# (service, method, kwargs, protocol) of operations neither the project nor moto serves.
NOT_EMULATED = [
    ("sns", "get_data_protection_policy",
     {"ResourceArn": "arn:aws:sns:us-east-1:123456789012:topic"}, "query"),
    ("iam", "generate_service_last_accessed_details",
     {"Arn": "arn:aws:iam::123456789012:role/any"}, "query"),
    ("logs", "get_log_anomaly_detector", {"anomalyDetectorArn": "arn:aws:logs:us-east-1:1:x"},
     "json"),
    ("codeartifact", "get_authorization_token", {"domain": "my-domain"}, "rest-json"),
]


def _client(local_aws, service: str, attempts: int = 5):
    """A client that would retry a retryable error, and counts the attempts it made."""
    creds = local_aws.credentials
    client = boto3.client(service, region_name="us-east-1", endpoint_url=local_aws.endpoint_url,
                          aws_access_key_id=creds.access_key_id,
                          aws_secret_access_key=creds.secret_access_key,
                          config=Config(retries={"mode": "standard", "max_attempts": attempts}))
    client.sent = 0

    def count(**_kwargs):
        client.sent += 1

    client.meta.events.register("before-send", count)
    return client


@pytest.mark.parametrize(("service", "method", "kwargs", "protocol"), NOT_EMULATED,
                         ids=[f"{s}.{m}" for s, m, _, _ in NOT_EMULATED])
def test_unknown_operation_is_refused_once_in_its_protocol(local_aws, service, method, kwargs,
                                                           protocol):
    client = _client(local_aws, service)
    with pytest.raises(ClientError) as caught:
        getattr(client, method)(**kwargs)
    error = caught.value.response["Error"]
    assert error["Code"] == "NotImplemented"
    assert "does not emulate" in error["Message"]
    operation = client.meta.method_to_api_mapping[method]
    assert operation in error["Message"]
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501
    assert client.sent == 1  # not retried


def test_aws_cli_gets_the_refusal_on_its_first_attempt(local_aws):
    env = local_aws.credentials.environment(local_aws.endpoint_url)
    result = subprocess.run([AWS_CLI, "codeartifact", "get-authorization-token", "--domain",
                             "my-domain", "--debug"], env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode != 0
    assert "NotImplemented" in result.stderr and "does not emulate the service codeartifact"\
        in result.stderr
    assert "<html" not in result.stderr.lower()
    attempts = re.findall(r"Sending http request", result.stderr)
    assert len(attempts) == 1, f"{len(attempts)} attempts"


def test_a_crash_inside_moto_is_an_internal_failure_not_a_page():
    """The census finds no crash left (moto_inputs answers those); an unforeseen one, raised
    inside a Flask app as moto's are, still comes back as InternalFailure, never a page."""
    app = flask.Flask("crashing")

    @app.route("/", methods=["POST"])
    def crash():
        raise AttributeError("'NoneType' object has no attribute 'split'")

    body = b"Action=Publish&Message=x&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A123456789012%3At"
    headers = {"content-type": "application/x-www-form-urlencoded",
               "authorization": "AWS4-HMAC-SHA256 Credential=k/20260101/us-east-1/sns/"
                                "aws4_request, SignedHeaders=host, Signature=0"}
    environ = make_environ("POST", "/", "", headers, body)
    request = read_request(environ)
    environ = make_environ("POST", "/", "", headers, body)
    seen = {}
    answered = b"".join(moto_faults.answer(app, environ, request,
                                           lambda status, _headers: seen.update(status=status)))
    assert seen["status"].startswith("501")
    assert b"<Code>InternalFailure</Code>" in answered and b"sns:Publish" in answered
    assert b"<html" not in answered.lower()


def test_crashes_that_say_what_aws_answers_get_that_answer(local_aws):
    s3 = _client(local_aws, "s3")
    bucket = f"crash-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    with pytest.raises(ClientError) as caught:  # moto: KeyError on the unknown upload id
        s3.upload_part(Bucket=bucket, Key="k", UploadId="no-such-upload", PartNumber=1,
                       Body=b"x")
    assert caught.value.response["Error"]["Code"] == "NoSuchUpload"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    events = _client(local_aws, "events")
    with pytest.raises(ClientError) as caught:  # moto: KeyError on the unknown name
        events.describe_event_source(Name="aws.partner/example.com/none")
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"


@pytest.mark.parametrize("method", [
    "delete_bucket_analytics_configuration", "delete_bucket_metrics_configuration",
    "delete_bucket_inventory_configuration", "delete_bucket_intelligent_tiering_configuration",
    "delete_bucket_metadata_table_configuration", "delete_bucket_metadata_configuration"])
def test_delete_bucket_configuration_never_deletes_the_bucket(local_aws, method):
    s3 = _client(local_aws, "s3")
    bucket = f"keep-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)  # empty: moto would delete it
    operation = s3.meta.service_model.operation_model(s3.meta.method_to_api_mapping[method])
    kwargs = {"Bucket": bucket}
    if "Id" in operation.input_shape.members:
        kwargs["Id"] = "config-1"
    with pytest.raises(ClientError) as caught:
        getattr(s3, method)(**kwargs)
    assert caught.value.response["Error"]["Code"] == "NotImplemented"
    assert operation.name in caught.value.response["Error"]["Message"]
    s3.head_bucket(Bucket=bucket)  # still there
    assert bucket in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_an_html_object_is_served_as_stored_not_taken_for_an_error_page(local_aws):
    """A health report in S3 is an HTML page: GetObject must hand it back, 200 and whole."""
    s3 = _client(local_aws, "s3")
    bucket = f"html-object-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    page = b"<!DOCTYPE html>\n<html><body>report</body></html>"
    s3.put_object(Bucket=bucket, Key="reports/p/latest.html", Body=page, ContentType="text/html")
    got = s3.get_object(Bucket=bucket, Key="reports/p/latest.html")
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert got["Body"].read() == page
