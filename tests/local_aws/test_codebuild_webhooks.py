"""CodeBuild project webhooks with filter groups, git sources, BatchDeleteBuilds and
DeleteBuildBatch, through real boto3 against the session's local AWS.

A commit in a registered local repository is the push: the webhook's filter groups decide
whether it starts a build, which clones the pushed commit and sees CodeBuild's
CODEBUILD_WEBHOOK_* variables.
"""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from helpers import git, git_commit, wait_until

from runbook_lib.local.codebuild.webhook_pushes import STATE_FILE
from runbook_lib.local.codepipeline.repos import RepoRegistry

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
import census  # noqa: E402

ROLE = "arn:aws:iam::123456789012:role/build-role"
ENVIRONMENT = {"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0",
               "computeType": "BUILD_GENERAL1_SMALL"}
# Passes only with the pushed commit's files and the webhook's variables.
BUILDSPEC = ("version: 0.2\nphases:\n  build:\n    commands:\n"
             "      - test -f src/app.py\n"
             "      - test \"$CODEBUILD_WEBHOOK_EVENT\" = PUSH\n"
             "      - test \"$CODEBUILD_WEBHOOK_HEAD_REF\" = \"$EXPECTED_REF\"\n")
@pytest.fixture
def repo(local_aws, tmp_path):
    """A registered repository acme/<random> with src/app.py on main."""
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    git_commit(path, {"src/app.py": "print(1)\n", "buildspec.yml": BUILDSPEC}, "first")
    repo_id = f"acme/web-{uuid.uuid4().hex[:8]}"
    RepoRegistry(local_aws.app.state_dir).add(repo_id, path)
    return repo_id, path


def _project(cb, name: str, repo_id: str, ref: str = "refs/heads/main") -> None:
    cb.create_project(name=name, source={"type": "GITHUB", "location":
                                         f"https://github.com/{repo_id}.git"},
                      artifacts={"type": "NO_ARTIFACTS"}, serviceRole=ROLE,
                      environment={**ENVIRONMENT, "environmentVariables": [
                          {"name": "EXPECTED_REF", "value": ref}]})


def _in_shape(cb, operation: str, answer: dict) -> None:
    shape = cb.meta.service_model.operation_model(operation).output_shape
    assert census.check_shape(shape, answer, operation) == []


def _heads_seen(local_aws, name: str) -> dict:
    path = local_aws.app.state_dir / STATE_FILE
    data = json.loads(path.read_text()) if path.exists() else {}
    return (data.get("us-east-1", {}).get(name) or {}).get("refs", {})


def _builds(cb, name: str) -> list[dict]:
    ids = cb.list_builds_for_project(projectName=name)["ids"]
    return cb.batch_get_builds(ids=ids)["builds"] if ids else []


def test_a_push_matching_a_filter_group_builds_the_pushed_commit(session, local_aws, repo,
                                                                 app_name):
    cb = session.client("codebuild")
    repo_id, path = repo
    _project(cb, app_name, repo_id)
    hook = cb.create_webhook(projectName=app_name, filterGroups=[
        [{"type": "EVENT", "pattern": "PUSH"}, {"type": "HEAD_REF", "pattern": "^refs/heads/main$"},
         {"type": "FILE_PATH", "pattern": "^src/"}],
        [{"type": "EVENT", "pattern": "PUSH, PULL_REQUEST_CREATED"},
         {"type": "COMMIT_MESSAGE", "pattern": r"\[build\]"},
         {"type": "ACTOR_ACCOUNT_ID", "pattern": "^Mallory$", "excludeMatchedPattern": True}]])
    assert hook["webhook"]["buildType"] == "BUILD" and len(hook["webhook"]["filterGroups"]) == 2
    assert cb.batch_get_projects(names=[app_name])["projects"][0]["webhook"]["payloadUrl"]
    wait_until(lambda: _heads_seen(local_aws, app_name), what="the webhook's first poll")
    docs = git_commit(path, {"docs/readme.md": "docs\n"}, "docs only")  # neither group passes
    wait_until(lambda: _heads_seen(local_aws, app_name).get("refs/heads/main"),
               lambda head: head == docs, what="the docs commit seen")
    code = git_commit(path, {"src/app.py": "print(2)\n"}, "code")  # group 1
    builds = wait_until(lambda: _builds(cb, app_name), lambda b: len(b) == 1 and
                        b[0]["buildComplete"], timeout=90, what="the build of the code push")
    assert builds[0]["sourceVersion"] == code and builds[0]["resolvedSourceVersion"] == code
    assert builds[0]["buildStatus"] == "SUCCEEDED", builds[0]["phases"]
    assert builds[0]["initiator"].startswith("GitHub-Hookshot/")
    git(path, "checkout", "-q", "-b", "feature")
    feature = git_commit(path, {"notes.txt": "x\n"}, "[build] please")  # group 2
    builds = wait_until(lambda: _builds(cb, app_name), lambda b: len(b) == 2 and all(
        x["buildComplete"] for x in b), timeout=90, what="the build of the feature push")
    pushed = next(b for b in builds if b["sourceVersion"] == feature)
    assert pushed["buildStatus"] == "FAILED"  # EXPECTED_REF is main: the variables are real
    assert {b["sourceVersion"] for b in builds} == {code, feature}  # never the docs commit


