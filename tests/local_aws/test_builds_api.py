"""CodeBuild's build API on the local AWS: shapes that validate against botocore's model, AWS's
error codes, numbering, listing order and pages, retry, idempotency, and a server restart."""

import json
import os
import signal
from dataclasses import replace

import pytest
import yaml
from botocore.exceptions import ClientError
from helpers import processes_with, wait_for_build, wait_until

from runbook_lib.core.session import AwsSession
from runbook_lib.local.codebuild import builds
from runbook_lib.local.server import process

ROLE = "arn:aws:iam::123456789012:role/build-role"
ENVIRONMENT = {"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0",
               "computeType": "BUILD_GENERAL1_SMALL"}


def _spec(*commands):
    return yaml.safe_dump({"version": 0.2, "phases": {"build": {"commands": list(commands)}}})


def _project(cb, name, *commands, **extra):
    body = {"name": name, "source": {"type": "NO_SOURCE", "buildspec": _spec(*commands)},
            "artifacts": {"type": "NO_ARTIFACTS"}, "environment": dict(ENVIRONMENT),
            "serviceRole": ROLE}
    body.update(extra)
    cb.create_project(**body)


def _check(shape, value, path="$"):
    """Assert a raw JSON answer fits botocore's output shape: known members, types, enums."""
    kind = shape.type_name
    if kind == "structure":
        assert isinstance(value, dict), path
        for key, item in value.items():
            assert key in shape.members, f"{path}.{key} is not a member of {shape.name}"
            _check(shape.members[key], item, f"{path}.{key}")
        for key in shape.required_members:
            assert key in value, f"{path}.{key} is required"
    elif kind == "list":
        assert isinstance(value, list), path
        for index, item in enumerate(value):
            _check(shape.member, item, f"{path}[{index}]")
    elif kind == "map":
        assert isinstance(value, dict), path
        for key, item in value.items():
            _check(shape.value, item, f"{path}.{key}")
    elif kind == "string":
        assert isinstance(value, str), path
        assert not shape.enum or value in shape.enum, f"{path}={value!r} not in enum"
        assert len(value) >= shape.metadata.get("min", 0), f"{path} is too short"
    elif kind in ("integer", "long"):
        assert isinstance(value, int) and not isinstance(value, bool), path
    elif kind == "boolean":
        assert isinstance(value, bool), path
    elif kind in ("timestamp", "double", "float"):
        assert isinstance(value, (int, float)) and not isinstance(value, bool), path
    else:
        raise AssertionError(f"{path}: unexpected shape type {kind}")


@pytest.fixture
def checked(session):
    """A CodeBuild client whose every answer is validated against the service model."""
    cb = session.client("codebuild")
    seen = []

    def validate(http_response, model, **_kwargs):
        if http_response.status_code == 200:
            _check(model.output_shape, json.loads(http_response.content))
            seen.append(model.name)

    cb.meta.events.register("after-call.codebuild", validate)
    cb.validated = seen
    return cb


def test_every_build_operation_answers_in_the_model_shapes(checked, app_name):
    _project(checked, app_name, "echo hi", "false")
    started = checked.start_build(projectName=app_name, sourceVersion="abc123",
                                  environmentVariablesOverride=[{"name": "A", "value": "1"}])
    build = wait_for_build(checked, started["build"]["id"])
    assert build["buildStatus"] == "FAILED"
    assert build["environment"]["environmentVariables"] == [
        {"name": "A", "value": "1", "type": "PLAINTEXT"}]
    checked.list_builds_for_project(projectName=app_name, sortOrder="ASCENDING")
    checked.list_builds()
    retried = checked.retry_build(id=build["id"])["build"]
    checked.stop_build(id=retried["id"])
    wait_for_build(checked, retried["id"])
    assert set(checked.validated) >= {"StartBuild", "BatchGetBuilds", "ListBuildsForProject",
                                      "ListBuilds", "RetryBuild", "StopBuild"}


def test_build_record_fields(session, app_name):
    cb = session.client("codebuild")
    _project(cb, app_name, "echo hi")
    build = cb.start_build(projectName=app_name, sourceVersion="v1")["build"]
    assert build["buildStatus"] == "IN_PROGRESS"
    assert build["id"].startswith(f"{app_name}:")
    assert build["arn"] == f"arn:aws:codebuild:us-east-1:123456789012:build/{build['id']}"
    done = wait_for_build(cb, build["id"])
    assert done["buildComplete"] and done["currentPhase"] == "COMPLETED"
    assert done["initiator"] == "root" and done["sourceVersion"] == "v1"
    assert done["timeoutInMinutes"] == 60 and done["serviceRole"] == ROLE
    assert done["endTime"] >= done["startTime"]
    assert [p["phaseType"] for p in done["phases"]][:2] == ["SUBMITTED", "QUEUED"]
    assert all(p["durationInSeconds"] >= 0 for p in done["phases"][:-1])


