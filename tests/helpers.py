"""Helpers every kind of test shares: polling, zips, ports, the `runbook` command, the suite.

Importable as ``helpers`` (pytest puts ``tests/`` on ``sys.path``, see ``pythonpath`` in
pyproject.toml).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

from runbook_lib.app import suite
from runbook_lib.core.local_endpoint import ServerStatus
from runbook_lib.core.params import Params
from runbook_lib.core.plan import Plan
from runbook_lib.core.session import AwsSession
from runbook_lib.local.server import process
from runbook_lib.operate import executions, history, pipeline_state, summaries
from runbook_lib.setup import bucket, codebuild, config_store, iam

T = TypeVar("T")

# The setup notebooks, in the suite's own order: what `runbook run --only` applies before a test.
SETUP_NOTEBOOKS = [nb.name for nb in suite.NOTEBOOKS if nb.kind == "setup"]


def wait_until(read: Callable[[], T], done: Callable[[T], Any] = bool, *,
               timeout: float = 30.0, what: str = "the condition", interval: float = 0.05,
               describe: Callable[[], Any] | None = None) -> T:
    """Call ``read()`` until ``done(value)`` holds and return that value.

    On timeout the test fails naming ``what`` and the last value seen (or ``describe()``, when
    the value alone says nothing), which is what a reader of a red CI run needs.
    """
    deadline = time.monotonic() + timeout
    value = read()
    while not done(value):
        if time.monotonic() > deadline:
            last = describe() if describe else value
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; "
                                 f"last seen: {last!r}")
        time.sleep(interval)
        value = read()
    return value


def receive_messages(sqs, url: str, done: Callable[[list[dict]], Any] = bool, *,
                     timeout: float = 15.0, what: str = "") -> list[dict]:
    """Messages received from queue ``url`` (and kept) until ``done(messages)`` holds; by
    default, until one arrived. Long polls of a second each: nothing arrives between them
    unseen. On timeout the test fails naming ``what`` and the messages that did arrive."""
    got: list[dict] = []

    def more() -> list[dict]:
        got.extend(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                       MessageAttributeNames=["All"]).get("Messages", []))
        return got

    return wait_until(more, done, timeout=timeout, interval=0,
                      what=what or f"a message on {url}",
                      describe=lambda: [m.get("Body", "")[:200] for m in got])


def wait_for_log_match(proc: subprocess.Popen, log: Path, pattern: str, *,
                       timeout: float = 120, what: str = "") -> re.Match:
    """The first match of ``pattern`` in ``log``, the file a started process writes its
    output to; the test fails if the process ends first, or on timeout, with the log's tail."""
    def read() -> tuple[re.Match | None, int | None]:
        text = log.read_text(errors="replace") if log.exists() else ""
        return re.search(pattern, text), proc.poll()

    def tail() -> str:
        return log.read_text(errors="replace")[-4000:] if log.exists() else "(no log)"

    what = what or f"{pattern!r} in {log}"
    match, code = wait_until(read, lambda seen: seen[0] or seen[1] is not None,
                             timeout=timeout, interval=0.25, what=what, describe=tail)
    assert match, f"the process ended (exit code {code}) before {what}; its log:\n{tail()}"
    return match


def get_json_when_serving(url: str, *, timeout: float = 60) -> Any:
    """The JSON at ``url`` once its server accepts connections: a server logs its URL a
    moment before it listens, so a refused connection is waited out; any other error fails."""
    def attempt() -> tuple[bool, Any]:
        try:
            with urllib.request.urlopen(url, timeout=30) as resp:
                return True, json.loads(resp.read())
        except urllib.error.URLError as err:
            if not isinstance(err.reason, ConnectionRefusedError):
                raise
            return False, None

    return wait_until(attempt, lambda answer: answer[0], timeout=timeout, interval=0.25,
                      what=f"{url.split('?')[0]} to accept connections")[1]


def wait_for_build(codebuild, build_id: str, *, timeout: float = 60.0,
                   until: Callable[[dict], Any] = lambda b: b["buildComplete"]) -> dict:
    """Poll BatchGetBuilds until ``until(build)`` holds (by default: the build completed)."""
    return wait_until(lambda: codebuild.batch_get_builds(ids=[build_id])["builds"][0], until,
                      timeout=timeout, what=f"build {build_id}", interval=0.1)


