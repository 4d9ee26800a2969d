"""The issue's done-when, from outside: curl is refused, the AWS CLI with the printed exports works.

Everything goes through real processes: `runbook local start`, `curl` as a web page or a
careless script would call, and the AWS CLI installed in the venv.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import botocore.auth
import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials as BotoCredentials

RUNBOOK = [sys.executable, "-m", "runbook_lib.app.cli"]
AWS = str(Path(sys.executable).with_name("aws"))
CREATE_PROJECT = json.dumps({
    "name": "evil", "source": {"type": "NO_SOURCE", "buildspec":
                               "version: 0.2\nphases:\n  build:\n    commands: [touch /tmp/pwned]"},
    "artifacts": {"type": "NO_ARTIFACTS"}, "serviceRole": "arn:aws:iam::123456789012:role/x",
    "environment": {"type": "LINUX_CONTAINER", "image": "x", "computeType": "BUILD_GENERAL1_SMALL"},
})

needs_curl = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    state = str(tmp_path_factory.mktemp("door-state"))
    started = subprocess.run([*RUNBOOK, "local", "start", "--state-dir", state],
                             capture_output=True, text=True, timeout=120)
    assert started.returncode == 0, started.stderr
    exports = dict(line[len("export "):].split("=", 1) for line in started.stdout.splitlines()
                   if line.startswith("export "))
    yield exports
    subprocess.run([*RUNBOOK, "local", "stop", "--state-dir", state], timeout=60)


def _curl(endpoint: str, *args: str) -> tuple[int, str]:
    out = subprocess.run(["curl", "-s", "-i", "-o", "-", "--max-time", "20", *args, endpoint],
                         capture_output=True, text=True, timeout=60).stdout
    status = int(out.split()[1]) if out.startswith("HTTP/") else 0
    return status, out


CURLS = {
    "a web page's CodeBuild call (foreign Origin)": [
        "-H", "Origin: https://evil.example", "-H", "Content-Type: application/x-amz-json-1.1",
        "-H", "X-Amz-Target: CodeBuild_20161006.CreateProject", "--data", CREATE_PROJECT],
    "a preflight from a foreign Origin": [
        "-X", "OPTIONS", "-H", "Origin: https://evil.example",
        "-H", "Access-Control-Request-Method: POST"],
    "an unsigned CodeBuild call": [
        "-H", "Content-Type: application/x-amz-json-1.1",
        "-H", "X-Amz-Target: CodeBuild_20161006.CreateProject", "--data", CREATE_PROJECT],
    "a form POST to the SNS query API": [
        "--data", "Action=CreateTopic&Name=evil&Version=2010-03-31"],
    "a DNS-rebinding Host": ["-H", "Host: evil.example", "--data",
                             "Action=CreateTopic&Name=evil&Version=2010-03-31"],
}


@needs_curl
@pytest.mark.parametrize("args", CURLS.values(), ids=CURLS.keys())
def test_curl_from_outside_is_refused_without_a_cors_grant(exported, args):
    status, out = _curl(exported["AWS_ENDPOINT_URL"] + "/", *args)
    assert status in (400, 401, 403), out[:500]
    assert "access-control-allow-origin" not in out.lower()


@needs_curl
def test_the_aws_cli_with_the_printed_exports_works_and_nothing_evil_was_made(exported,
                                                                             tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(exported)

    def aws(*args: str) -> str:
        done = subprocess.run([AWS, *args, "--output", "json"], env=env, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert json.loads(aws("sts", "get-caller-identity"))["Account"] == "123456789012"
    aws("sns", "create-topic", "--name", "good")
    topics = [t["TopicArn"] for t in json.loads(aws("sns", "list-topics"))["Topics"]]
    assert any(t.endswith(":good") for t in topics)
    assert not any(t.endswith(":evil") for t in topics)
    assert json.loads(aws("codebuild", "list-projects"))["projects"] == []
    (tmp_path / "f.txt").write_text("hello")
    aws("s3", "mb", "s3://door-bucket")
    aws("s3", "cp", str(tmp_path / "f.txt"), "s3://door-bucket/a b/f.txt")
    assert "f.txt" in aws("s3", "ls", "s3://door-bucket/a b/")
    url = aws("s3", "presign", "s3://door-bucket/a b/f.txt").strip().strip('"')
    assert subprocess.run(["curl", "-s", url], capture_output=True, text=True,
                          timeout=30).stdout == "hello"


# -- issue 22: signatures as AWS checks them, from a second process over raw HTTP ------------

def _creds(exported) -> BotoCredentials:
    return BotoCredentials(exported["AWS_ACCESS_KEY_ID"], exported["AWS_SECRET_ACCESS_KEY"])


def _send(exported, method: str, url: str, body: bytes = b"",
          headers: dict | None = None) -> tuple[int, bytes]:
    """One raw HTTP request (http.client), headers exactly as given."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request(method, parts.path + (f"?{parts.query}" if parts.query else ""), body,
                     headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def _codebuild_request(exported, auth_class=SigV4Auth, service="codebuild") -> AWSRequest:
    request = AWSRequest("POST", exported["AWS_ENDPOINT_URL"] + "/", data=CREATE_PROJECT.encode(),
                         headers={"Content-Type": "application/x-amz-json-1.1",
                                  "X-Amz-Target": "CodeBuild_20161006.CreateProject"})
    auth_class(_creds(exported), service, "us-east-1").add_auth(request)
    return request


