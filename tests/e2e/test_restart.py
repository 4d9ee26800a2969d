"""A local AWS killed mid-build: on restart the execution and its build are Failed with a
reason, never left InProgress, and the orphaned build process is ended."""

from __future__ import annotations

import os
import signal

import pytest
from helpers import (
    PIPELINE_TRUST,
    codebuild_stage,
    ensure_role,
    pipeline_declaration,
    put_source_object,
    s3_source_stage,
    wait_until,
)

from runbook_lib.core import local_endpoint
from runbook_lib.core.session import AwsSession
from runbook_lib.local.codebuild.build_paths import work_folder
from runbook_lib.local.server import process

pytestmark = pytest.mark.slow

BUILDSPEC = ("version: 0.2\nphases:\n  build:\n    commands:\n"
             "      - echo started-long-build\n      - sleep 120\n")


def _create_pipeline(s: AwsSession) -> None:
    put_source_object(s.client("s3"), "restart-artifacts", {"buildspec.yml": BUILDSPEC},
                      key="src.zip")
    role = ensure_role(s.client("iam"), "restart-role", PIPELINE_TRUST)
    s.client("codebuild").create_project(
        name="restart-build", source={"type": "CODEPIPELINE"}, artifacts={"type": "CODEPIPELINE"},
        environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0",
                     "computeType": "BUILD_GENERAL1_SMALL"}, serviceRole=role)
    s.client("codepipeline").create_pipeline(pipeline=pipeline_declaration(
        "restart", role, "restart-artifacts", s3_source_stage("restart-artifacts", "src.zip"),
        codebuild_stage("restart-build")))


def _running(pid: int) -> bool:
    """Alive and not a zombie waiting for a parent that is gone."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_killed_mid_build_restarts_with_failed_execution_and_build(tmp_path):
    status = process.start(tmp_path)
    s = AwsSession("local", "us-east-1", endpoint_url=status.endpoint_url)
    _create_pipeline(s)
    cp, cb = s.client("codepipeline"), s.client("codebuild")
    execution_id = cp.start_pipeline_execution(name="restart")["pipelineExecutionId"]

    def build_running():
        ids = cb.list_builds_for_project(projectName="restart-build")["ids"]
        builds = cb.batch_get_builds(ids=ids)["builds"] if ids else []
        return next((b for b in builds if b["currentPhase"] == "BUILD"), None)

    build = wait_until(build_running, what="a build in its BUILD phase", timeout=90, interval=0.2)
    pid_file = work_folder(tmp_path, build["id"]) / "commands" / "shell.pid"
    shell_pid = int(pid_file.read_text())
    os.kill(status.pid, signal.SIGKILL)
    wait_until(lambda: not local_endpoint.is_healthy(status.endpoint_url), what="the server gone",
               timeout=90, interval=0.2)

    status = process.start(tmp_path)
    try:
        s = AwsSession("local", "us-east-1", endpoint_url=status.endpoint_url)
        cp, cb = s.client("codepipeline"), s.client("codebuild")
        execution = cp.get_pipeline_execution(pipelineName="restart",
                                              pipelineExecutionId=execution_id)[
            "pipelineExecution"]
        assert execution["status"] in ("Failed", "Stopped")
        assert "restart" in execution.get("statusSummary", "").lower()
        after = cb.batch_get_builds(ids=[build["id"]])["builds"][0]
        assert after["buildStatus"] == "FAILED" and after["buildComplete"]
        assert not _running(shell_pid)  # the orphaned build shell was ended
    finally:
        process.stop(tmp_path)
