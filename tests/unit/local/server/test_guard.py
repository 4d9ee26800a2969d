"""The guard's CORS and Host rules and SigV4's clock check, on a stand-in inner app."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials as BotoCredentials
from werkzeug.test import Client

from runbook_lib.core.local_credentials import Credentials
from runbook_lib.local.server import sigv4
from runbook_lib.local.server.guard import GuardedApp, is_loopback_host

CREDS = Credentials("LKIATEST", "secret-for-tests")
ORIGIN = "http://127.0.0.1:8888"


def _inner(environ, start_response):
    """What moto does: grant CORS to anyone."""
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Access-Control-Allow-Origin", "*")])
    return [b"inner"]


def _signed_headers(url: str, body: bytes, service: str = "sns") -> dict[str, str]:
    request = AWSRequest("POST", url, data=body,
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    SigV4Auth(BotoCredentials(CREDS.access_key_id, CREDS.secret_access_key), service,
              "us-east-1").add_auth(request)
    from urllib.parse import urlsplit

    return {**dict(request.headers.items()), "Host": urlsplit(url).netloc}


def test_an_allowed_origin_gets_a_preflight_and_its_own_grant_never_a_star():
    client = Client(GuardedApp(_inner, CREDS, allow_origins=[ORIGIN]))
    pre = client.options("/", headers={"Origin": ORIGIN, "Host": "127.0.0.1:1",
                                       "Access-Control-Request-Method": "POST"})
    assert pre.status_code == 200
    assert pre.headers["Access-Control-Allow-Origin"] == ORIGIN
    body = b"Action=ListTopics"
    headers = {**_signed_headers("http://127.0.0.1:1/", body), "Origin": ORIGIN}
    resp = client.post("/", data=body, headers=headers)
    assert resp.status_code == 200
    assert resp.headers.getlist("Access-Control-Allow-Origin") == [ORIGIN]


def test_without_an_origin_the_inner_app_s_cors_grant_is_dropped():
    client = Client(GuardedApp(_inner, CREDS))
    body = b"Action=ListTopics"
    resp = client.post("/", data=body, headers=_signed_headers("http://127.0.0.1:1/", body))
    assert resp.status_code == 200 and "Access-Control-Allow-Origin" not in resp.headers


def test_an_allowed_origin_still_needs_a_signature():
    client = Client(GuardedApp(_inner, CREDS, allow_origins=[ORIGIN]))
    resp = client.post("/", data=b"Action=CreateTopic&Name=x",
                       headers={"Origin": ORIGIN, "Host": "localhost:1", "Content-Type":
                                "application/x-www-form-urlencoded"})
    assert resp.status_code == 403 and b"MissingAuthenticationToken" in resp.data


def test_allow_remote_accepts_any_host_but_still_checks_the_signature():
    client = Client(GuardedApp(_inner, CREDS, allow_remote=True))
    body = b"Action=ListTopics"
    ok = client.post("/", data=body, headers=_signed_headers("http://build-host:4599/", body))
    assert ok.status_code == 200
    assert client.post("/", data=body, headers={"Host": "build-host:4599"}).status_code == 403


@pytest.mark.parametrize("host,loopback", [
    ("127.0.0.1:4599", True), ("localhost", True), ("[::1]:80", True), ("127.8.9.1", True),
    ("bucket.localhost:4599", False), ("LOCALHOST:1", True), ("evil.example", False),
    ("localhost:evil", False), ("localhost:80:81", False), ("localhost:99999", False),
    ("127.0.0.1:4599/x", False), ("localhost@evil.example", False), ("[::1]:x", False),
    ("127.0.0.1.nip.io", False), ("0.0.0.0:4599", False), ("", False), ("[::2]:1", False)])
def test_loopback_host_names(host, loopback):
    assert is_loopback_host(host) is loopback


def test_a_request_signed_more_than_15_minutes_away_is_refused():
    body = b"Action=ListTopics"
    headers = _signed_headers("http://127.0.0.1:1/", body)
    environ = {"REQUEST_METHOD": "POST", "RAW_URI": "/", "QUERY_STRING": "",
               "CONTENT_TYPE": headers["Content-Type"], "HTTP_HOST": "127.0.0.1:1",
               **{"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()}}
    signed = sigv4.parse_signature(environ)
    sigv4.verify(environ, body, signed, CREDS.secret_access_key)
    later = datetime.now(UTC) + timedelta(minutes=16)
    with pytest.raises(sigv4.SignatureFailure) as caught:
        sigv4.verify(environ, body, signed, CREDS.secret_access_key, later)
    assert caught.value.kind == "expired"


def test_the_secret_never_shows_in_a_repr():
    assert CREDS.secret_access_key not in repr(CREDS)


def _codebuild_environ(headers: dict[str, str], body: bytes) -> dict:
    return {"REQUEST_METHOD": "POST", "RAW_URI": "/", "QUERY_STRING": "",
            "CONTENT_TYPE": headers.get("Content-Type", ""), "HTTP_HOST": "127.0.0.1:1",
            **{"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()
               if k.lower() != "content-type"}}


def _json_headers(service: str = "codebuild") -> tuple[dict[str, str], bytes]:
    body = b'{"name": "x"}'
    request = AWSRequest("POST", "http://127.0.0.1:1/", data=body, headers={
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "CodeBuild_20161006.CreateProject"})
    SigV4Auth(BotoCredentials(CREDS.access_key_id, CREDS.secret_access_key), service,
              "us-east-1").add_auth(request)
    return dict(request.headers.items()), body


def test_a_valid_json_signature_names_its_verified_scope():
    headers, body = _json_headers()
    environ = _codebuild_environ(headers, body)
    scope = sigv4.verify(environ, body, sigv4.parse_signature(environ), CREDS.secret_access_key)
    assert (scope.service, scope.region) == ("codebuild", "us-east-1")
    assert "/us-east-1/codebuild/aws4_request" in scope.routing_authorization()


@pytest.mark.parametrize("tamper,why", [
    (lambda h: h.update(Authorization=h["Authorization"].replace(
        "Credential=", "Credential=LKIATEST/20260101/us-east-1/s3/aws4_request, Credential=")),
     "repeated"),
    (lambda h: h.update(Authorization=h["Authorization"] + ", Credential=x/1/us-east-1/s3/"
                        "aws4_request"), "repeated"),
    (lambda h: h.update({"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"}), "S3 only"),
    (lambda h: h.update(Authorization=h["Authorization"].replace(";x-amz-target", "")),
     "x-amz-target"),
    (lambda h: h.update(Authorization=h["Authorization"].replace("host;", "")), "host"),
])
def test_aws_s_rules_beyond_the_hmac(tamper, why):
    headers, body = _json_headers()
    tamper(headers)
    environ = _codebuild_environ(headers, body)
    with pytest.raises(sigv4.SignatureFailure) as caught:
        sigv4.verify(environ, body, sigv4.parse_signature(environ), CREDS.secret_access_key)
    assert why in caught.value.message and caught.value.kind == "mismatch"


@pytest.mark.parametrize("expires,ok", [("604800", True), ("604801", False), ("0", False),
                                        ("", False), ("-5", False), ("1e9", False)])
def test_presigned_expiry_is_required_and_at_most_seven_days(expires, ok):
    query = ("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=LKIATEST%2F20260101%2F"
             "us-east-1%2Fs3%2Faws4_request&X-Amz-Date=20260101T000000Z&X-Amz-SignedHeaders=host"
             "&X-Amz-Signature=00" + (f"&X-Amz-Expires={expires}" if expires else ""))
    environ = {"QUERY_STRING": query, "REQUEST_METHOD": "GET"}
    if ok:
        assert sigv4.parse_signature(environ).expires == 604800
    else:
        with pytest.raises(sigv4.SignatureFailure, match="X-Amz-Expires"):
            sigv4.parse_signature(environ)


def test_a_sigv2_link_serves_only_a_get_of_its_object():
    client = Client(GuardedApp(_inner, CREDS))
    s3 = boto3.session.Session(CREDS.access_key_id, CREDS.secret_access_key).client(
        "s3", endpoint_url="http://127.0.0.1:1", region_name="us-east-1",
        config=Config(signature_version="s3"))
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "b", "Key": "k"})
    path = url.split("127.0.0.1:1", 1)[1]
    assert client.get(path, headers={"Host": "127.0.0.1:1"}).status_code == 200
    for method, extra in (("post", {}), ("get", {"X-Amz-Target": "CodeBuild_20161006.X"}),
                          ("get", {"Authorization": "AWS4-HMAC-SHA256 Credential=x"})):
        resp = getattr(client, method)(path, headers={"Host": "127.0.0.1:1", **extra})
        assert resp.status_code == 403, (method, extra)
    assert client.get(path + "&Action=CreateTopic", headers={"Host": "127.0.0.1:1"}
                      ).status_code == 403
