"""Failure notifications: an EventBridge rule on FAILED pipeline and stage executions, to SNS.

A pipeline nobody watches fails silently. The rule matches only this app's pipeline and only the
FAILED state, and sends a short readable message (not the raw event) to an SNS topic that the
operators' e-mail addresses subscribe to. The topic policy lets EventBridge publish only on behalf
of this one rule (``aws:SourceArn``), so no IAM role is needed for the SNS target.

:mod:`.rule_proof` asks EventBridge itself (``TestEventPattern``) whether the rule's pattern
matches sample events in AWS's exact shape, so the operator sees the rule work before a real
failure.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from runbook_lib.core import tags
from runbook_lib.core.errors import StepError
from runbook_lib.core.params import Params, ResourceNames
from runbook_lib.core.plan import Change, Plan, converge, create, unchanged
from runbook_lib.core.session import AwsSession

EVENT_SOURCE = "aws.codepipeline"
PIPELINE_EVENT = "CodePipeline Pipeline Execution State Change"
STAGE_EVENT = "CodePipeline Stage Execution State Change"
EVENT_KINDS = {"pipeline": PIPELINE_EVENT, "stage": STAGE_EVENT}
TARGET_ID = "failure-topic"
EVENTS_STATEMENT_SID = "AllowFailureRuleToPublish"
_TOPIC_MISSING = ("NotFound", "NotFoundException")


# -- desired state --------------------------------------------------------------------------------


def failure_pattern(names: ResourceNames) -> dict[str, Any]:
    """FAILED executions and FAILED stages of this app's pipeline, nothing else."""
    return {
        "source": [EVENT_SOURCE],
        "detail-type": [PIPELINE_EVENT, STAGE_EVENT],
        "detail": {"pipeline": [names.pipeline], "state": ["FAILED"]},
    }


def topic_policy(names: ResourceNames) -> dict[str, Any]:
    """The default owner statement, plus publish for EventBridge on behalf of the rule only."""
    topic_arn = names.topic_arn(names.failure_topic)
    owner = {
        "Sid": "__default_statement_ID",
        "Effect": "Allow",
        "Principal": {"AWS": "*"},
        "Action": [
            "SNS:GetTopicAttributes", "SNS:SetTopicAttributes", "SNS:AddPermission",
            "SNS:RemovePermission", "SNS:DeleteTopic", "SNS:Subscribe",
            "SNS:ListSubscriptionsByTopic", "SNS:Publish",
        ],
        "Resource": topic_arn,
        "Condition": {"StringEquals": {"AWS:SourceOwner": names.account_id}},
    }
    events = {
        "Sid": EVENTS_STATEMENT_SID,
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": "sns:Publish",
        "Resource": topic_arn,
        "Condition": {"ArnEquals": {"aws:SourceArn": names.failure_rule_arn}},
    }
    return {"Version": "2012-10-17", "Id": "__default_policy_ID", "Statement": [owner, events]}


def failure_target(names: ResourceNames) -> dict[str, Any]:
    """The SNS target with a message people can read in an e-mail client.

    Each template line is a quoted string, EventBridge's form for plain-text messages. A
    pipeline-level event has no ``detail.stage``, so its stage line stays empty.
    """
    console = (f"https://{names.region}.console.aws.amazon.com/codesuite/codepipeline/pipelines/"
               f"<pipeline>/executions/<execution>/timeline?region={names.region}")
    lines = [
        "CodePipeline failure: <pipeline>",
        "What: <detailtype>",
        "Stage: <stage>",
        "Execution: <execution>",
        "State: <state>",
        "Time: <time>",
        f"Console: {console}",
    ]
    return {
        "Id": TARGET_ID,
        "Arn": names.topic_arn(names.failure_topic),
        "InputTransformer": {
            "InputPathsMap": {
                "pipeline": "$.detail.pipeline",
                "stage": "$.detail.stage",
                "execution": "$.detail.execution-id",
                "state": "$.detail.state",
                "time": "$.time",
                "detailtype": "$.detail-type",
            },
            "InputTemplate": "\n".join(json.dumps(line) for line in lines),
        },
    }


