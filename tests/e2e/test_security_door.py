"""The issue's done-when, from outside: curl is refused, the AWS CLI with the printed exports works.

Everything goes through real processes: `runbook local start`, `curl` as a web page or a
careless script would call, and the AWS CLI installed in the venv.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

RUNBOOK = [sys.executable, "-m", "runbook_lib.app.cli"]
AWS = str(Path(sys.executable).with_name("aws"))
CREATE_PROJECT = json.dumps({
    "name": "evil", "source": {"type": "NO_SOURCE", "buildspec":
                               "version: 0.2\nphases:\n  build:\n    commands: [touch /tmp/pwned]"},
    "artifacts": {"type": "NO_ARTIFACTS"}, "serviceRole": "arn:aws:iam::123456789012:role/x",
    "environment": {"type": "LINUX_CONTAINER", "image": "x", "computeType": "BUILD_GENERAL1_SMALL"},
})

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")


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


@pytest.mark.parametrize("args", CURLS.values(), ids=CURLS.keys())
def test_curl_from_outside_is_refused_without_a_cors_grant(exported, args):
    status, out = _curl(exported["AWS_ENDPOINT_URL"] + "/", *args)
    assert status in (400, 401, 403), out[:500]
    assert "access-control-allow-origin" not in out.lower()


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
