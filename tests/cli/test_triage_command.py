"""`runbook triage` as an operator runs it: the real command, over HTTP, against the local AWS;
its output and its exit status (0 nothing failed, 1 failure found, 2 usage or AWS error)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid

import pytest
from helpers import wait_for_build

FAILING_SPEC = """version: 0.2
phases:
  build:
    commands:
      - echo compiling
      - printf 'TAP version 13\\nok 1 - adds\\nnot ok 2 - greets by name\\n# fail 1\\n'
      - exit 1
"""
PASSING_SPEC = "version: 0.2\nphases:\n  build:\n    commands:\n      - echo fine\n"


def _runbook(local_aws, *args):
    env = {**os.environ, "AWS_ENDPOINT_URL": local_aws.endpoint_url, "AWS_REGION": "us-east-1"}
    env.pop("AWS_PROFILE", None)
    return subprocess.run([sys.executable, "-m", "runbook_lib.app.cli", "triage", *args],
                          env=env, capture_output=True, text=True, timeout=120)


def _finished_build(session, spec: str) -> str:
    cb = session.client("codebuild")
    name = f"triage-{uuid.uuid4().hex[:6]}"
    cb.create_project(name=name, source={"type": "NO_SOURCE", "buildspec": spec},
                      artifacts={"type": "NO_ARTIFACTS"},
                      environment={"type": "LINUX_CONTAINER", "computeType":
                                   "BUILD_GENERAL1_SMALL", "image": "aws/codebuild/standard:7.0"},
                      serviceRole="arn:aws:iam::123456789012:role/triage")
    build_id = cb.start_build(projectName=name)["build"]["id"]
    wait_for_build(cb, build_id, timeout=90)
    return build_id


@pytest.fixture(scope="module")
def builds(local_aws):
    from runbook_lib.core.session import AwsSession

    session = AwsSession("local", "us-east-1", endpoint_url=local_aws.endpoint_url)
    return session, _finished_build(session, FAILING_SPEC), _finished_build(session, PASSING_SPEC)


@pytest.mark.parametrize("server_filter", [[], ["--server-filter"]], ids=["whole", "filtered"])
def test_a_failed_build_is_reported_with_exit_status_1(local_aws, builds, server_filter):
    _, failed, _ = builds
    done = _runbook(local_aws, "--build-id", failed, "--context", "1", *server_filter)
    assert done.returncode == 1, done.stderr
    assert f"build {failed}" in done.stdout
    assert "failing command  exit 1" in done.stdout
    assert "classification   test failure" in done.stdout
    assert ">" in done.stdout and "| not ok 2 - greets by name" in done.stdout


def test_json_output_carries_the_same_answer(local_aws, builds):
    _, failed, _ = builds
    done = _runbook(local_aws, "--build-id", failed, "--json")
    answer = json.loads(done.stdout)
    assert done.returncode == 1
    assert (answer["failure_found"], answer["category"], answer["exit_code"],
            answer["failing_tests"], answer["error_line"]) == (
        True, "test_failure", 1, ["greets by name"], "not ok 2 - greets by name")
    assert {"line", "text"} == set(answer["excerpt"][0])


def test_a_succeeded_build_exits_0(local_aws, builds):
    _, _, passed = builds
    done = _runbook(local_aws, "--build-id", passed)
    assert done.returncode == 0, done.stderr
    assert "Nothing to fix" in done.stdout


def test_any_log_stream_can_be_triaged(local_aws, builds):
    session = builds[0]
    logs = session.client("logs")
    group = f"/triage/{uuid.uuid4().hex[:6]}"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="app")
    now = int(time.time() * 1000)
    logs.put_log_events(logGroupName=group, logStreamName="app", logEvents=[
        {"timestamp": now + i, "message": text} for i, text in enumerate(
            ["starting", "npm error code ETARGET", "npm error notarget No matching version"])])
    done = _runbook(local_aws, "--log-group", group, "--log-stream", "app", "--json")
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout)["category"] == "dependency_install"


@pytest.mark.parametrize("args", [
    [], ["--build-id", "p:1", "--pipeline", "x"], ["--log-group", "g"],
    ["--build-id", "p:1", "--execution", "e"], ["--build-id", "p:1", "--context", "-1"]],
    ids=["no log", "two logs", "group without stream", "execution without pipeline",
         "negative context"])
def test_usage_errors_exit_2_and_say_what_to_pass(local_aws, args):
    done = _runbook(local_aws, *args)
    assert done.returncode == 2
    assert done.stderr.startswith("runbook triage: ")


def test_aws_errors_exit_2(local_aws):
    done = _runbook(local_aws, "--build-id", "nope:00000000-0000-0000-0000-000000000000")
    assert done.returncode == 2 and "check the id" in done.stderr
    done = _runbook(local_aws, "--pipeline", f"missing-{uuid.uuid4().hex[:6]}")
    assert done.returncode == 2 and "runbook triage: " in done.stderr
