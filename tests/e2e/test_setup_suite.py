"""Issue: guided setup end to end, checked as an operator would check it: with the AWS CLI.

`runbook local start`, then `runbook run` the setup notebooks, then the real AWS CLI inspects
what was built; a second run makes zero mutating calls (counted by the local AWS itself, across
every kernel); teardown removes everything the suite created and nothing it did not.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from runbook_lib.local.server import process
from runbook_lib.local.server.auth import read_credentials

pytestmark = pytest.mark.slow

SETUP = ["preflight", "bucket", "iam", "buildspec", "build-project", "config", "pipeline",
         "monitoring"]
APP = "sample-app"
BUCKET = f"{APP}-artifacts-123456789012-us-east-1"
AWS = str(Path(sys.executable).with_name("aws"))


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    state = tmp_path_factory.mktemp("e2e-state")
    status = process.start(state)
    exported = read_credentials(state).environment(status.endpoint_url)  # the printed exports
    env = {**os.environ, **exported, "RUNBOOK_STATE_DIR": str(state),
           "AWS_DEFAULT_REGION": "us-east-1"}
    env.pop("AWS_PROFILE", None)
    yield status.endpoint_url, env
    process.stop(state)


def runbook(env, *args, timeout=900):
    result = subprocess.run([sys.executable, "-m", "runbook_lib.app.cli", *args], env=env,
                            capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def aws(env, *args):
    result = subprocess.run([AWS, *args, "--output", "json"], env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout) if result.stdout.strip() else {}


def mutations(endpoint) -> list[dict]:
    return [c for c in process.fetch_calls(endpoint) if c["mutating"]]


def test_setup_then_rerun_then_teardown(local, tmp_path):
    endpoint, env = local
    runbook(env, "run", "--only", *SETUP, "-p", "apply=true", "--out", str(tmp_path / "one"))

    # What the operator sees with the AWS CLI.
    assert aws(env, "s3api", "get-bucket-versioning", "--bucket", BUCKET)["Status"] == "Enabled"
    rules = aws(env, "s3api", "get-bucket-encryption", "--bucket", BUCKET)[
        "ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    block = aws(env, "s3api", "get-public-access-block", "--bucket", BUCKET)[
        "PublicAccessBlockConfiguration"]
    assert block == {"BlockPublicAcls": True, "IgnorePublicAcls": True,
                     "BlockPublicPolicy": True, "RestrictPublicBuckets": True}
    for role in (f"{APP}-codebuild", f"{APP}-codepipeline"):
        trust = aws(env, "iam", "get-role", "--role-name", role)["Role"]["AssumeRolePolicyDocument"]
        assert "aws:SourceAccount" in json.dumps(trust)
        names = aws(env, "iam", "list-role-policies", "--role-name", role)["PolicyNames"]
        assert names
        for name in names:
            doc = aws(env, "iam", "get-role-policy", "--role-name", role, "--policy-name",
                      name)["PolicyDocument"]
            resources = [r for st in doc["Statement"] for r in
                         (st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]])]
            assert any(BUCKET in r for r in resources)
            assert not any(st.get("Action") in ("*", ["*"]) for st in doc["Statement"])
    project = aws(env, "codebuild", "batch-get-projects", "--names", f"{APP}-build")["projects"][0]
    assert project["logsConfig"]["cloudWatchLogs"] == {
        "status": "ENABLED", "groupName": f"/aws/codebuild/{APP}-build"}
    assert project["environment"]["privilegedMode"] is False
    pipeline = aws(env, "codepipeline", "get-pipeline", "--name", f"{APP}-pipeline")["pipeline"]
    assert len(pipeline["stages"]) >= 5
    categories = [a["actionTypeId"]["category"] for s in pipeline["stages"] for a in s["actions"]]
    assert "Approval" in categories
    targets = aws(env, "events", "list-targets-by-rule", "--rule", f"{APP}-pipeline-failed")
    assert targets["Targets"][0]["Arn"].endswith(f":{APP}-pipeline-failures")

    # A converged re-run makes zero mutating calls, across every notebook.
    process.fetch_calls(endpoint, reset=True)
    runbook(env, "run", "--only", *SETUP, "-p", "apply=true", "--out", str(tmp_path / "two"))
    assert mutations(endpoint) == []

    # Look-alikes the suite did not create: under the app's own prefixes, but untagged.
    aws(env, "ssm", "put-parameter", "--name", f"/{APP}/staging/HAND_MADE", "--value", "x",
        "--type", "String")
    aws(env, "secretsmanager", "create-secret", "--name", f"{APP}/staging/hand-made",
        "--secret-string", "x")

    runbook(env, "teardown", "--out", str(tmp_path / "down"))
    buckets = [b["Name"] for b in aws(env, "s3api", "list-buckets")["Buckets"]]
    assert BUCKET not in buckets
    roles = [r["RoleName"] for r in aws(env, "iam", "list-roles")["Roles"]]
    assert not {f"{APP}-codebuild", f"{APP}-codepipeline"} & set(roles)
    assert aws(env, "codepipeline", "list-pipelines")["pipelines"] == [] or all(
        p["name"] != f"{APP}-pipeline" for p in aws(env, "codepipeline", "list-pipelines")[
            "pipelines"])
    left = aws(env, "ssm", "get-parameters-by-path", "--path", f"/{APP}", "--recursive")
    assert [p["Name"] for p in left["Parameters"]] == [f"/{APP}/staging/HAND_MADE"]
    secrets = [s["Name"] for s in aws(env, "secretsmanager", "list-secrets")["SecretList"]]
    assert f"{APP}/staging/hand-made" in secrets
    assert not [s for s in secrets if s.startswith(f"{APP}/") and s != f"{APP}/staging/hand-made"]

    # A second teardown is a no-op.
    process.fetch_calls(endpoint, reset=True)
    runbook(env, "teardown", "--out", str(tmp_path / "again"))
    assert mutations(endpoint) == []
