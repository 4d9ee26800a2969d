"""`runbook local repo add|list|remove`, run as an operator would (subprocesses, no server)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import codebuild_stage, wait_until

from runbook_lib.core.session import AwsSession
from runbook_lib.local.server import process

RUNBOOK = [sys.executable, "-m", "runbook_lib.app.cli", "local", "repo"]
_GIT = ["git", "-c", "user.name=Ann Author", "-c", "user.email=ann@example.com",
        "-c", "commit.gpgsign=false"]


def _run(args, cwd=None):
    return subprocess.run(RUNBOOK + args, capture_output=True, text=True, timeout=60, cwd=cwd,
                          env={**os.environ, "RUNBOOK_STATE_DIR": "/nonexistent/unused"})


def _git(repo: Path, *args: str) -> str:
    return subprocess.run([*_GIT, "-C", str(repo), *args], capture_output=True, text=True,
                          check=True, timeout=60).stdout.strip()


@pytest.fixture
def repo(tmp_path):
    path = tmp_path / "sample-app"
    path.mkdir()
    _git(path, "init", "-q", "-b", "trunk")
    (path / "README.md").write_text("hi\n")
    _git(path, "add", "-A")
    _git(path, "commit", "-q", "-m", "first")
    return path


def test_add_list_remove(tmp_path, repo):
    state = ["--state-dir", str(tmp_path / "state")]
    head = _git(repo, "rev-parse", "HEAD")

    added = _run(["add", "acme/sample-app", str(repo), *state])
    assert added.returncode == 0, added.stderr
    assert "acme/sample-app" in added.stdout
    stored = json.loads((tmp_path / "state" / "repos.json").read_text())
    assert stored["repositories"]["acme/sample-app"]["path"] == str(repo)

    listed = _run(["list", *state])
    assert listed.returncode == 0, listed.stderr
    row = next(line.split() for line in listed.stdout.splitlines()
               if line.startswith("acme/sample-app"))
    assert row == ["acme/sample-app", str(repo), "trunk", head[:12]]

    removed = _run(["remove", "acme/sample-app", *state])
    assert removed.returncode == 0, removed.stderr
    assert "acme/sample-app" not in _run(["list", *state]).stdout
    assert repo.is_dir()  # the folder itself is never touched


def test_relative_path_and_bare_repository(tmp_path, repo):
    state = ["--state-dir", str(tmp_path / "state")]
    subprocess.run(["git", "clone", "-q", "--bare", str(repo), str(tmp_path / "shop.git")],
                   check=True, timeout=60)
    added = _run(["add", "shop", "shop.git", *state], cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    stored = json.loads((tmp_path / "state" / "repos.json").read_text())
    assert stored["repositories"]["shop"]["path"] == str(tmp_path / "shop.git")


@pytest.mark.parametrize(
    "case, repo_id, make_path",
    [
        ("not a git repository", "acme/x", lambda tmp, repo: tmp),
        ("missing folder", "acme/x", lambda tmp, repo: tmp / "nope"),
        ("inside a work tree", "acme/x", lambda tmp, repo: _subdir(repo)),
        ("bad repository id", "acme/x/y", lambda tmp, repo: repo),
    ],
)
def test_add_refuses_with_a_clear_error(tmp_path, repo, case, repo_id, make_path):
    target = make_path(tmp_path, repo)
    result = _run(["add", repo_id, str(target), "--state-dir", str(tmp_path / "state")])
    assert result.returncode == 1, case
    assert result.stderr.startswith("runbook: "), case
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "state" / "repos.json").exists()


def test_remove_unknown_and_empty_list(tmp_path):
    state = ["--state-dir", str(tmp_path / "state")]
    assert "no repositories registered" in _run(["list", *state]).stdout
    result = _run(["remove", "acme/unknown", *state])
    assert result.returncode == 1
    assert "runbook local repo list" in result.stderr


def _subdir(repo: Path) -> Path:
    (repo / "src").mkdir(exist_ok=True)
    return repo / "src"


def test_a_running_server_sees_a_repository_added_by_the_command(tmp_path, repo, monkeypatch):
    """Register while the server runs; a commit then starts the pipeline over real HTTP."""
    state_dir = tmp_path / "state"
    monkeypatch.setenv("RUNBOOK_LOCAL_POLL_SECONDS", "0.2")  # inherited by the server process
    status = process.start(state_dir)
    try:
        added = _run(["add", "acme/live", str(repo), "--state-dir", str(state_dir)])
        assert added.returncode == 0, added.stderr
        aws = AwsSession("local", "us-east-1", endpoint_url=status.endpoint_url)
        clients = {n: aws.client(n) for n in ("iam", "s3", "codepipeline")}
        role = clients["iam"].create_role(
            RoleName="live-pipeline",
            AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "codepipeline.amazonaws.com"},
                "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
        clients["s3"].create_bucket(Bucket="live-artifacts")
        cp = clients["codepipeline"]
        cp.create_pipeline(pipeline=_pipeline_declaration(role))
        watch_state = state_dir / "source-triggers.json"
        wait_until(lambda: "live" in _read_json(watch_state).get("us-east-1", {}),
                   what="the watcher to see the pipeline",
                   describe=lambda: _read_json(watch_state))

        (repo / "README.md").write_text("pushed\n")
        _git(repo, "commit", "-q", "-am", "second")
        sha = _git(repo, "rev-parse", "HEAD")

        def pushed():
            return [e for e in cp.list_pipeline_executions(pipelineName="live")[
                "pipelineExecutionSummaries"] if e["trigger"]["triggerType"] == "Webhook"]

        wait_until(pushed, what="a Webhook execution",
                   describe=lambda: cp.list_pipeline_executions(pipelineName="live"))
        execution = cp.get_pipeline_execution(pipelineName="live", pipelineExecutionId=pushed()[
            0]["pipelineExecutionId"])["pipelineExecution"]
        assert execution["trigger"]["triggerType"] == "Webhook"
        wait_until(lambda: cp.get_pipeline_execution(
            pipelineName="live", pipelineExecutionId=execution["pipelineExecutionId"])[
            "pipelineExecution"].get("artifactRevisions"), what="the source revision")
        revisions = cp.get_pipeline_execution(
            pipelineName="live", pipelineExecutionId=execution["pipelineExecutionId"])[
            "pipelineExecution"]["artifactRevisions"]
        assert revisions[0]["revisionId"] == sha
    finally:
        process.stop(state_dir)


def _pipeline_declaration(role):
    return {
        "name": "live", "pipelineType": "V2", "roleArn": role,
        "artifactStore": {"type": "S3", "location": "live-artifacts"},
        "stages": [
            {"name": "Source", "actions": [{
                "name": "Source",
                "actionTypeId": {"category": "Source", "owner": "AWS",
                                 "provider": "CodeStarSourceConnection", "version": "1"},
                "configuration": {
                    "ConnectionArn": "arn:aws:codestar-connections:us-east-1:123456789012:"
                                     "connection/live",
                    "FullRepositoryId": "acme/live", "BranchName": "trunk"},
                "outputArtifacts": [{"name": "SourceOutput"}]}]},
            codebuild_stage("live", "SourceOutput"),
        ],
    }


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