def _rule_definition(names: ResourceNames) -> dict[str, Any]:
    return {
        "EventPattern": failure_pattern(names),
        "State": "ENABLED",
        "Description": f"FAILED executions and stages of {names.pipeline}, to SNS",
    }


# -- plan ---------------------------------------------------------------------------------------


def plan_monitoring(session: AwsSession, params: Params, names: ResourceNames) -> Plan:
    """Topic, topic policy, e-mail subscriptions, rule and its target: create or update each.

    Raises ``NotOwnedError`` when a topic or rule of the same name exists without this app's
    ownership tags; nothing is changed then.
    """
    plan = Plan("monitoring")
    topic_attrs = _topic_attributes(session, names)
    plan.add(_topic_change(session, params, names, topic_attrs))
    plan.add(_policy_change(session, names, topic_attrs))
    for change in _subscription_changes(session, params, names, topic_attrs is not None):
        plan.add(change)
    rule = describe_failure_rule(session, names)
    plan.add(_rule_change(session, params, names, rule))
    plan.add(_target_change(session, names, rule is not None))
    return plan


def _topic_change(session: AwsSession, params: Params, names: ResourceNames,
                  attrs: dict[str, str] | None) -> Change:
    sns = session.client("sns")
    resource = f"SNS topic {names.failure_topic}"
    if attrs is not None:
        arn = names.topic_arn(names.failure_topic)
        found = _guard(f"list tags of {arn}", sns.list_tags_for_resource, ResourceArn=arn)
        tags.require_owned(resource, tags.from_tag_list(found["Tags"]), params.app_name)
        return unchanged(resource)
    tag_list = tags.as_tag_list(tags.ownership_tags(params.app_name))
    return create(resource, lambda: _guard(f"create topic {names.failure_topic}",
                                           sns.create_topic, Name=names.failure_topic,
                                           Tags=tag_list),
                  ["tagged with the suite's ownership tags"])


def _policy_change(session: AwsSession, names: ResourceNames,
                   attrs: dict[str, str] | None) -> Change:
    sns = session.client("sns")
    arn = names.topic_arn(names.failure_topic)
    desired = topic_policy(names)
    current = None if attrs is None else json.loads(attrs.get("Policy") or "{}")

    def put() -> None:
        _guard(f"set policy of {arn}", sns.set_topic_attributes, TopicArn=arn,
               AttributeName="Policy", AttributeValue=json.dumps(desired))

    details = [f"events.amazonaws.com may publish only for {names.failure_rule_arn}"]
    return converge(f"topic policy of {names.failure_topic}", current, desired, put, put,
                    details)


def _subscription_changes(session: AwsSession, params: Params, names: ResourceNames,
                          topic_exists: bool) -> list[Change]:
    sns = session.client("sns")
    arn = names.topic_arn(names.failure_topic)
    existing = _email_subscriptions(session, arn) if topic_exists else {}
    changes = []
    for email in _unique_emails(params.failure_emails):
        resource = f"e-mail subscription {email}"
        if email.lower() in existing:
            status = existing[email.lower()]
            changes.append(Change(resource, "unchanged", [status]))
            continue
        changes.append(create(resource, _subscriber(sns, arn, email),
                              ["AWS e-mails a confirmation link; delivery starts once clicked"]))
    return changes


def _unique_emails(emails: tuple[str, ...]) -> list[str]:
    """Each address once: the same mailbox typed in another case is not subscribed twice."""
    seen: dict[str, str] = {}
    for email in emails:
        seen.setdefault(email.lower(), email)
    return list(seen.values())


def _subscriber(sns, topic_arn: str, email: str) -> Callable[[], Any]:
    return lambda: _guard(f"subscribe {email} to {topic_arn}", sns.subscribe,
                          TopicArn=topic_arn, Protocol="email", Endpoint=email)


def _email_subscriptions(session: AwsSession, topic_arn: str) -> dict[str, str]:
    """Lower-cased e-mail endpoint -> "confirmed" or "pending confirmation"."""
    paginator = session.client("sns").get_paginator("list_subscriptions_by_topic")
    found: dict[str, str] = {}
    try:
        for page in paginator.paginate(TopicArn=topic_arn):
            for sub in page["Subscriptions"]:
                if sub["Protocol"] == "email":
                    pending = not sub["SubscriptionArn"].startswith("arn:")
                    found[sub["Endpoint"].lower()] = ("pending confirmation" if pending
                                                      else "confirmed")
    except ClientError as err:
        raise StepError(f"list subscriptions of {topic_arn}: {err}") from err
    return found