def pipeline_role(session: AwsSession, app: str) -> str:
    """The ARN of role ``APP-role`` for a test pipeline, created if missing (the local engine
    checks a pipeline's role exists, not what it allows)."""
    return ensure_role(session.client("iam"), f"{app}-role")


# What a pipeline's service role trusts on AWS (the local engine checks only that it exists).
PIPELINE_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "codepipeline.amazonaws.com"},
    "Action": "sts:AssumeRole"}]})


def ensure_role(iam, name: str, trust: str = "{}") -> str:
    """The ARN of role ``name``, created with ``trust`` if missing (``iam``: any IAM client)."""
    try:
        return iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    except iam.exceptions.EntityAlreadyExistsException:
        return iam.get_role(RoleName=name)["Role"]["Arn"]


def aws_action(name: str, category: str, provider: str, **fields: Any) -> dict:
    """One action of a pipeline declaration, of AWS's own type ``category``/``provider``;
    ``fields`` add configuration, inputArtifacts, namespace and the like."""
    return {"name": name, "actionTypeId": {"category": category, "owner": "AWS",
                                           "provider": provider, "version": "1"}, **fields}


def s3_source_stage(bucket: str, key: str = "app.zip", output: str = "Src",
                    **configuration: str) -> dict:
    """The ``Source`` stage reading ``s3://bucket/key`` into artifact ``output``, started by
    the test (no polling); ``configuration`` adds fields such as a webhook's ``Branch``."""
    return {"name": "Source", "actions": [aws_action(
        "Source", "Source", "S3", outputArtifacts=[{"name": output}],
        configuration={"S3Bucket": bucket, "S3ObjectKey": key, "PollForSourceChanges": "false",
                       **configuration})]}


def codebuild_stage(project: str, source: str = "Src") -> dict:
    """A ``Build`` stage of one CodeBuild action building ``project`` from artifact ``source``."""
    return {"name": "Build", "actions": [aws_action(
        "Build", "Build", "CodeBuild", configuration={"ProjectName": project},
        inputArtifacts=[{"name": source}])]}


def approval_stage(name: str = "Approve") -> dict:
    """A stage of one manual approval, where a run waits for the test to answer."""
    return {"name": name, "actions": [aws_action(name, "Approval", "Manual")]}


def pipeline_declaration(name: str, role_arn: str, artifact_bucket: str, *stages: dict,
                         **fields: Any) -> dict:
    """A pipeline declaration: ``stages`` in order, artifacts in ``artifact_bucket``;
    ``fields`` add pipelineType, executionMode and the like."""
    return {"name": name, "roleArn": role_arn, **fields,
            "artifactStore": {"type": "S3", "location": artifact_bucket},
            "stages": list(stages)}


def declared_pipeline(session: AwsSession, app: str, name: str, bucket: str, *stages: dict,
                      **fields: Any) -> dict:
    """The declaration of pipeline ``name`` (``stages``, ``fields``), with what it needs made
    first: its role ``APP-role`` (if missing) and its artifact bucket ``bucket``. Not created:
    a test may change or refuse it."""
    role = pipeline_role(session, app)
    session.client("s3").create_bucket(Bucket=bucket)
    return pipeline_declaration(name, role, bucket, *stages, **fields)


def put_source_object(s3, bucket: str, files: Mapping[str, str | bytes],
                      key: str = "app.zip") -> None:
    """A new versioned bucket holding the zip of ``files`` at ``key``: an S3 source's object."""
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key=key, Body=make_zip(files))


def create_s3_pipeline(session: AwsSession, app: str, name: str, bucket: str, *stages: dict,
                       files: Mapping[str, str | bytes] | None = None, key: str = "app.zip",
                       tags: list[dict] | None = None, **fields: Any) -> dict:
    """Create pipeline ``name`` (role ``APP-role``): an S3 source stage reading ``bucket``
    (also its artifact store), then ``stages``. With ``files``, the bucket is made versioned
    and holds their zip at ``key``; without, only the bucket is made, and the source object is
    missing. ``tags`` go with CreatePipeline. Returns the declaration."""
    s3 = session.client("s3")
    if files is None:
        s3.create_bucket(Bucket=bucket)
    else:
        put_source_object(s3, bucket, files, key)
    declaration = pipeline_declaration(name, pipeline_role(session, app), bucket,
                                       s3_source_stage(bucket, key), *stages, **fields)
    session.client("codepipeline").create_pipeline(
        pipeline=declaration, **({"tags": tags} if tags else {}))
    return declaration


