"""Failure notifications on the local AWS: create, converge, refuse look-alikes, prove the rule."""

import json

import pytest

from runbook_lib.core import tags
from runbook_lib.core.errors import NotOwnedError
from runbook_lib.setup import monitoring, rule_proof


@pytest.fixture
def watched(params):
    return params.replace(failure_emails=("ops@example.com", "dev@example.com"))


def _apply(session, params, names):
    return monitoring.plan_monitoring(session, params, names).apply()


def _subscribed(session, names):
    arn = names.topic_arn(names.failure_topic)
    pages = session.client("sns").get_paginator("list_subscriptions_by_topic").paginate(
        TopicArn=arn)
    return sorted(s["Endpoint"] for page in pages for s in page["Subscriptions"])


def test_creates_tagged_topic_policy_subscriptions_rule_and_target(session, watched, names):
    plan = _apply(session, watched, names)
    assert [c.action for c in plan.changes] == ["create"] * 6

    sns, events = session.client("sns"), session.client("events")
    topic_arn = names.topic_arn(names.failure_topic)
    topic_tags = tags.from_tag_list(sns.list_tags_for_resource(ResourceArn=topic_arn)["Tags"])
    assert tags.is_owned(topic_tags, watched.app_name)
    policy = json.loads(sns.get_topic_attributes(TopicArn=topic_arn)["Attributes"]["Policy"])
    events_statement = next(s for s in policy["Statement"]
                            if s["Principal"] == {"Service": "events.amazonaws.com"})
    assert events_statement["Condition"] == {
        "ArnEquals": {"aws:SourceArn": names.failure_rule_arn}}
    assert _subscribed(session, names) == ["dev@example.com", "ops@example.com"]

    rule = events.describe_rule(Name=names.failure_rule)
    assert json.loads(rule["EventPattern"]) == {
        "source": ["aws.codepipeline"],
        "detail-type": ["CodePipeline Pipeline Execution State Change",
                        "CodePipeline Stage Execution State Change"],
        "detail": {"pipeline": [names.pipeline], "state": ["FAILED"]},
    }
    rule_tags = events.list_tags_for_resource(ResourceARN=rule["Arn"])["Tags"]
    assert tags.is_owned(tags.from_tag_list(rule_tags), watched.app_name)
    (target,) = events.list_targets_by_rule(Rule=names.failure_rule)["Targets"]
    assert target["Arn"] == topic_arn and "RoleArn" not in target
    template = target["InputTransformer"]["InputTemplate"]
    for placeholder in ("<pipeline>", "<stage>", "<execution>", "<state>", "<time>"):
        assert placeholder in template
    assert "console.aws.amazon.com/codesuite/codepipeline" in template


def test_converged_rerun_makes_no_mutating_call(session, watched, names):
    _apply(session, watched, names)
    session.recorder.reset()
    plan = _apply(session, watched, names)
    assert session.recorder.mutating_count == 0, session.recorder.summary()
    assert "no changes" in plan.summary()


@pytest.mark.parametrize(
    "case, emails, added",
    [
        ("same address twice", ("ops@example.com", "ops@example.com"), []),
        ("same address in other case", ("ops@example.com", "OPS@example.com"), []),
        ("one new address", ("ops@example.com", "new@example.com"), ["new@example.com"]),
    ],
)
def test_subscriptions_are_never_duplicated(session, params, names, case, emails, added):
    _apply(session, params.replace(failure_emails=("ops@example.com",)), names)
    plan = monitoring.plan_monitoring(session, params.replace(failure_emails=emails), names)
    creates = [c.resource for c in plan.changes if c.action == "create"]
    assert creates == [f"e-mail subscription {a}" for a in added], case
    plan.apply()
    assert _subscribed(session, names) == sorted(["ops@example.com", *added]), case


def test_drifted_rule_and_policy_are_updated(session, params, names):
    _apply(session, params, names)
    wrong = {"source": ["aws.codepipeline"], "detail": {"state": ["SUCCEEDED"]}}
    session.client("events").put_rule(Name=names.failure_rule, EventPattern=json.dumps(wrong))
    session.client("sns").set_topic_attributes(
        TopicArn=names.topic_arn(names.failure_topic), AttributeName="Policy",
        AttributeValue=json.dumps({"Version": "2012-10-17", "Statement": []}))
    plan = monitoring.plan_monitoring(session, params, names)
    updates = {c.resource: c.diff for c in plan.changes if c.action == "update"}
    assert set(updates) == {f"EventBridge rule {names.failure_rule}",
                            f"topic policy of {names.failure_topic}"}
    assert any("EventPattern.detail.state" in line
               for line in updates[f"EventBridge rule {names.failure_rule}"])
    plan.apply()
    assert "no changes" in monitoring.plan_monitoring(session, params, names).summary()


def _untagged_topic(session, names, app_name):
    session.client("sns").create_topic(Name=names.failure_topic)


def _other_apps_topic(session, names, app_name):
    session.client("sns").create_topic(
        Name=names.failure_topic, Tags=tags.as_tag_list(tags.ownership_tags("someone-else")))


def _untagged_rule(session, names, app_name):
    session.client("events").put_rule(Name=names.failure_rule, ScheduleExpression="rate(1 day)")


@pytest.mark.parametrize(
    "case, make_lookalike",
    [
        ("topic without tags", _untagged_topic),
        ("topic of another app", _other_apps_topic),
        ("rule without tags", _untagged_rule),
    ],
)
def test_untagged_lookalike_is_refused_and_untouched(session, params, names, case,
                                                     make_lookalike):
    make_lookalike(session, names, params.app_name)
    session.recorder.reset()
    with pytest.raises(NotOwnedError):
        monitoring.plan_monitoring(session, params, names)
    assert session.recorder.mutating_count == 0, case


def test_rule_proof_passes_for_the_planned_and_the_deployed_rule(session, params, names):
    planned = rule_proof.prove_rule(session, params, names)
    assert {p.pattern_from for p in planned} == {"plan"}
    _apply(session, params, names)
    deployed = rule_proof.prove_rule(session, params, names)
    assert {p.pattern_from for p in deployed} == {"rule"}
    for proofs in (planned, deployed):
        assert all(p.ok for p in proofs), [p.row() for p in proofs]
        assert sorted(p.expected for p in proofs) == [False, False, True, True]


@pytest.mark.parametrize(
    "case, pattern, wrong_cases",
    [
        ("too wide: any state", {"source": ["aws.codepipeline"]},
         {"pipeline SUCCEEDED", "other pipeline"}),
        ("too narrow: pipeline events only",
         {"source": ["aws.codepipeline"],
          "detail-type": ["CodePipeline Pipeline Execution State Change"],
          "detail": {"state": ["FAILED"]}},
         {"stage FAILED", "other pipeline"}),
    ],
)
def test_rule_proof_catches_a_wrong_pattern(session, params, names, case, pattern,
                                            wrong_cases):
    _apply(session, params, names)
    session.client("events").put_rule(Name=names.failure_rule, EventPattern=json.dumps(pattern))
    proofs = rule_proof.prove_rule(session, params, names)
    wrong = {p.case.split(" (")[0] for p in proofs if not p.ok}
    assert wrong == wrong_cases, case
