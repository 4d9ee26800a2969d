"""The pipeline's Commands action and Commands rule run in the build sandbox (issue 22).

A real `runbook local start` process, started with an environment holding the operator's AWS
keys and tokens (markers), runs a V2 pipeline whose Commands action prints its environment
into an output artifact, tries the state folder, leaves a ``setsid`` daemon and calls the
local AWS with its temporary credentials, which the test then tries after the run; a Commands
rule checks the same from a stage condition; a stopped execution takes its daemon with it.
"""

from __future__ import annotations

import io
import json
import os
import re
import signal
import uuid
import zipfile
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from helpers import (
    OPERATOR_MARKERS,
    daemon_command,
    ensure_role,
    exported_client,
    local_as_operator,
    pipeline_declaration,
    processes_with,
    put_source_object,
    s3_source_stage,
    wait_for_execution,
    wait_until,
)

from runbook_lib.core.local_credentials import read_credentials
from runbook_lib.local.codebuild import sandbox
from runbook_lib.local.server import process

ROLE = "arn:aws:iam::123456789012:role/commands-role"
FETCH_CREDENTIALS = (
    "python3 -c \"import os,urllib.request as u; r=u.Request(os.environ["
    "'AWS_CONTAINER_CREDENTIALS_FULL_URI'], headers={'Authorization': os.environ["
    "'AWS_CONTAINER_AUTHORIZATION_TOKEN']}); open('creds.json','wb').write(u.urlopen(r).read())\"")

pytestmark = pytest.mark.skipif(not sandbox.support().available,
                                reason=f"no sandbox here: {sandbox.support().reason}")


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    state = tmp_path_factory.mktemp("commands-state")
    with local_as_operator(state, {**os.environ, **OPERATOR_MARKERS}) as exports:
        yield state, exports


_client = exported_client


def _pipeline(exports, stage):
    """A V2 pipeline: an S3 source, then ``stage``; returns its name and first execution."""
    s3, cp = _client(exports, "s3"), _client(exports, "codepipeline")
    name = "cmd-" + uuid.uuid4().hex[:8]
    role = ensure_role(_client(exports, "iam"), "commands-role")
    s3.create_bucket(Bucket=f"{name}-art")
    put_source_object(s3, f"{name}-src", {"app.txt": "app"}, key="src.zip")
    cp.create_pipeline(pipeline=pipeline_declaration(
        name, role, f"{name}-art", s3_source_stage(f"{name}-src", "src.zip"), stage,
        pipelineType="V2"))
    first = wait_until(lambda: cp.list_pipeline_executions(pipelineName=name)[
        "pipelineExecutionSummaries"], what="the first execution", timeout=30)
    return name, first[0]["pipelineExecutionId"]


def _settled(exports, name, execution_id, timeout=90):
    cp = _client(exports, "codepipeline")
    return wait_for_execution(cp, name, execution_id, timeout=timeout, interval=0.3)


def _commands_stage(commands, **extra):
    return {"name": "Run", "actions": [{
        "name": "Run", "actionTypeId": {"category": "Compute", "owner": "AWS",
                                        "provider": "Commands", "version": "1"},
        "commands": commands, "inputArtifacts": [{"name": "Src"}], **extra}]}


def _action(exports, name, execution_id):
    cp = _client(exports, "codepipeline")
    rows = cp.list_action_executions(pipelineName=name, filter={
        "pipelineExecutionId": execution_id})["actionExecutionDetails"]
    return next(r for r in rows if r["actionName"] == "Run")


def test_a_commands_action_sees_none_of_the_servers_environment_or_state(stack):
    state, exports = stack
    marker = "runbook-cmd-daemon-" + uuid.uuid4().hex[:6]
    bucket = "cmd-out-" + uuid.uuid4().hex[:8]
    _client(exports, "s3").create_bucket(Bucket=bucket)
    commands = [
        "env > env.txt", "tr '\\0' '\\n' < /proc/1/environ > init.txt",
        "ps -ef > ps.txt", "test -f app.txt", f"test ! -e {state}",
        f"test ! -e {state}/credentials.json", f"! ls {Path.home()}/.aws",
        "test ! -e \"$CODEBUILD_SRC_DIR/../../../../credentials.json\"",
        f"echo from-action | aws s3 cp - s3://{bucket}/from-action.txt", FETCH_CREDENTIALS,
        daemon_command(marker), "sleep 1", f"pgrep -f {marker} > daemon.txt"]
    name, first = _pipeline(exports, _commands_stage(
        commands, outputArtifacts=[{"name": "Out"}]))
    execution = _settled(exports, name, first)
    run = _action(exports, name, first)
    assert execution["status"] == "Succeeded", run["output"]
    where = run["output"]["outputArtifacts"][0]["s3location"]
    s3 = _client(exports, "s3")
    packed = zipfile.ZipFile(io.BytesIO(s3.get_object(
        Bucket=where["bucket"], Key=where["key"])["Body"].read()))
    seen = {n: packed.read(n).decode() for n in ("env.txt", "init.txt", "ps.txt")}
    for text in seen.values():
        for variable, value in OPERATOR_MARKERS.items():
            assert value not in text, f"{variable} reached the Commands action"
        assert exports["AWS_SECRET_ACCESS_KEY"] not in text  # the operator's own key pair
        assert "runbook_lib.app.cli" not in text  # no server process in view
    assert re.search(r"^CODEBUILD_SRC_DIR=/codebuild/output/src\d+/src$", seen["env.txt"],
                     re.M), seen["env.txt"]
    assert packed.read("daemon.txt").strip()  # the daemon ran inside the sandbox...
    wait_until(lambda: not processes_with(marker), what="the daemon gone", timeout=10)
    assert s3.get_object(Bucket=bucket, Key="from-action.txt")["Body"].read() == b"from-action\n"
    creds = json.loads(packed.read("creds.json"))
    assert creds["AccessKeyId"].startswith("ASIA") and creds["RoleArn"] == ROLE
    stolen = _client(exports, "s3", aws_access_key_id=creds["AccessKeyId"],
                     aws_secret_access_key=creds["SecretAccessKey"],
                     aws_session_token=creds["Token"])
    with pytest.raises(ClientError) as refused:  # revoked when the commands ended
        stolen.list_buckets()
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert not list((state / "commands").glob("*/*"))  # its folders are gone