FINISHED = lambda e: e["status"] not in ("InProgress", "Stopping")  # noqa: E731


def wait_for_execution(codepipeline, pipeline: str, execution_id: str, *statuses: str,
                       timeout: float = 60.0, interval: float = 0.1) -> dict:
    """Poll GetPipelineExecution until the run is in one of ``statuses`` (by default: until
    it finished, whatever its end) and return its ``pipelineExecution``."""
    done = (lambda e: e["status"] in statuses) if statuses else FINISHED
    wanted = " or ".join(statuses) or "finished"
    return wait_until(lambda: codepipeline.get_pipeline_execution(
        pipelineName=pipeline, pipelineExecutionId=execution_id)["pipelineExecution"], done,
        timeout=timeout, interval=interval, what=f"execution {execution_id} of {pipeline} "
        f"{wanted}")


class CliPipelines:
    """The CodePipeline reads the waiters make, through the real AWS CLI: what
    :func:`wait_for_execution` takes in place of a boto3 client, for tests that check what an
    operator's CLI sees."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env

    def get_pipeline_execution(self, pipelineName: str, pipelineExecutionId: str) -> dict:  # noqa: N803 (boto3's names)
        return aws_cli(self.env, "codepipeline", "get-pipeline-execution", "--pipeline-name",
                       pipelineName, "--pipeline-execution-id", pipelineExecutionId)


def create_pipeline_build_project(session: AwsSession, name: str, role_arn: str,
                                  **extra: Any) -> None:
    """A CodeBuild project for a pipeline's Build stage (CODEPIPELINE source and artifacts, the
    standard image), made straight through the API: a resource the suite did not plan."""
    session.client("codebuild").create_project(
        name=name, source={"type": "CODEPIPELINE"}, artifacts={"type": "CODEPIPELINE"},
        environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0",
                     "computeType": "BUILD_GENERAL1_SMALL"},
        serviceRole=role_arn, **extra)


def make_zip(files: Mapping[str, str | bytes]) -> bytes:
    """A zip of ``files`` (archive name to text or bytes), as a test's source or artifact."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def local_aws_env(status: ServerStatus) -> dict[str, str]:
    """The environment a subprocess (the `runbook` command, the AWS CLI) needs to use the local
    AWS that ``status`` describes, and nothing of the developer's own AWS setup."""
    from runbook_lib.core.local_credentials import read_credentials

    exported = read_credentials(Path(status.state_dir)).environment(status.endpoint_url)
    env = {**os.environ, **exported, "RUNBOOK_STATE_DIR": status.state_dir}  # the exports
    env.pop("AWS_PROFILE", None)
    return env


