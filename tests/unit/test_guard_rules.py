"""The guard's CORS and Host rules and SigV4's clock check, on a stand-in inner app."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials
from werkzeug.test import Client

from runbook_lib.local.server import sigv4
from runbook_lib.local.server.auth import Credentials
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
