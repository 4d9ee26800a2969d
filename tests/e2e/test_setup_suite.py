"""Issue: guided setup end to end, checked as an operator would check it: with the AWS CLI.

`runbook local start`, then `runbook run` the setup notebooks, then the real AWS CLI inspects
what was built; a second run makes zero mutating calls (counted by the local AWS itself, across
every kernel); teardown removes everything the suite created and nothing it did not.
"""

from __future__ import annotations

import json

import pytest
from helpers import apply_setup, run_runbook
from helpers import aws_cli as aws

from runbook_lib.local.server import client
from runbook_lib.setup import preflight

pytestmark = pytest.mark.slow

APP = "sample-app"
BUCKET = f"{APP}-artifacts-123456789012-us-east-1"


def mutations(endpoint) -> list[dict]:
    return [c for c in client.fetch_calls(endpoint) if c["mutating"]]


# API operation -> IAM action where IAM names it otherwise (the Service Authorization
# Reference's S3 table); None: no permission is needed.
IAM_NAMES = {
    ("sts", "GetCallerIdentity"): None,
    ("s3", "HeadBucket"): "s3:ListBucket", ("s3", "ListObjectsV2"): "s3:ListBucket",
    ("s3", "ListObjectVersions"): "s3:ListBucketVersions",
    ("s3", "DeleteObjects"): "s3:DeleteObject",
    ("s3", "GetBucketEncryption"): "s3:GetEncryptionConfiguration",
    ("s3", "PutBucketEncryption"): "s3:PutEncryptionConfiguration",
    ("s3", "GetBucketLifecycleConfiguration"): "s3:GetLifecycleConfiguration",
    ("s3", "PutBucketLifecycleConfiguration"): "s3:PutLifecycleConfiguration",
    ("s3", "GetPublicAccessBlock"): "s3:GetBucketPublicAccessBlock",
    ("s3", "PutPublicAccessBlock"): "s3:PutBucketPublicAccessBlock",
}
IAM_PREFIX = {"monitoring": "cloudwatch"}  # signing name -> IAM service prefix


def unchecked_actions(endpoint) -> list[str]:
    """The IAM actions of the operator's calls since the last reset that preflight never
    checks: a real account lacking one would pass preflight and fail in the middle of the
    setup. (The run creating the pipeline starts meanwhile: its build calls with its role.)"""
    checked = {a for actions in preflight.REQUIRED_ACTIONS.values() for a in actions}
    called = {IAM_NAMES.get((c["service"], c["operation"]),
                            f"{IAM_PREFIX.get(c['service'], c['service'])}:{c['operation']}")
              for c in client.fetch_calls(endpoint) if c["caller"] == "operator"}
    return sorted(a for a in called - checked if a)


def test_setup_then_rerun_then_teardown(local_stack, tmp_path):
    endpoint, env = local_stack.endpoint_url, local_stack.env
    apply_setup(env, tmp_path / "one")
    assert unchecked_actions(endpoint) == []  # preflight simulates every action the setup used

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
    client.fetch_calls(endpoint, reset=True)
    apply_setup(env, tmp_path / "two")
    assert mutations(endpoint) == []

    # Look-alikes the suite did not create: under the app's own prefixes, but untagged.
    aws(env, "ssm", "put-parameter", "--name", f"/{APP}/staging/HAND_MADE", "--value", "x",
        "--type", "String")
    aws(env, "secretsmanager", "create-secret", "--name", f"{APP}/staging/hand-made",
        "--secret-string", "x")

    # Without apply, the teardown deletes nothing and says how to apply.
    client.fetch_calls(endpoint, reset=True)
    planned = run_runbook(env, "teardown", "--out", str(tmp_path / "plan"))
    assert mutations(endpoint) == []
    assert "runbook teardown -p apply=true" in planned.stdout
    # the plan itself, in the terminal, "above" the line that says so
    plan_at = planned.stdout.index("- delete    CodePipeline pipeline sample-app-pipeline")
    assert planned.stdout.index("teardown: 0 to create") < plan_at < planned.stdout.index(
        "The plan is above")
    assert "kept: " in planned.stdout and "next: " not in planned.stdout

    client.fetch_calls(endpoint, reset=True)
    down = run_runbook(env, "teardown", "-p", "apply=true", "--out", str(tmp_path / "down"))
    assert unchecked_actions(endpoint) == []  # and every action the teardown used
    assert "applied: teardown" in down.stdout and "plan only" not in down.stdout
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
    client.fetch_calls(endpoint, reset=True)
    run_runbook(env, "teardown", "-p", "apply=true", "--out", str(tmp_path / "again"))
    assert mutations(endpoint) == []