def run_runbook(env: Mapping[str, str], *args: str, timeout: float = 900
                ) -> subprocess.CompletedProcess:
    """`runbook ARGS` in a subprocess; fails the test with the output's tail when it fails."""
    result = subprocess.run([sys.executable, "-m", "runbook_lib.app.cli", *args], env=dict(env),
                            capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return result


def apply_setup(env: Mapping[str, str], out: Path) -> subprocess.CompletedProcess:
    """The suite's setup notebooks applied headless, as `make run` starts."""
    return run_runbook(env, "run", "--only", *SETUP_NOTEBOOKS, "-p", "apply=true",
                       "--out", str(out))


AWS_CLI = str(Path(sys.executable).with_name("aws"))


def aws_cli(env: Mapping[str, str], *args: str) -> dict:
    """The real AWS CLI (``aws ARGS --output json``), as an operator checks what was built."""
    result = subprocess.run([AWS_CLI, *args, "--output", "json"], env=dict(env),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout) if result.stdout.strip() else {}


def set_up_app(session: AwsSession, app: str) -> Params:
    """A unique app's whole setup through the library, as notebooks 02 to 07 do it."""
    # No build cache: the cache paths (~/.npm) are shared with other builds on this machine.
    params = Params(app_name=app, source_repo=f"acme/{app}", secret_names=(),
                    secure_config_names=(), cache_mode="none")
    names = params.names()
    for plan in (bucket.plan_artifact_bucket(session, params, names),
                 bucket.plan_deploy_buckets(session, params, names),
                 iam.plan_roles(session, params, names),
                 codebuild.plan_build_project(session, params, names),
                 config_store.plan_config(session, params, names),
                 history.plan_pipeline_and_source(session, params, names)):
        plan.apply()
    return params


def approve_and_finish(session: AwsSession, pipeline_name: str, execution_id: str,
                       summary: str = "ok") -> None:
    """Approve the run's pending approvals once it waits for one; it must then succeed."""
    executions.wait_for_execution(session, pipeline_name, execution_id, 300,
                                  stop_at_approval=True)
    for pending in pipeline_state.pending_approvals(session, pipeline_name):
        if pending.execution_id == execution_id:
            pipeline_state.answer_approval(session, pending, True, summary)
    result = executions.wait_for_execution(session, pipeline_name, execution_id, 300)
    assert result.status == "Succeeded", result


def push_and_follow(session: AwsSession, pipeline: str, push: Callable[[], Any],
                    timeout: float = 600) -> summaries.ExecutionSummary:
    """Push (``push()``), wait for the run it starts, and follow that run until it ends or
    waits for an approval: its summary then."""
    known = {e.execution_id for e in summaries.list_executions(session, pipeline)}
    push()
    run = executions.wait_for_new_execution(session, pipeline, known, timeout=120)
    return executions.wait_for_execution(session, pipeline, run.execution_id, timeout,
                                         stop_at_approval=True)


def push_to_approval(session: AwsSession, params: Params, push: Callable[[], Any]) -> str:
    """Push (``push()``) and wait until the run it starts waits for approval; its id."""
    result = push_and_follow(session, params.names().pipeline, push, timeout=300)
    assert not result.finished, result
    return result.execution_id


RUNBOOK = str(Path(sys.executable).with_name("runbook"))


@contextlib.contextmanager
def operator_local(state: Path, drop: tuple[str, ...] = ("AWS_",)
                   ) -> Iterator[tuple[str, dict[str, str]]]:
    """A local AWS on ``state`` for the span of the block, and the environment an operator's
    shell has for it: no variable starting with one of ``drop`` (no AWS credentials: the
    `runbook` command finds them in the state folder), the endpoint, the state folder and
    the region. Yields (endpoint URL, environment)."""
    status = process.start(state)
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.update(AWS_ENDPOINT_URL=status.endpoint_url, RUNBOOK_STATE_DIR=str(state),
               AWS_REGION="us-east-1")
    try:
        yield status.endpoint_url, env
    finally:
        process.stop(state)


def operator_runbook(env: Mapping[str, str], *args: str, ok: tuple[int, ...] = (0,),
                     timeout: float = 1200) -> subprocess.CompletedProcess:
    """The installed `runbook` command, as an operator types it: the test fails on an exit
    status not in ``ok`` (with the output's tail) and on any traceback."""
    done = subprocess.run([RUNBOOK, *args], env=dict(env), capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode in ok, (args, done.stdout[-3000:] + done.stderr[-3000:])
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    return done


def assert_converged(session: AwsSession, rerun: Callable[[], Plan]) -> Plan:
    """Re-run a setup step (``rerun`` plans, and applies if it wants): nothing to change and
    not one mutating call, which is what "safe to re-run" means."""
    session.recorder.reset()
    plan = rerun()
    assert not plan.has_changes, plan.render()
    assert session.recorder.mutating_count == 0, session.recorder.summary()
    return plan


BUILD_ROLE = "arn:aws:iam::123456789012:role/build-role"
BUILD_ENVIRONMENT = {"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0",
                     "computeType": "BUILD_GENERAL1_SMALL"}


def run_inline_build(session, name: str, buildspec: str) -> dict:
    """A project with an inline buildspec and no source, one build of it, waited to its end."""
    cb = session.client("codebuild")
    cb.create_project(name=name, source={"type": "NO_SOURCE", "buildspec": buildspec},
                      artifacts={"type": "NO_ARTIFACTS"}, environment=dict(BUILD_ENVIRONMENT),
                      serviceRole=BUILD_ROLE)
    build_id = cb.start_build(projectName=name)["build"]["id"]
    return wait_for_build(cb, build_id)


def processes_with(marker: str) -> list[int]:
    """Host pids whose command line holds ``marker`` (a build's process, seen from outside
    its sandbox: ``exec -a MARKER sleep`` names one)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker.encode() in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


def daemon_command(marker: str) -> str:
    """A buildspec command leaving a ``setsid`` daemon named ``marker`` running."""
    return f"setsid bash -c 'exec -a {marker} sleep 1000' > /dev/null 2>&1 < /dev/null &"


def drop_archive_rule(session: AwsSession, app: str) -> None:
    """Remove an app's account-wide event-archive rule, so tests that run later on the shared
    local AWS see only the rules they made (the archive rule matches every pipeline event)."""
    events = session.client("events")
    rule = f"{app}-event-archive"
    try:
        targets = events.list_targets_by_rule(Rule=rule)["Targets"]
    except events.exceptions.ResourceNotFoundException:
        return
    if targets:
        events.remove_targets(Rule=rule, Ids=[t["Id"] for t in targets])
    events.delete_rule(Name=rule)


# What an operator's shell holds when it starts the local AWS, and no build may see: each value
# is a marker a test looks for (tokens in their services' own shapes, so redaction knows them).
OPERATOR_MARKERS = {
    "RUNBOOK_SECRET_X": "runbook-secret-marker-7f3a",
    "GITHUB_TOKEN": "ghp_githubtokenmarker0123456789abcdef",
    "NPM_TOKEN": "npm_npmtokenmarker0123456789abcdefgh",
    "AWS_ACCESS_KEY_ID": "AKIAOPERATORMARKER01",
    "AWS_SECRET_ACCESS_KEY": "operator-secret-marker-9c1d",
    "AWS_SESSION_TOKEN": "operator-session-marker-4b2e",
}


@contextlib.contextmanager
def local_as_operator(state: Path, environ: Mapping[str, str]) -> Iterator[dict[str, str]]:
    """`runbook local start` from a shell holding ``environ`` (the venv's bin first on PATH),
    and `runbook local stop` when the block ends; yields the ``export`` lines it printed, as a
    mapping."""
    env = {**environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{environ['PATH']}"}
    command = [sys.executable, "-m", "runbook_lib.app.cli", "local"]
    started = subprocess.run([*command, "start", "--state-dir", str(state)], env=env,
                             capture_output=True, text=True, timeout=120)
    assert started.returncode == 0, started.stderr
    try:
        yield dict(line[len("export "):].split("=", 1) for line in started.stdout.splitlines()
                   if line.startswith("export "))
    finally:
        subprocess.run([*command, "stop", "--state-dir", str(state)], timeout=60)


def exported_client(exports: Mapping[str, str], service: str, **creds: str):
    """A boto3 client on the exported local AWS, with its key pair or ``creds``; no retries."""
    import boto3
    from botocore.config import Config

    keys = creds or {"aws_access_key_id": exports["AWS_ACCESS_KEY_ID"],
                     "aws_secret_access_key": exports["AWS_SECRET_ACCESS_KEY"]}
    return boto3.client(service, endpoint_url=exports["AWS_ENDPOINT_URL"],
                        region_name="us-east-1", config=Config(retries={"max_attempts": 1}),
                        **keys)


TEST_GIT = ["git", "-c", "user.name=Ann Author", "-c", "user.email=ann@example.com",
            "-c", "commit.gpgsign=false"]


def git(repo: Path, *args: str) -> str:
    """``git -C repo ...`` as a test author, its stdout stripped; fails on a git error."""
    return subprocess.run([*TEST_GIT, "-C", str(repo), *args], capture_output=True, text=True,
                          check=True, timeout=60).stdout.strip()


def git_commit(repo: Path, files: dict[str, str], message: str = "change") -> str:
    """Write ``files`` into ``repo``, commit them all, return the new commit's sha."""
    for name, content in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(content)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")