def _projects(exported) -> list[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    done = subprocess.run([AWS, "codebuild", "list-projects", "--output", "json"],
                          env={**env, **exported}, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["projects"]


@pytest.fixture(scope="module")
def presigned(exported):
    """A bucket with one object, and its download URL presigned the SigV2 and SigV4 ways."""
    session = boto3.session.Session(exported["AWS_ACCESS_KEY_ID"],
                                    exported["AWS_SECRET_ACCESS_KEY"], region_name="us-east-1")
    s3 = session.client("s3", endpoint_url=exported["AWS_ENDPOINT_URL"])
    s3.create_bucket(Bucket="door-presign")
    s3.put_object(Bucket="door-presign", Key="f.txt", Body=b"hello")
    urls = {}
    for version in ("s3", "s3v4"):
        s3 = session.client("s3", endpoint_url=exported["AWS_ENDPOINT_URL"],
                            config=Config(signature_version=version))
        urls[version] = s3.generate_presigned_url(
            "get_object", Params={"Bucket": "door-presign", "Key": "f.txt"}, ExpiresIn=600)
    assert "AWSAccessKeyId=" in urls["s3"] and "X-Amz-Signature=" in urls["s3v4"]
    return urls


FORGED_AUTHORIZATION = ("AWS4-HMAC-SHA256 Credential=LKIAFORGED/20260101/us-east-1/codebuild/"
                        "aws4_request, SignedHeaders=host, Signature=" + "0" * 64)


@pytest.mark.parametrize("version", ["s3", "s3v4"])
@pytest.mark.parametrize("method", ["POST", "GET"])
@pytest.mark.parametrize("forged", [False, True], ids=["target", "target+authorization"])
def test_a_download_link_carrying_an_x_amz_target_runs_nothing(exported, presigned, version,
                                                                method, forged):
    assert _send(exported, "GET", presigned[version]) == (200, b"hello")  # the link works
    headers = {"X-Amz-Target": "CodeBuild_20161006.CreateProject"}  # no Content-Type: SigV2
    # signs that one, and the JSON services read the body without it
    if forged:  # routing used to read the service from this unchecked header
        headers["Authorization"] = FORGED_AUTHORIZATION
    status, body = _send(exported, method, presigned[version], CREATE_PROJECT.encode(), headers)
    assert status in (400, 403), body[:300]
    assert b"evil" not in body
    assert "evil" not in _projects(exported)


def test_a_download_link_cannot_reach_another_service_or_the_bucket(exported, presigned):
    url = presigned["s3"]
    assert _send(exported, "POST", url.replace("/door-presign/f.txt", "/"),
                 b"Action=CreateTopic&Name=evil")[0] == 403
    assert _send(exported, "GET", url + "&Action=CreateTopic&Name=evil")[0] == 403
    assert _send(exported, "GET", url + "&list-type=2")[0] == 403
    assert _send(exported, "DELETE", url)[0] == 403


def test_a_presign_valid_ten_years_or_for_ever_is_refused(exported, presigned):
    session = boto3.session.Session(exported["AWS_ACCESS_KEY_ID"],
                                    exported["AWS_SECRET_ACCESS_KEY"], region_name="us-east-1")
    s3 = session.client("s3", endpoint_url=exported["AWS_ENDPOINT_URL"],
                        config=Config(signature_version="s3v4"))
    params = {"Bucket": "door-presign", "Key": "f.txt"}
    ten_years = s3.generate_presigned_url("get_object", Params=params, ExpiresIn=315360000)
    status, body = _send(exported, "GET", ten_years)
    assert status in (400, 403) and b"604800" in body
    week = s3.generate_presigned_url("get_object", Params=params, ExpiresIn=604800)
    assert _send(exported, "GET", week) == (200, b"hello")  # AWS's limit itself is fine

    class NoExpiry(SigV4QueryAuth):
        def _modify_request_before_signing(self, request):
            super()._modify_request_before_signing(request)
            request.url = re.sub(r"&?X-Amz-Expires=\d+", "", request.url)

    request = AWSRequest("GET", exported["AWS_ENDPOINT_URL"] + "/door-presign/f.txt")
    NoExpiry(_creds(exported), "s3", "us-east-1").add_auth(request)
    assert "X-Amz-Expires" not in request.url
    status, body = _send(exported, "GET", request.url)
    assert status in (400, 403) and b"X-Amz-Expires" in body


def test_an_expired_presign_is_answered_access_denied_in_s3_s_shape(exported, monkeypatch):
    """Signed a minute ago for one second: expired when sent, with no wait."""
    request = AWSRequest("GET", exported["AWS_ENDPOINT_URL"] + "/door-presign/f.txt")
    signed_at = datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=1)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *_a, **_k: signed_at)
    SigV4QueryAuth(_creds(exported), "s3", "us-east-1", expires=1).add_auth(request)
    assert "X-Amz-Date=" + signed_at.strftime("%Y%m%dT%H%M%SZ") in request.url
    status, body = _send(exported, "GET", request.url)
    assert status == 403 and b"<Error><Code>AccessDenied</Code>" in body, body[:300]


