"""Batch builds on the local AWS: build-list, build-graph and build-matrix run real builds;
BatchGetBuildBatches, ListBuildBatches(ForProject), StopBuildBatch and RetryBuildBatch."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from helpers import wait_until

ROLE = "arn:aws:iam::123456789012:role/build-role"
ENVIRONMENT = {"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0",
               "computeType": "BUILD_GENERAL1_SMALL"}
PHASES = ("phases:\n  build:\n    commands:\n      - echo task=$TASK\n"
          "      - test \"$TASK\" != bad\n")


def _project(cb, name: str, buildspec: str) -> None:
    cb.create_project(name=name, source={"type": "NO_SOURCE", "buildspec": buildspec},
                      artifacts={"type": "NO_ARTIFACTS"}, environment=dict(ENVIRONMENT),
                      serviceRole=ROLE, buildBatchConfig={"serviceRole": ROLE})


def _wait(cb, batch_id: str, timeout: float = 90) -> dict:
    return wait_until(lambda: cb.batch_get_build_batches(ids=[batch_id])["buildBatches"][0],
                      lambda batch: batch["complete"], timeout=timeout,
                      what=f"batch {batch_id}", interval=0.2)


def _statuses(batch: dict) -> dict[str, str]:
    return {g["identifier"]: (g.get("currentBuildSummary") or {}).get("buildStatus", "-")
            for g in batch["buildGroups"]}


def _tasks(kind: str, tasks: str, fast_fail: str = "false") -> str:
    return f"version: 0.2\nbatch:\n  fast-fail: {fast_fail}\n  {kind}:\n{tasks}{PHASES}"


def test_build_list_runs_every_task_with_its_variables(session, app_name):
    cb = session.client("codebuild")
    _project(cb, app_name, _tasks("build-list", (
        "    - identifier: one\n      env:\n        variables:\n          TASK: one\n"
        "    - identifier: two\n      env:\n        variables:\n          TASK: two\n")))
    batch_id = cb.start_build_batch(projectName=app_name)["buildBatch"]["id"]
    batch = _wait(cb, batch_id)
    assert batch["buildBatchStatus"] == "SUCCEEDED"
    assert _statuses(batch) == {"one": "SUCCEEDED", "two": "SUCCEEDED"}
    arns = [g["currentBuildSummary"]["arn"] for g in batch["buildGroups"]]
    builds = cb.batch_get_builds(ids=[a.split("/", 1)[1] for a in arns])["builds"]
    assert {b["buildBatchArn"] for b in builds} == {batch["arn"]}


def test_build_graph_never_starts_a_task_whose_dependency_failed(session, app_name):
    cb = session.client("codebuild")
    _project(cb, app_name, _tasks("build-graph", (
        "    - identifier: first\n      env:\n        variables:\n          TASK: bad\n"
        "    - identifier: second\n      depend-on: [first]\n      env:\n        variables:\n"
        "          TASK: two\n"
        "    - identifier: side\n      ignore-failure: true\n      env:\n        variables:\n"
        "          TASK: bad\n")))
    batch = _wait(cb, cb.start_build_batch(projectName=app_name)["buildBatch"]["id"])
    assert batch["buildBatchStatus"] == "FAILED"
    assert _statuses(batch) == {"first": "FAILED", "second": "-", "side": "FAILED"}
    assert batch["buildGroups"][1]["dependsOn"] == ["first"]


def test_build_matrix_runs_every_combination(session, app_name):
    cb = session.client("codebuild")
    _project(cb, app_name, "version: 0.2\nbatch:\n  build-matrix:\n    dynamic:\n      env:\n"
             "        variables:\n          TASK: [a, b, c]\n" + PHASES)
    batch = _wait(cb, cb.start_build_batch(projectName=app_name)["buildBatch"]["id"])
    assert batch["buildBatchStatus"] == "SUCCEEDED"
    assert len(batch["buildGroups"]) == 3


def test_retry_failed_builds_keeps_the_earlier_build(session, app_name):
    cb = session.client("codebuild")
    _project(cb, app_name, _tasks("build-list", (
        "    - identifier: good\n      env:\n        variables:\n          TASK: good\n"
        "    - identifier: flaky\n      env:\n        variables:\n          TASK: bad\n")))
    batch_id = cb.start_build_batch(projectName=app_name)["buildBatch"]["id"]
    first = _wait(cb, batch_id)
    cb.retry_build_batch(id=batch_id, retryType="RETRY_FAILED_BUILDS")
    again = _wait(cb, batch_id)
    good, flaky = again["buildGroups"]
    assert good["currentBuildSummary"] == first["buildGroups"][0]["currentBuildSummary"]
    assert len(flaky["priorBuildSummaryList"]) == 1
    assert flaky["currentBuildSummary"]["arn"] != flaky["priorBuildSummaryList"][0]["arn"]


def test_stop_build_batch_stops_its_builds(session, app_name):
    cb = session.client("codebuild")
    _project(cb, app_name, "version: 0.2\nbatch:\n  build-list:\n    - identifier: slow\n"
             "phases:\n  build:\n    commands:\n      - sleep 60\n")
    batch_id = cb.start_build_batch(projectName=app_name)["buildBatch"]["id"]
    wait_until(lambda: cb.batch_get_build_batches(ids=[batch_id])["buildBatches"][0][
        "buildGroups"], timeout=30, what=f"build groups of batch {batch_id}", interval=0.1)
    cb.stop_build_batch(id=batch_id)
    batch = _wait(cb, batch_id, timeout=30)
    assert batch["buildBatchStatus"] == "STOPPED"
    assert _statuses(batch) == {"slow": "STOPPED"}


def test_listing_and_errors(session, app_name):
    cb = session.client("codebuild")
    _project(cb, app_name, _tasks("build-list", "    - identifier: one\n"))
    batch_id = _wait(cb, cb.start_build_batch(projectName=app_name)["buildBatch"]["id"])["id"]
    listed = [i for page in cb.get_paginator("list_build_batches_for_project").paginate(
        projectName=app_name) for i in page["ids"]]
    assert listed == [batch_id]
    everywhere = [i for page in cb.get_paginator("list_build_batches").paginate()
                  for i in page["ids"]]
    assert batch_id in everywhere
    missing = cb.batch_get_build_batches(ids=[batch_id, "nope:1"])
    assert missing["buildBatchesNotFound"] == ["nope:1"]
    with pytest.raises(ClientError) as err:
        cb.retry_build_batch(id="nope:1")
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_a_buildspec_without_batch_fails_download_batchspec(session, app_name):
    cb = session.client("codebuild")
    _project(cb, app_name, "version: 0.2\n" + PHASES)
    batch = _wait(cb, cb.start_build_batch(projectName=app_name)["buildBatch"]["id"])
    assert batch["buildBatchStatus"] == "FAILED"
    download = next(p for p in batch["phases"] if p["phaseType"] == "DOWNLOAD_BATCHSPEC")
    assert download["contexts"][0]["statusCode"] == "YAML_FILE_ERROR"