def test_a_commands_rule_runs_sandboxed_too(stack):
    state, exports = stack
    marker = "runbook-rule-daemon-" + uuid.uuid4().hex[:6]
    checks = ["tr '\\0' '\\n' < /proc/1/environ > /tmp/seen",
              "tr '\\0' '\\n' < /proc/$PPID/environ >> /tmp/seen", "env >> /tmp/seen",
              *(f"! grep -qF {value} /tmp/seen" for value in OPERATOR_MARKERS.values()),
              f"test ! -e {state}/credentials.json", "aws sts get-caller-identity",
              daemon_command(marker), "sleep 1", f"pgrep -f {marker}"]
    gate = {"name": "Checks", "ruleTypeId": {"category": "Rule", "owner": "AWS",
                                             "provider": "Commands", "version": "1"},
            "commands": checks, "configuration": {}}
    stage = _commands_stage(["echo deployed"])
    stage["beforeEntry"] = {"conditions": [{"result": "FAIL", "rules": [gate]}]}
    name, first = _pipeline(exports, stage)
    execution = _settled(exports, name, first)
    rules = _client(exports, "codepipeline").list_rule_executions(pipelineName=name)[
        "ruleExecutionDetails"]
    summary = rules[0]["output"]["executionResult"]["externalExecutionSummary"]
    assert rules[0]["status"] == "Succeeded", summary
    assert execution["status"] == "Succeeded"
    wait_until(lambda: not processes_with(marker), what="the rule's daemon gone", timeout=10)


def test_stopping_the_execution_ends_the_commands_and_their_daemon(stack):
    _state, exports = stack
    marker = "runbook-cmd-stop-" + uuid.uuid4().hex[:6]
    name, first = _pipeline(exports, _commands_stage([daemon_command(marker), "sleep 600"]))
    wait_until(lambda: processes_with(marker), what="the action's daemon", timeout=60)
    _client(exports, "codepipeline").stop_pipeline_execution(
        pipelineName=name, pipelineExecutionId=first, abandon=True, reason="test")
    wait_until(lambda: not processes_with(marker), what="the daemon gone", timeout=10)
    assert _settled(exports, name, first)["status"] in ("Stopped", "Failed")


def test_the_action_shows_no_credential_in_its_summary(stack):
    _state, exports = stack
    name, first = _pipeline(exports, _commands_stage([
        "echo \"$AWS_CONTAINER_AUTHORIZATION_TOKEN\"", "exit 3"]))
    _settled(exports, name, first)
    summary = _action(exports, name, first)["output"]["executionResult"][
        "externalExecutionSummary"]
    assert "exited 3" in summary and "***" in summary, summary  # masked, not shown


def test_a_server_killed_mid_run_takes_the_commands_along_and_the_next_start_clears_up(
        tmp_path):
    state = tmp_path / "state"
    status = process.start(state)
    exports = {"AWS_ENDPOINT_URL": status.endpoint_url, **_keys(state)}
    marker = "runbook-cmd-kill9-" + uuid.uuid4().hex[:6]
    try:
        _pipeline(exports, _commands_stage([daemon_command(marker), "sleep 600"]))
        wait_until(lambda: processes_with(marker), what="the action's daemon", timeout=60)
        assert list((state / "commands").iterdir())
        os.kill(status.pid, signal.SIGKILL)
        wait_until(lambda: not processes_with(marker), what="the daemon gone", timeout=10)
        process.start(state)
        assert not list((state / "commands").iterdir())  # the dead run's folder is gone
        assert process.reset(state) and not (state / "commands").exists()
    finally:
        process.stop(state)


def _keys(state) -> dict[str, str]:
    creds = read_credentials(state)
    return {"AWS_ACCESS_KEY_ID": creds.access_key_id,
            "AWS_SECRET_ACCESS_KEY": creds.secret_access_key}