class _UnsignedPayload(SigV4Auth):
    def payload(self, request):
        return "UNSIGNED-PAYLOAD"


class _WithoutHost(SigV4Auth):
    def headers_to_sign(self, request):
        headers = super().headers_to_sign(request)
        del headers["host"]
        return headers


class _WithoutTarget(SigV4Auth):
    def headers_to_sign(self, request):
        headers = super().headers_to_sign(request)
        del headers["x-amz-target"]
        return headers


@pytest.mark.parametrize("auth_class,extra,why", [
    (_UnsignedPayload, {"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"}, b"S3 only"),
    (_WithoutHost, {}, b"host"),
    (_WithoutTarget, {}, b"x-amz-target"),
], ids=["unsigned payload on a JSON service", "host not signed", "x-amz-target not signed"])
def test_a_signature_that_leaves_out_what_aws_requires_is_refused(exported, auth_class, extra,
                                                                  why):
    request = _codebuild_request(exported, auth_class)
    headers = {**dict(request.headers.items()), **extra}
    status, body = _send(exported, "POST", request.url, request.body, headers)
    assert status == 400 and b"InvalidSignatureException" in body and why in body, body[:300]
    assert "evil" not in _projects(exported)


def test_two_credential_fields_are_refused(exported):
    request = _codebuild_request(exported)
    headers = dict(request.headers.items())
    algorithm, rest = headers["Authorization"].split(" ", 1)
    scope = re.search(r"Credential=([^,]+)", rest).group(1)
    for forged in (f"{algorithm} Credential={scope.replace('codebuild', 's3')}, {rest}",
                   f"{algorithm} {rest}, Credential={scope.replace('codebuild', 's3')}"):
        status, body = _send(exported, "POST", request.url, request.body,
                             {**headers, "Authorization": forged})
        assert status in (400, 403) and b"Credential" in body, body[:300]
    assert "evil" not in _projects(exported)


@pytest.mark.parametrize("host", ["localhost:evil", "localhost:4599:80", "bucket.localhost",
                                  "localhost@evil.example"])
def test_a_host_with_anything_but_a_numeric_port_is_refused(exported, host):
    request = _codebuild_request(exported)
    status, body = _send(exported, "POST", request.url, request.body,
                         {**dict(request.headers.items()), "Host": host})
    assert status == 403 and b"loopback" in body, body[:300]


# -- issue 22: what the server is started with, and what it adopts --------------------------

OPERATOR_SECRETS = {"AWS_ACCESS_KEY_ID": "AKIAOPERATOR00000000",
                    "AWS_SECRET_ACCESS_KEY": "operator-secret-key-value",
                    "AWS_SESSION_TOKEN": "operator-session-token", "AWS_PROFILE": "prod",
                    "RUNBOOK_SECRET_DB_PASSWORD": "hunter2-door", "GITHUB_TOKEN": "ghp_doorleak",
                    "NPM_TOKEN": "npm_doorleak", "SLACK_WEBHOOK_URL_TOKEN": "xoxb-doorleak",
                    "PIP_INDEX_URL": "https://me:pypi-pass@pypi.example/simple"}