def _rule_change(session: AwsSession, params: Params, names: ResourceNames,
                 rule: dict[str, Any] | None) -> Change:
    return event_rule_change(session, params.app_name, names.failure_rule,
                             _rule_definition(names), rule)


def event_rule_change(session: AwsSession, app_name: str, rule_name: str,
                      desired: dict[str, Any], rule: dict[str, Any] | None) -> Change:
    """Create-or-update one EventBridge rule on the default bus (``desired``: its
    EventPattern, State and Description), refusing a rule of that name the app does not own.
    The failure rule and the event archive's rule are both planned here."""
    events = session.client("events")
    resource = f"EventBridge rule {rule_name}"
    tag_list = tags.as_tag_list(tags.ownership_tags(app_name))

    def put(with_tags: bool) -> Callable[[], Any]:
        extra = {"Tags": tag_list} if with_tags else {}
        return lambda: _guard(f"put rule {rule_name}", events.put_rule,
                              Name=rule_name, EventBusName="default",
                              EventPattern=json.dumps(desired["EventPattern"]),
                              State=desired["State"], Description=desired["Description"],
                              **extra)

    current = None
    if rule is not None:
        found = _guard(f"list tags of {rule['Arn']}", events.list_tags_for_resource,
                       ResourceARN=rule["Arn"])
        tags.require_owned(resource, tags.from_tag_list(found["Tags"]), app_name)
        current = {**rule, "EventPattern": json.loads(rule.get("EventPattern") or "{}")}
    details = [f"pattern: {json.dumps(desired['EventPattern'])}"]
    return converge(resource, current, desired, put(True), put(False), details)


def _target_change(session: AwsSession, names: ResourceNames, rule_exists: bool) -> Change:
    events = session.client("events")
    desired = failure_target(names)
    current = _current_target(session, names) if rule_exists else None

    def put() -> None:
        result = _guard(f"put target of {names.failure_rule}", events.put_targets,
                        Rule=names.failure_rule, EventBusName="default", Targets=[desired])
        if result.get("FailedEntryCount"):
            raise StepError(f"put target of {names.failure_rule}: {result['FailedEntries']}")

    return converge(f"target {TARGET_ID} of rule {names.failure_rule}", current, desired, put,
                    put, [f"SNS topic {names.failure_topic}, readable message, no IAM role"])


def _current_target(session: AwsSession, names: ResourceNames) -> dict[str, Any] | None:
    paginator = session.client("events").get_paginator("list_targets_by_rule")
    try:
        for page in paginator.paginate(Rule=names.failure_rule, EventBusName="default"):
            for target in page["Targets"]:
                if target["Id"] == TARGET_ID:
                    return target
    except ClientError as err:
        raise StepError(f"list targets of {names.failure_rule}: {err}") from err
    return None


# -- reads ----------------------------------------------------------------------------------------


def _topic_attributes(session: AwsSession, names: ResourceNames) -> dict[str, str] | None:
    arn = names.topic_arn(names.failure_topic)
    try:
        return session.client("sns").get_topic_attributes(TopicArn=arn)["Attributes"]
    except ClientError as err:
        if err.response["Error"]["Code"] in _TOPIC_MISSING:
            return None
        raise StepError(f"get topic attributes {arn}: {err}") from err


def describe_failure_rule(session: AwsSession, names: ResourceNames) -> dict[str, Any] | None:
    """The failure rule as EventBridge describes it; None when it does not exist."""
    try:
        return session.client("events").describe_rule(Name=names.failure_rule,
                                                      EventBusName="default")
    except ClientError as err:
        if err.response["Error"]["Code"] == "ResourceNotFoundException":
            return None
        raise StepError(f"describe rule {names.failure_rule}: {err}") from err


def _guard(what: str, call: Callable[..., Any], **kwargs: Any) -> Any:
    """Run one AWS call; a failure names the call and keeps its cause."""
    try:
        return call(**kwargs)
    except ClientError as err:
        raise StepError(f"{what}: {err}") from err
