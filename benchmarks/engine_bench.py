"""Benchmarks of the local AWS's pipeline engine and build runner, over real HTTP.

Each figure is a median of repeated runs made in this one process against one local AWS
started for the purpose (a subprocess, as an operator would run it).
"""

from __future__ import annotations

import io
import json
import statistics
import subprocess
import tempfile
import time
import zipfile
from pathlib import Path

from benchmarks.local_builds import build_seconds
from benchmarks.report import Result, verdict
from runbook_lib.core.session import AwsSession
from runbook_lib.local.server import process

ROLE_TRUST = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "codepipeline.amazonaws.com"},
    "Action": "sts:AssumeRole"}]}


def run_all(workdir: Path, runs: int = 7) -> list[Result]:
    status = process.start(workdir / "state")
    try:
        session = AwsSession("local", "us-east-1", endpoint_url=status.endpoint_url)
        pipeline = _s3_pipeline(session, "bench")
        results = [_pipeline_latency(session, pipeline, runs)]
        results += _runner_overhead(session, runs)
        results += _read_throughput(session, pipeline)
        return results
    finally:
        process.stop(workdir / "state")


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return buffer.getvalue()


def _s3_pipeline(session: AwsSession, name: str) -> str:
    """S3 source -> one-command CodeBuild build."""
    s3, iam = session.client("s3"), session.client("iam")
    bucket = f"{name}-artifacts"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key="source/app.zip", Body=_zip({
        "buildspec.yml": "version: 0.2\nphases:\n  build:\n    commands:\n      - echo ok\n"}))
    role = iam.create_role(RoleName=f"{name}-role",
                           AssumeRolePolicyDocument=json.dumps(ROLE_TRUST))["Role"]["Arn"]
    session.client("codebuild").create_project(
        name=f"{name}-build", source={"type": "CODEPIPELINE"}, artifacts={"type": "CODEPIPELINE"},
        environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0",
                     "computeType": "BUILD_GENERAL1_SMALL"}, serviceRole=role)
    session.client("codepipeline").create_pipeline(pipeline={
        "name": f"{name}-pipeline", "roleArn": role, "pipelineType": "V2",
        "executionMode": "PARALLEL",
        "artifactStore": {"type": "S3", "location": bucket},
        "stages": [
            {"name": "Source", "actions": [{
                "name": "Source", "actionTypeId": {"category": "Source", "owner": "AWS",
                                                   "provider": "S3", "version": "1"},
                "configuration": {"S3Bucket": bucket, "S3ObjectKey": "source/app.zip",
                                  "PollForSourceChanges": "false"},
                "outputArtifacts": [{"name": "SourceOutput"}]}]},
            {"name": "Build", "actions": [{
                "name": "Build", "actionTypeId": {"category": "Build", "owner": "AWS",
                                                  "provider": "CodeBuild", "version": "1"},
                "configuration": {"ProjectName": f"{name}-build"},
                "inputArtifacts": [{"name": "SourceOutput"}]}]},
        ]})
    return f"{name}-pipeline"


def _wait(cp, pipeline: str, execution_id: str, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = cp.get_pipeline_execution(pipelineName=pipeline, pipelineExecutionId=execution_id)[
            "pipelineExecution"]["status"]
        if status not in ("InProgress", "Stopping"):
            return status
        time.sleep(0.01)
    raise TimeoutError(f"{execution_id} still running after {timeout}s")


def _pipeline_latency(session: AwsSession, pipeline: str, runs: int) -> Result:
    cp = session.client("codepipeline")
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        execution_id = cp.start_pipeline_execution(name=pipeline)["pipelineExecutionId"]
        status = _wait(cp, pipeline, execution_id)
        times.append(time.perf_counter() - start)
        if status != "Succeeded":
            raise RuntimeError(f"benchmark execution ended {status}")
    median = statistics.median(times)
    return Result("start -> Succeeded (S3 source, 1-command build)",
                  f"median {median * 1000:.0f} ms over {runs} runs "
                  f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}); "
                  + verdict(median < 1, "target < 1000 ms"))


def _runner_overhead(session: AwsSession, runs: int) -> list[Result]:
    """The BUILD phase of 200 commands against bash running the same 200 lines."""
    cb = session.client("codebuild")
    results = []
    for label, command in (("builtin `true`", "true"), ("process `/bin/true`", "/bin/true"),
                           ("`sh -c 'echo step'`", "sh -c 'echo step'")):
        commands = [command] * 200
        name = f"bench-runner-{abs(hash(command)) % 10_000}"
        spec = "version: 0.2\nphases:\n  build:\n    commands:\n" + "".join(
            f"      - {json.dumps(c)}\n" for c in commands)
        cb.create_project(
            name=name, source={"type": "NO_SOURCE", "buildspec": spec},
            artifacts={"type": "NO_ARTIFACTS"},
            environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0",
                         "computeType": "BUILD_GENERAL1_SMALL"},
            serviceRole="arn:aws:iam::123456789012:role/bench")
        runner, bash = [], []
        with tempfile.NamedTemporaryFile("w", suffix=".sh", delete=False) as fh:
            fh.write("\n".join(commands) + "\n")
        for _ in range(runs):  # interleaved, so drift in machine load hits both alike
            build_id = cb.start_build(projectName=name)["build"]["id"]
            runner.append(build_seconds(cb, build_id))
            start = time.perf_counter()
            subprocess.run(["bash", fh.name], check=True, capture_output=True)
            bash.append(time.perf_counter() - start)
        r, b = statistics.median(runner), statistics.median(bash)
        results.append(Result(f"runner vs bash, 200 x {label}",
                              f"runner {r * 1000:.0f} ms, bash {b * 1000:.0f} ms, "
                              f"overhead {(r / b - 1) * 100:+.0f} %; "
                              + (verdict(r / b < 1.1, "target < 10 %") if command != "true"
                                 else "no target (bash's builtin costs nothing)")))
    return results


def _read_throughput(session: AwsSession, pipeline: str, calls: int = 300) -> list[Result]:
    cp = session.client("codepipeline")
    results = []
    for label, call in (
        ("GetPipelineState", lambda: cp.get_pipeline_state(name=pipeline)),
        ("ListActionExecutions", lambda: cp.list_action_executions(pipelineName=pipeline)),
    ):
        samples = []
        for _ in range(3):
            start = time.perf_counter()
            for _ in range(calls):
                call()
            samples.append(calls / (time.perf_counter() - start))
        results.append(Result(f"{label} throughput (1 client)",
                              f"median {statistics.median(samples):.0f} calls/s "
                              f"({calls} sequential calls x 3)"))
    return results
