"""The pipeline's plan against the local AWS: create, converge with zero mutating calls, drift,
untagged look-alikes refused."""

import json

import pytest
from botocore.exceptions import ClientError
from helpers import assert_converged

from runbook_lib.core.errors import NotOwnedError, StepError
from runbook_lib.core.params import Params
from runbook_lib.setup import pipeline

# -- the plan against the local AWS -------------------------------------------------------------


def _pipeline_role(session, names):
    """The role the IAM step creates; moto checks it exists and trusts CodePipeline."""
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "codepipeline.amazonaws.com"},
        "Action": "sts:AssumeRole"}]}
    session.client("iam").create_role(RoleName=names.codepipeline_role,
                                      AssumeRolePolicyDocument=json.dumps(trust))


def _apply(session, params, names):
    return pipeline.plan_pipeline(session, params, names).apply()


@pytest.fixture
def with_emails(app_name):
    return Params(app_name=app_name, approval_emails=("ops@example.com", "lead@example.com"))


def test_create_then_converged_rerun_makes_no_mutating_call(session, with_emails):
    params, names = with_emails, with_emails.names()
    _pipeline_role(session, names)
    first = pipeline.plan_pipeline(session, params, names)
    assert [c.action for c in first.changes] == ["create"] * 4
    first.apply()
    got = session.client("codepipeline").get_pipeline(name=names.pipeline)["pipeline"]
    assert got["pipelineType"] == "V2"
    assert got["triggers"] == pipeline.pipeline_definition(params, names)["triggers"]
    session.recorder.reset()
    again = _apply(session, params, names)
    assert session.recorder.mutating_count == 0, session.recorder.summary()
    assert not any(c.changes_anything for c in again.changes)
    assert "no changes" in again.summary()


def test_subscriptions_are_not_duplicated(session, with_emails):
    params, names = with_emails, with_emails.names()
    _pipeline_role(session, names)
    _apply(session, params, names)
    _apply(session, params.replace(approval_emails=("ops@example.com", "new@example.com")), names)
    sns = session.client("sns")
    endpoints = [s["Endpoint"] for page in sns.get_paginator("list_subscriptions_by_topic")
                 .paginate(TopicArn=names.topic_arn(names.approval_topic))
                 for s in page["Subscriptions"]]
    assert sorted(endpoints) == ["lead@example.com", "new@example.com", "ops@example.com"]


def test_a_stage_changed_by_hand_is_updated_back(session, params, names):
    _pipeline_role(session, names)
    _apply(session, params, names)
    cp = session.client("codepipeline")
    edited = cp.get_pipeline(name=names.pipeline)["pipeline"]
    edited["stages"][2]["actions"][0]["configuration"]["BucketName"] = "somewhere-else"
    del edited["stages"][4]["onFailure"]
    cp.update_pipeline(pipeline=edited)
    drift = pipeline.plan_pipeline(session, params, names)
    (change,) = [c for c in drift.changes if c.changes_anything]
    assert change.action == "update"
    assert any("BucketName: somewhere-else ->" in line for line in change.diff)
    assert any(line.startswith("stages[4].onFailure: (absent) ->") for line in change.diff)
    drift.apply()
    assert_converged(session, lambda: pipeline.plan_pipeline(session, params, names))


@pytest.mark.parametrize("case, make_lookalike", [
    ("untagged pipeline", lambda s, n, decl: s.client("codepipeline").create_pipeline(
        pipeline=decl)),
    ("pipeline of another app", lambda s, n, decl: s.client("codepipeline").create_pipeline(
        pipeline=decl, tags=[{"key": "runbook:managed-by", "value": "pipeline-runbooks"},
                             {"key": "runbook:app", "value": "someone-else"}])),
    ("untagged approval topic", lambda s, n, decl: s.client("sns").create_topic(
        Name=n.approval_topic)),
])
def test_untagged_lookalikes_are_refused(session, params, names, case, make_lookalike):
    _pipeline_role(session, names)
    make_lookalike(session, names, pipeline.pipeline_definition(params, names))
    session.recorder.reset()
    with pytest.raises(NotOwnedError):
        pipeline.plan_pipeline(session, params, names)
    assert session.recorder.mutating_count == 0, case


def test_missing_role_names_the_iam_step(session, params, names):
    plan = pipeline.plan_pipeline(session, params, names)
    with pytest.raises(StepError, match="03_iam_roles") as err:
        plan.apply()
    cause = err.value.__cause__
    assert isinstance(cause, ClientError)
    assert cause.response["Error"]["Code"] == "InvalidStructureException"


def test_describe_shows_planned_then_deployed(session, params, names):
    planned = pipeline.describe_pipeline(session, params, names)
    assert (planned.deployed, planned.version) == (False, None)
    _pipeline_role(session, names)
    _apply(session, params, names)
    deployed = pipeline.describe_pipeline(session, params, names)
    assert (deployed.deployed, deployed.version) == (True, 1)
    assert deployed.stages == planned.stages
    assert deployed.trigger_branches == ("main",)