def test_build_numbers_order_and_pages(session, app_name, monkeypatch):
    for rule in ("LIST_BUILDS", "LIST_BUILDS_FOR_PROJECT"):
        monkeypatch.setattr(builds, rule, replace(getattr(builds, rule), page_size=2))
    cb = session.client("codebuild")
    _project(cb, app_name, "true")
    ids = [cb.start_build(projectName=app_name)["build"]["id"] for _ in range(3)]
    done = [wait_for_build(cb, i) for i in ids]
    assert [b["buildNumber"] for b in done] == [1, 2, 3]
    pages = cb.get_paginator("list_builds_for_project")
    listed = [i for page in pages.paginate(projectName=app_name) for i in page["ids"]]
    assert listed == ids[::-1]  # newest first by default
    ascending = [i for page in pages.paginate(projectName=app_name, sortOrder="ASCENDING")
                 for i in page["ids"]]
    assert ascending == ids
    everything = [i for page in cb.get_paginator("list_builds").paginate() for i in page["ids"]]
    assert [i for i in everything if i in ids] == ids[::-1]


def test_retry_and_idempotency_token(session, app_name):
    cb = session.client("codebuild")
    _project(cb, app_name, "echo $A")
    first = cb.start_build(projectName=app_name, idempotencyToken="tok",
                           environmentVariablesOverride=[{"name": "A", "value": "x"}])["build"]
    again = cb.start_build(projectName=app_name, idempotencyToken="tok")["build"]
    assert again["id"] == first["id"]
    wait_for_build(cb, first["id"])
    retried = cb.retry_build(id=first["arn"])["build"]
    assert retried["id"] != first["id"] and retried["buildNumber"] == 2
    assert retried["environment"]["environmentVariables"][0]["value"] == "x"
    assert wait_for_build(cb, retried["id"])["buildStatus"] == "SUCCEEDED"


@pytest.mark.parametrize("case, call, code", [
    ("start of a missing project",
     lambda cb, n: cb.start_build(projectName=n + "-nope"), "ResourceNotFoundException"),
    ("a CODEPIPELINE project started by an operator",
     lambda cb, n: cb.start_build(projectName=n, sourceTypeOverride="CODEPIPELINE"),
     "InvalidInputException"),
    ("a timeout over the maximum",
     lambda cb, n: cb.start_build(projectName=n, timeoutInMinutesOverride=3000),
     "InvalidInputException"),
    ("a source type the local AWS cannot fetch",
     lambda cb, n: cb.start_build(projectName=n, sourceTypeOverride="CODECOMMIT",
                                  sourceLocationOverride="https://git-codecommit.us-east-1."
                                                         "amazonaws.com/v1/repos/r"),
     "InvalidInputException"),
    ("too many ids", lambda cb, n: cb.batch_get_builds(ids=[f"{n}:x{i}" for i in range(101)]),
     "InvalidInputException"),
    ("stop of a missing build", lambda cb, n: cb.stop_build(id=f"{n}:missing"),
     "ResourceNotFoundException"),
    ("retry of a missing build", lambda cb, n: cb.retry_build(id=f"{n}:missing"),
     "ResourceNotFoundException"),
    ("list for a missing project",
     lambda cb, n: cb.list_builds_for_project(projectName=n + "-nope"),
     "ResourceNotFoundException"),
    ("a bad page token", lambda cb, n: cb.list_builds(nextToken="zz"), "InvalidInputException"),
])
def test_errors_use_aws_codes(session, app_name, case, call, code):
    cb = session.client("codebuild")
    _project(cb, app_name, "true")
    with pytest.raises(ClientError) as err:
        call(cb, app_name)
    assert err.value.response["Error"]["Code"] == code, case


def test_missing_builds_are_reported_not_raised(session, app_name):
    cb = session.client("codebuild")
    got = cb.batch_get_builds(ids=[f"{app_name}:nope"])
    assert got["builds"] == [] and got["buildsNotFound"] == [f"{app_name}:nope"]


def test_concurrent_build_limit_of_a_project(session, app_name):
    cb = session.client("codebuild")
    _project(cb, app_name, "sleep 30", concurrentBuildLimit=1)
    first = cb.start_build(projectName=app_name)["build"]["id"]
    with pytest.raises(ClientError) as err:
        cb.start_build(projectName=app_name)
    assert err.value.response["Error"]["Code"] == "AccountLimitExceededException"
    cb.stop_build(id=first)
    assert wait_for_build(cb, first)["buildStatus"] == "STOPPED"


def test_a_build_interrupted_by_a_crash_ends_failed_at_the_next_start(tmp_path):
    marker = f"runbook-crashed-{tmp_path.name}"
    state = tmp_path / "state"
    status = process.start(state)
    try:
        cb = AwsSession("local", "us-east-1", endpoint_url=status.endpoint_url).client(
            "codebuild")
        _project(cb, "crashed", f"bash -c 'exec -a {marker} sleep 300' & wait")
        build_id = cb.start_build(projectName="crashed")["build"]["id"]
        wait_until(lambda: processes_with(marker), what="the build to start its command")
        os.kill(status.pid, signal.SIGKILL)  # a crash: no orderly shutdown
    finally:
        process.stop(state)
    status = process.start(state)
    try:
        cb = AwsSession("local", "us-east-1", endpoint_url=status.endpoint_url).client(
            "codebuild")
        build = cb.batch_get_builds(ids=[build_id])["builds"][0]
        assert build["buildStatus"] == "FAILED" and build["buildComplete"]
        build_phase = next(p for p in build["phases"] if p["phaseType"] == "BUILD")
        assert build_phase["phaseStatus"] == "FAILED"
        assert build_phase["contexts"][0]["statusCode"] == "CLIENT_ERROR"
        wait_until(lambda: not processes_with(marker), what="the orphaned build ended",
                   timeout=10)
    finally:
        process.stop(state)
        for pid in processes_with(marker):
            os.kill(pid, signal.SIGKILL)