def test_webhook_validation_and_lifecycle(session, repo, app_name):
    cb = session.client("codebuild")
    _project(cb, app_name, repo[0])
    for groups in ([[{"type": "HEAD_REF", "pattern": "main"}]],
                   [[{"type": "EVENT", "pattern": "PUSHED"}]],
                   [[{"type": "EVENT", "pattern": "PUSH"}, {"type": "FILE_PATH",
                                                            "pattern": "("}]]):
        with pytest.raises(ClientError) as caught:
            cb.create_webhook(projectName=app_name, filterGroups=groups)
        assert caught.value.response["Error"]["Code"] == "InvalidInputException"
    _in_shape(cb, "CreateWebhook", cb.create_webhook(projectName=app_name))
    with pytest.raises(ClientError) as caught:
        cb.create_webhook(projectName=app_name)
    assert caught.value.response["Error"]["Code"] == "ResourceAlreadyExistsException"
    updated = cb.update_webhook(projectName=app_name, buildType="BUILD_BATCH",
                                filterGroups=[[{"type": "EVENT", "pattern": "PUSH"}]])
    assert updated["webhook"]["buildType"] == "BUILD_BATCH"
    _in_shape(cb, "UpdateWebhook", updated)
    cb.delete_webhook(projectName=app_name)
    assert "webhook" not in cb.batch_get_projects(names=[app_name])["projects"][0]
    with pytest.raises(ClientError) as caught:
        cb.delete_webhook(projectName=app_name)
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"
    cb.create_project(name=f"{app_name}-s3", source={"type": "S3", "location": "b/k.zip"},
                      artifacts={"type": "NO_ARTIFACTS"}, environment=dict(ENVIRONMENT),
                      serviceRole=ROLE)
    with pytest.raises(ClientError) as caught:
        cb.create_webhook(projectName=f"{app_name}-s3")
    assert caught.value.response["Error"]["Code"] == "InvalidInputException"


def test_batch_delete_builds_and_delete_build_batch(session, app_name):
    cb = session.client("codebuild")
    spec = ("version: 0.2\nbatch:\n  build-list:\n    - identifier: one\n"
            "phases:\n  build:\n    commands:\n      - echo hi\n")
    cb.create_project(name=app_name, source={"type": "NO_SOURCE", "buildspec": spec},
                      artifacts={"type": "NO_ARTIFACTS"}, environment=dict(ENVIRONMENT),
                      serviceRole=ROLE, buildBatchConfig={"serviceRole": ROLE})
    build_id = cb.start_build(projectName=app_name)["build"]["id"]
    wait_until(lambda: cb.batch_get_builds(ids=[build_id])["builds"][0]["buildComplete"],
               timeout=60, what="the build")
    answer = cb.batch_delete_builds(ids=[build_id, f"{app_name}:none"])
    _in_shape(cb, "BatchDeleteBuilds", answer)
    assert answer["buildsDeleted"] == [build_id]
    assert answer["buildsNotDeleted"] == [{"id": f"{app_name}:none",
                                           "statusCode": "BUILD_NOT_FOUND"}]
    assert cb.batch_get_builds(ids=[build_id])["buildsNotFound"] == [build_id]
    batch_id = cb.start_build_batch(projectName=app_name)["buildBatch"]["id"]
    batch = wait_until(lambda: cb.batch_get_build_batches(ids=[batch_id])["buildBatches"][0],
                       lambda b: b["complete"], timeout=90, what="the batch")
    member = batch["buildGroups"][0]["currentBuildSummary"]["arn"].split("/", 1)[1]
    deleted = cb.delete_build_batch(id=batch_id)
    _in_shape(cb, "DeleteBuildBatch", deleted)
    assert deleted["statusCode"] == "BATCH_DELETED" and deleted["buildsDeleted"] == [member]
    assert cb.batch_get_build_batches(ids=[batch_id])["buildBatchesNotFound"] == [batch_id]
    with pytest.raises(ClientError) as caught:
        cb.delete_build_batch(id=batch_id)
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"
