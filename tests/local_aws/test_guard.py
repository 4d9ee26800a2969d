"""The local AWS serves only its operator: real HTTP, real boto3, AWS's own error codes."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from urllib.parse import urlsplit

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from runbook_lib.core import local_credentials
from runbook_lib.core.local_credentials import Credentials
from runbook_lib.core.session import AwsSession
from runbook_lib.local.server import client


def _raw(url: str, method: str = "GET", body: bytes | None = None,
         headers: dict | None = None) -> tuple[int, dict, bytes]:
    req = urllib.request.Request(url, method=method, data=body, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def _session_signing_with(monkeypatch, endpoint: str, creds: Credentials) -> AwsSession:
    monkeypatch.setattr(local_credentials, "credentials_for_endpoint", lambda _url: creds)
    return AwsSession("local", "us-east-1", endpoint_url=endpoint)


def test_the_operator_s_signed_requests_work_in_every_protocol(session, app_name):
    topic = session.client("sns").create_topic(Name=app_name)["TopicArn"]  # query
    session.client("logs").create_log_group(logGroupName=f"/{app_name}")  # JSON
    session.client("s3").create_bucket(Bucket=f"{app_name}-guard")  # REST-XML
    session.client("s3").put_object(Bucket=f"{app_name}-guard", Key="a b/c+d~e", Body=b"x")
    assert topic.endswith(app_name)


BAD_CALLS = {
    "query (sns)": ("sns", lambda c: c.list_topics(), "InvalidClientTokenId",
                    "SignatureDoesNotMatch"),
    "query (iam)": ("iam", lambda c: c.list_roles(), "InvalidClientTokenId",
                    "SignatureDoesNotMatch"),
    "json (logs)": ("logs", lambda c: c.describe_log_groups(), "UnrecognizedClientException",
                    "InvalidSignatureException"),
    "json (codebuild)": ("codebuild", lambda c: c.list_projects(),
                         "UnrecognizedClientException", "InvalidSignatureException"),
    "rest-xml (s3)": ("s3", lambda c: c.list_buckets(), "InvalidAccessKeyId",
                      "SignatureDoesNotMatch"),
}


@pytest.mark.parametrize("service,call,unknown_code,mismatch_code", BAD_CALLS.values(),
                         ids=BAD_CALLS.keys())
def test_foreign_credentials_get_aws_s_own_error_in_the_protocol_s_shape(
        local_aws, monkeypatch, service, call, unknown_code, mismatch_code):
    real = local_aws.credentials
    cases = {unknown_code: Credentials("AKIAFOREIGN000000000", real.secret_access_key),
             mismatch_code: Credentials(real.access_key_id, "not-the-secret")}
    for code, creds in cases.items():
        session = _session_signing_with(monkeypatch, local_aws.endpoint_url, creds)
        client = session._boto.client(service, endpoint_url=local_aws.endpoint_url,
                                      region_name="us-east-1",
                                      config=Config(retries={"max_attempts": 1}))
        with pytest.raises(ClientError) as caught:
            call(client)
        assert caught.value.response["Error"]["Code"] == code


UNSIGNED = {
    "codebuild create project (json)": (
        "/", b'{"name": "evil"}', {"Content-Type": "application/x-amz-json-1.1",
                                   "X-Amz-Target": "CodeBuild_20161006.CreateProject"},
        "MissingAuthenticationTokenException"),
    "sns form post (query)": (
        "/", b"Action=CreateTopic&Name=evil&Version=2010-03-31",
        {"Content-Type": "application/x-www-form-urlencoded"}, "MissingAuthenticationToken"),
    "s3 list buckets (rest-xml)": ("/", None, {}, "AccessDenied"),
    "internal header is no bypass": (
        "/", b"Action=CreateTopic&Name=evil", {"Content-Type":
                                               "application/x-www-form-urlencoded",
                                               "x-runbook-internal": "1"},
        "MissingAuthenticationToken"),
    "moto's own api": ("/moto-api/reset", b"", {}, "AccessDenied"),
}


@pytest.mark.parametrize("path,body,headers,code", UNSIGNED.values(), ids=UNSIGNED.keys())
def test_unsigned_requests_are_refused(local_aws, path, body, headers, code):
    status, _, payload = _raw(local_aws.endpoint_url + path, "POST" if body is not None
                              else "GET", body, headers)
    assert status in (400, 403)
    assert code.encode() in payload


def test_a_browser_origin_gets_no_cors_grant_and_is_refused(local_aws, session):
    preflight = _raw(local_aws.endpoint_url + "/", "OPTIONS", None, {
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert preflight[0] == 403
    assert not any(k.lower().startswith("access-control-") for k in preflight[1])
    status, headers, _ = _raw(local_aws.endpoint_url + "/_runbook/health", headers={
        "Origin": "https://evil.example"})
    assert status == 403 and "Access-Control-Allow-Origin" not in headers


@pytest.mark.parametrize("host", ["evil.example", "evil.example:4599", "10.0.0.1:80",
                                  "127.0.0.1.evil.example"])
def test_a_host_that_is_not_loopback_is_refused(local_aws, host):
    status, _, body = _raw(local_aws.endpoint_url + "/_runbook/health", headers={"Host": host})
    assert status == 403 and b"loopback" in body


def test_loopback_names_on_any_port_are_accepted(local_aws):
    port = urlsplit(local_aws.endpoint_url).port
    for host in (f"localhost:{port}", "127.0.0.1", f"[::1]:{port}", "localhost:1"):
        assert _raw(local_aws.endpoint_url + "/_runbook/health", headers={"Host": host})[0] == 200


def test_the_control_api_needs_the_bearer_token(local_aws):
    health = _raw(local_aws.endpoint_url + "/_runbook/health")
    assert health[0] == 200 and json.loads(health[2])["state_dir"]
    assert _raw(local_aws.endpoint_url + "/_runbook/calls")[0] == 401
    wrong = {"Authorization": "Bearer " + "0" * 64}
    assert _raw(local_aws.endpoint_url + "/_runbook/repos", "POST", b"{}", wrong)[0] == 401
    assert isinstance(client.fetch_calls(local_aws.endpoint_url), list)  # signs itself


def test_presigned_urls_work_and_a_tampered_one_is_refused(session, app_name):
    s3 = session.client("s3")
    bucket = f"{app_name}-presign"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k.txt", Body=b"hello")
    v4 = session._boto.client("s3", endpoint_url=session.endpoint_url, region_name="us-east-1",
                              config=Config(signature_version="s3v4"))
    for signer in (s3, v4):  # botocore's default (SigV2 query) and SigV4 query
        url = signer.generate_presigned_url("get_object", Params={"Bucket": bucket,
                                                                  "Key": "k.txt"})
        assert _raw(url)[2] == b"hello"
        assert _raw(url.replace("k.txt", "other.txt"))[0] == 403
    expired = v4.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k.txt"},
                                        ExpiresIn=-10)
    assert _raw(expired)[0] == 403


def test_a_body_that_does_not_match_its_signed_hash_is_refused(session, app_name, monkeypatch):
    s3 = session.client("s3")
    s3.create_bucket(Bucket=f"{app_name}-hash")

    def tamper(request, **_kwargs):
        request.body = b"tampered"

    s3.meta.events.register_last("before-send.s3.PutObject", tamper)
    with pytest.raises(Exception) as caught:
        s3.put_object(Bucket=f"{app_name}-hash", Key="k", Body=b"original")
    assert "SignatureDoesNotMatch" in str(caught.value) or "XAmzContent" in str(caught.value)