def test_the_server_runbook_starts_holds_none_of_the_operator_s_secrets(tmp_path):
    state = tmp_path / "state"
    env = {**os.environ, **OPERATOR_SECRETS, "RUNBOOK_LOCAL_POLL_SECONDS": "1"}
    started = subprocess.run([*RUNBOOK, "local", "start", "--state-dir", str(state)], env=env,
                             capture_output=True, text=True, timeout=120)
    assert started.returncode == 0, started.stderr
    try:
        pid = json.loads((state / "server.json").read_text())["pid"]
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        names = {item.split(b"=", 1)[0].decode() for item in environ if item}
        assert "PATH" in names and "RUNBOOK_LOCAL_POLL_SECONDS" in names  # what it needs
        leaked = [n for n in OPERATOR_SECRETS if n in names]
        assert not leaked
        for value in OPERATOR_SECRETS.values():
            assert value.encode() not in b"\0".join(environ)
    finally:
        subprocess.run([*RUNBOOK, "local", "stop", "--state-dir", str(state)], timeout=60)


def _start_refused(state: Path) -> str:
    done = subprocess.run([*RUNBOOK, "local", "start", "--state-dir", str(state)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0, done.stdout
    assert not (state / "server.json").exists()
    return done.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to nobody needs root")
def test_a_state_folder_made_by_another_user_is_refused_saying_how_to_fix_it(tmp_path):
    import pwd

    nobody = pwd.getpwnam("nobody")
    state = tmp_path / "planted"
    state.mkdir(mode=0o700)
    (state / "credentials.json").write_text(json.dumps(
        {"access_key_id": "LKIAPLANTED", "secret_access_key": "known-to-nobody"}))
    for path in (state, state / "credentials.json"):
        os.chown(path, nobody.pw_uid, nobody.pw_gid)
    said = _start_refused(state)
    assert "nobody" in said and "chown" in said and "--state-dir" in said, said
    os.chown(state, 0, 0)  # the folder is root's now, the planted key pair still nobody's
    said = _start_refused(state)
    assert "credentials.json" in said and "nobody" in said, said
    os.chown(state / "credentials.json", 0, 0)
    os.chmod(state / "credentials.json", 0o666)
    said = _start_refused(state)
    assert "writable by group or others" in said and "chmod 600" in said, said


def test_a_state_folder_others_may_write_is_refused(tmp_path):
    state = tmp_path / "shared"
    state.mkdir()
    os.chmod(state, 0o777)
    said = _start_refused(state)
    assert "writable by group or others" in said and "chmod 700" in said, said


def test_a_full_disk_answers_an_aws_error_and_loses_nothing_acknowledged(tmp_path):
    from full_disk import fill, small_tmpfs

    with small_tmpfs(tmp_path / "disk") as disk:
        state = disk / "state"
        started = subprocess.run([*RUNBOOK, "local", "start", "--state-dir", str(state)],
                                 capture_output=True, text=True, timeout=120)
        assert started.returncode == 0, started.stderr
        exports = dict(line[len("export "):].split("=", 1)
                       for line in started.stdout.splitlines() if line.startswith("export "))
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("AWS_")}, **exports,
               "AWS_MAX_ATTEMPTS": "1"}

        def aws(*args: str) -> subprocess.CompletedProcess:
            return subprocess.run([AWS, *args, "--output", "json"], env=env,
                                  capture_output=True, text=True, timeout=120)

        project = json.loads(CREATE_PROJECT) | {"name": "kept"}
        try:
            filler = fill(disk)
            refused = aws("codebuild", "create-project", "--cli-input-json", json.dumps(project))
            assert refused.returncode != 0 and "ServiceUnavailable" in refused.stderr
            assert json.loads(aws("codebuild", "list-projects").stdout)["projects"] == []
            filler.unlink()
            again = aws("codebuild", "create-project", "--cli-input-json", json.dumps(project))
            assert again.returncode == 0, again.stderr  # not AlreadyExists
        finally:
            subprocess.run([*RUNBOOK, "local", "stop", "--state-dir", str(state)], timeout=60)
        restarted = subprocess.run([*RUNBOOK, "local", "start", "--state-dir", str(state)],
                                   capture_output=True, text=True, timeout=120)
        assert restarted.returncode == 0, restarted.stderr
        env.update(line[len("export "):].split("=", 1) for line in restarted.stdout.splitlines()
                   if line.startswith("export "))  # the restarted server's port
        try:
            assert json.loads(aws("codebuild", "list-projects").stdout)["projects"] == ["kept"]
        finally:
            subprocess.run([*RUNBOOK, "local", "stop", "--state-dir", str(state)], timeout=60)
