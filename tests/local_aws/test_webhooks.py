"""CodePipeline webhooks: defined with the real AWS CLI, served by the local AWS's own URL.

A GitHub-shaped push POSTed to the webhook's URL (unsigned by SigV4, as GitHub's are) starts the
pipeline when its filters match and its HMAC signature is right; nothing starts otherwise.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError
from helpers import (
    approval_stage,
    aws_cli,
    pipeline_declaration,
    pipeline_role,
    put_source_object,
    s3_source_stage,
)

SECRET = "webhook-secret-for-tests"


@pytest.fixture
def hooked(session, local_aws, app_name):
    """(codepipeline, pipeline name, webhook URL, env): an S3-source pipeline waiting at an
    approval, with a GITHUB_HMAC webhook on pushes to refs/heads/{Branch} put by the CLI."""
    env = local_aws.credentials.environment(local_aws.endpoint_url)
    cp = session.client("codepipeline")
    bucket = f"{app_name}-hook"
    put_source_object(session.client("s3"), bucket, {"a.txt": "a"})
    name = f"{app_name}-hooked"
    cp.create_pipeline(pipeline=pipeline_declaration(
        name, pipeline_role(session, app_name), bucket, s3_source_stage(bucket, Branch="main"),
        approval_stage()))
    webhook = aws_cli(env, "codepipeline", "put-webhook", "--webhook", json.dumps({
        "name": f"{name}-push", "targetPipeline": name, "targetAction": "Source",
        "filters": [{"jsonPath": "$.ref", "matchEquals": "refs/heads/{Branch}"},
                    {"jsonPath": "$.repository.full_name", "matchEquals": "acme/app"}],
        "authentication": "GITHUB_HMAC",
        "authenticationConfiguration": {"SecretToken": SECRET}}))["webhook"]
    return cp, name, webhook["url"], env


def _push(url: str, event: dict, secret: str = SECRET) -> tuple[int, dict]:
    body = json.dumps(event).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", "X-GitHub-Event": "push",
        "X-Hub-Signature-256": signature})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def _runs(cp, name) -> list[dict]:
    return cp.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"]


def _event(ref="refs/heads/main", repo="acme/app"):
    return {"ref": ref, "after": "9fceb02d0ae598e95dc970b74767f19372d61af8",
            "repository": {"full_name": repo}, "pusher": {"name": "octocat"}}


def test_a_matching_signed_push_starts_the_pipeline(hooked):
    cp, name, url, _env = hooked
    before = {r["pipelineExecutionId"] for r in _runs(cp, name)}
    status, answer = _push(url, _event())
    assert status == 200 and answer["started"] is True
    run = cp.get_pipeline_execution(pipelineName=name,
                                    pipelineExecutionId=answer["pipelineExecutionId"])
    assert answer["pipelineExecutionId"] not in before
    assert run["pipelineExecution"]["trigger"]["triggerType"] == "Webhook"
    assert run["pipelineExecution"]["trigger"]["triggerDetail"].endswith(f"webhook:{name}-push")


def test_pushes_that_do_not_match_or_are_not_signed_start_nothing(hooked):
    cp, name, url, _env = hooked
    before = len(_runs(cp, name))
    status, answer = _push(url, _event(ref="refs/heads/feature"))
    assert status == 200 and answer == {"started": False, "unmatchedFilters": ["$.ref"]}
    status, answer = _push(url, _event(repo="other/app"))
    assert answer["started"] is False
    status, answer = _push(url, _event(), secret="wrong")
    assert status == 403 and answer["__type"] == "AccessDeniedException"
    status, _ = _push(url.replace("t=", "t=x"), _event())
    assert status == 404
    assert len(_runs(cp, name)) == before


def test_list_register_and_delete(hooked):
    cp, name, url, env = hooked
    listed = aws_cli(env, "codepipeline", "list-webhooks")["webhooks"]
    mine = next(w for w in listed if w["definition"]["name"] == f"{name}-push")
    assert mine["url"] == url and mine["arn"].endswith(f":webhook:{name}-push")
    cp.register_webhook_with_third_party(webhookName=f"{name}-push")
    cp.deregister_webhook_with_third_party(webhookName=f"{name}-push")
    with pytest.raises(ClientError) as caught:
        cp.register_webhook_with_third_party(webhookName="no-such-hook")
    assert caught.value.response["Error"]["Code"] == "WebhookNotFoundException"
    aws_cli(env, "codepipeline", "delete-webhook", "--name", f"{name}-push")
    assert f"{name}-push" not in [w["definition"]["name"] for w in
                                  cp.list_webhooks()["webhooks"]]
    assert _push(url, _event())[0] == 404


def test_bad_definitions_are_refused(hooked):
    cp, name, _url, _env = hooked
    base = {"name": "bad", "targetPipeline": name, "targetAction": "Source",
            "filters": [{"jsonPath": "$.ref"}], "authentication": "GITHUB_HMAC",
            "authenticationConfiguration": {}}
    cases = [(base, "InvalidWebhookAuthenticationParametersException"),
             ({**base, "authentication": "IP",
               "authenticationConfiguration": {"AllowedIPRange": "nope"}},
              "InvalidWebhookAuthenticationParametersException"),
             ({**base, "authentication": "UNAUTHENTICATED",
               "filters": [{"jsonPath": "ref"}]}, "InvalidWebhookFilterPatternException"),
             ({**base, "authentication": "UNAUTHENTICATED", "targetPipeline": "nope"},
              "PipelineNotFoundException")]
    for webhook, code in cases:
        with pytest.raises(ClientError) as caught:
            cp.put_webhook(webhook=webhook)
        assert caught.value.response["Error"]["Code"] == code, webhook


def test_a_push_for_a_deleted_pipeline_is_an_aws_error(hooked):
    cp, name, url, _env = hooked
    cp.delete_pipeline(name=name)
    status, answer = _push(url, _event())
    assert status == 400 and answer["__type"] == "PipelineNotFoundException"
