"""PutEvents on the local AWS: EventBridge's validation, rule matching and target delivery."""

import json
from datetime import UTC, datetime

import pytest
from botocore.exceptions import ClientError
from helpers import receive_messages

from runbook_lib.local.events.bus import EventBus
from runbook_lib.setup import monitoring, rule_proof

DELIVERY_TIMEOUT = 20


@pytest.fixture
def bus(local_aws):
    return local_aws.app.context.peers.get(EventBus)


def _queue(session, name):
    sqs = session.client("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"]
    return url, arn


def _receive(session, url, timeout=DELIVERY_TIMEOUT):
    """Bodies of the messages in the queue, polling until one arrives or ``timeout`` passes."""
    return [m["Body"] for m in receive_messages(session.client("sqs"), url, timeout=timeout)]


def _assert_empty(session, bus, url):
    assert bus.wait_idle(DELIVERY_TIMEOUT), "event delivery did not finish"
    got = session.client("sqs").receive_message(QueueUrl=url, WaitTimeSeconds=0)
    assert not got.get("Messages"), got


def _rule_to_queue(session, rule, source, target, bus_name="default", state="ENABLED"):
    events = session.client("events")
    events.put_rule(Name=rule, EventBusName=bus_name, State=state,
                    EventPattern=json.dumps({"source": [source]}))
    answer = events.put_targets(Rule=rule, EventBusName=bus_name, Targets=[target])
    assert answer["FailedEntryCount"] == 0, answer


def _entry(source, detail=None, **extra):
    entry = {"Source": source, "DetailType": "Test Event",
             "Detail": json.dumps(detail or {"state": "FAILED"})}
    entry.update(extra)
    return entry


# -- the suite's monitoring rule ------------------------------------------------------------------


def _put_sample(local_aws, params, names, state):
    sample = rule_proof.sample_event(params, names, "pipeline", state)
    when = datetime.strptime(sample["time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    answer = local_aws.app.context.aws.client("events").put_events(Entries=[{
        "Source": sample["source"], "DetailType": sample["detail-type"],
        "Detail": json.dumps(sample["detail"]), "Resources": sample["resources"], "Time": when,
    }])
    assert answer["FailedEntryCount"] == 0, answer
    return sample, answer["Entries"][0]["EventId"]


def test_failure_rule_delivers_readable_message_to_topic_subscribers(local_aws, session, bus,
                                                                     params, names):
    monitoring.plan_monitoring(session, params, names).apply()
    url, queue_arn = _queue(session, f"{params.app_name}-failures")
    session.client("sns").subscribe(TopicArn=names.topic_arn(names.failure_topic),
                                    Protocol="sqs", Endpoint=queue_arn)

    sample, _ = _put_sample(local_aws, params, names, "FAILED")

    (body,) = _receive(session, url)
    message = json.loads(body)["Message"]  # the SNS envelope moto delivers to SQS
    detail = sample["detail"]
    console = (f"https://{names.region}.console.aws.amazon.com/codesuite/codepipeline/pipelines/"
               f"{names.pipeline}/executions/{detail['execution-id']}/timeline"
               f"?region={names.region}")
    assert message.splitlines() == [
        f'"CodePipeline failure: {names.pipeline}"',
        f'"What: {monitoring.PIPELINE_EVENT}"',
        '"Stage: "',
        f'"Execution: {detail["execution-id"]}"',
        '"State: FAILED"',
        f'"Time: {sample["time"]}"',
        f'"Console: {console}"',
    ]

    _, event_id = _put_sample(local_aws, params, names, "SUCCEEDED")
    _assert_empty(session, bus, url)
    # This app's rule left the success alone (the bus is shared: another test's rule, made to
    # match more, may take the event, and that is no concern of this one's).
    assert not [d for d in bus.recent_deliveries()
                if d.event_id == event_id and d.rule == names.failure_rule]


# -- target input -------------------------------------------------------------------------------

DETAIL = {"state": "FAILED", "count": 3, "nested": {"a": 1}}


@pytest.mark.parametrize(
    "case, target_input, check",
    [
        ("whole event", {},
         lambda body, ids: json.loads(body)["detail"] == DETAIL
         and json.loads(body)["id"] == ids["event"]),
        ("constant Input", {"Input": '{"fixed": true}'},
         lambda body, ids: body == '{"fixed": true}'),
        ("InputPath object", {"InputPath": "$.detail"},
         lambda body, ids: json.loads(body) == DETAIL),
        ("InputPath string", {"InputPath": "$.detail.state"},
         lambda body, ids: body == '"FAILED"'),
        ("InputPath array element", {"InputPath": "$.resources[0]"},
         lambda body, ids: body == '"arn:aws:test:::thing"'),
        ("transformer bare values",
         {"InputTransformer": {
             "InputPathsMap": {"s": "$.detail.state", "n": "$.detail.count",
                               "o": "$.detail.nested"},
             "InputTemplate": '{"state": <s>, "count": <n>, "nested": <o>}'}},
         lambda body, ids: json.loads(body) == {"state": "FAILED", "count": 3,
                                                "nested": {"a": 1}}),
        ("transformer inside a string",
         {"InputTransformer": {
             "InputPathsMap": {"s": "$.detail.state", "o": "$.detail.nested"},
             "InputTemplate": '"state <s> with <o>"'}},
         lambda body, ids: body == '"state FAILED with {a:1}"'),
        ("transformer missing path",
         {"InputTransformer": {
             "InputPathsMap": {"m": "$.detail.nope"},
             "InputTemplate": '{"value": <m>, "text": "x<m>y"}'}},
         lambda body, ids: json.loads(body) == {"value": None, "text": "xy"}),
        ("transformer predefined variables",
         {"InputTransformer": {"InputTemplate": '{"rule": "<aws.events.rule-name>", '
                                                '"event": <aws.events.event.json>}'}},
         lambda body, ids: json.loads(body)["rule"] == ids["rule"]
         and json.loads(body)["event"]["id"] == ids["event"]),
    ],
)
def test_target_input_is_shaped_like_eventbridge(session, app_name, case, target_input, check):
    url, queue_arn = _queue(session, app_name)
    source = f"test.{app_name}"
    _rule_to_queue(session, app_name, source, {"Id": "q", "Arn": queue_arn, **target_input})

    answer = session.client("events").put_events(
        Entries=[_entry(source, DETAIL, Resources=["arn:aws:test:::thing"])])
    assert answer["FailedEntryCount"] == 0, answer

    (body,) = _receive(session, url)
    assert check(body, {"event": answer["Entries"][0]["EventId"], "rule": app_name}), (case, body)


# -- which rules see an event -------------------------------------------------------------------


def test_disabled_rule_delivers_nothing(session, bus, app_name):
    url, queue_arn = _queue(session, app_name)
    source = f"test.{app_name}"
    _rule_to_queue(session, app_name, source, {"Id": "q", "Arn": queue_arn}, state="DISABLED")
    answer = session.client("events").put_events(Entries=[_entry(source)])
    assert answer["FailedEntryCount"] == 0
    _assert_empty(session, bus, url)


def test_event_on_another_bus_reaches_only_that_bus_rules(session, bus, app_name):
    events = session.client("events")
    events.create_event_bus(Name=app_name)
    source = f"test.{app_name}"
    default_url, default_arn = _queue(session, f"{app_name}-default")
    custom_url, custom_arn = _queue(session, f"{app_name}-custom")
    _rule_to_queue(session, f"{app_name}-d", source, {"Id": "q", "Arn": default_arn})
    _rule_to_queue(session, f"{app_name}-c", source, {"Id": "q", "Arn": custom_arn},
                   bus_name=app_name)

    answer = events.put_events(Entries=[_entry(source, EventBusName=app_name)])
    assert answer["FailedEntryCount"] == 0, answer

    (body,) = _receive(session, custom_url)
    assert json.loads(body)["source"] == source
    _assert_empty(session, bus, default_url)


def test_routes_are_read_once_until_a_rule_target_or_bus_changes(session, bus, app_name,
                                                                  monkeypatch):
    """Each change to rules, targets or state reaches the very next event; between changes
    the bus's rules and targets are read from moto once, not for every event."""
    events = session.client("events")
    source = f"test.{app_name}"
    first_url, first_arn = _queue(session, f"{app_name}-1")
    second_url, second_arn = _queue(session, f"{app_name}-2")
    _rule_to_queue(session, f"{app_name}-1", source, {"Id": "q", "Arn": first_arn})
    reads = []
    read_routes = bus._read_routes
    monkeypatch.setattr(bus, "_read_routes", lambda *a: reads.append(a) or read_routes(*a))

    def put() -> None:
        assert events.put_events(Entries=[_entry(source)])["FailedEntryCount"] == 0
        assert bus.wait_idle(DELIVERY_TIMEOUT), "event delivery did not finish"

    def received(url: str, count: int = 1) -> list[dict]:
        return receive_messages(session.client("sqs"), url, lambda got: len(got) >= count,
                                timeout=DELIVERY_TIMEOUT)

    for _ in range(3):
        put()
    assert len(received(first_url, 3)) == 3
    assert len(reads) == 1

    _rule_to_queue(session, f"{app_name}-2", source, {"Id": "q", "Arn": second_arn})
    put()  # the new rule and its target see the next event
    assert received(second_url) and received(first_url)
    events.disable_rule(Name=f"{app_name}-1")
    put()  # a disabled rule no longer does
    assert received(second_url)
    _assert_empty(session, bus, first_url)
    events.remove_targets(Rule=f"{app_name}-2", Ids=["q"])
    put()  # nor a rule without its target
    _assert_empty(session, bus, second_url)
    assert len(reads) == 4


def test_unsupported_target_is_recorded_and_others_still_delivered(session, bus, app_name):
    url, queue_arn = _queue(session, app_name)
    source = f"test.{app_name}"
    function = f"arn:aws:lambda:us-east-1:123456789012:function:{app_name}"
    _rule_to_queue(session, app_name, source, {"Id": "fn", "Arn": function})
    session.client("events").put_targets(Rule=app_name,
                                         Targets=[{"Id": "q", "Arn": queue_arn}])

    answer = session.client("events").put_events(Entries=[_entry(source)])
    event_id = answer["Entries"][0]["EventId"]

    assert _receive(session, url)
    assert bus.wait_idle(DELIVERY_TIMEOUT)
    statuses = {d.target_id: d.status for d in bus.recent_deliveries() if d.event_id == event_id}
    assert statuses == {"fn": "undeliverable", "q": "delivered"}


# -- validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "case, entry, code",
    [
        ("no source", {"DetailType": "x", "Detail": "{}"}, "InvalidArgument"),
        ("no detail type", {"Source": "my.app", "Detail": "{}"}, "InvalidArgument"),
        ("no detail", {"Source": "my.app", "DetailType": "x"}, "InvalidArgument"),
        ("detail not JSON", {"Source": "my.app", "DetailType": "x", "Detail": "{"},
         "MalformedDetail"),
        ("detail not an object", {"Source": "my.app", "DetailType": "x", "Detail": "[1]"},
         "MalformedDetail"),
        ("aws source from an operator", _entry("aws.codepipeline"),
         "NotAuthorizedForSourceException"),
        ("unknown bus", _entry("my.app", EventBusName="no-such-bus-anywhere"),
         "ResourceNotFoundException"),
    ],
)
def test_invalid_entries_fail_alone_with_aws_codes(session, case, entry, code):
    answer = session.client("events").put_events(Entries=[_entry("my.app"), entry])
    assert answer["FailedEntryCount"] == 1, case
    good, bad = answer["Entries"]
    assert good["EventId"] and "ErrorCode" not in good
    assert bad["ErrorCode"] == code and bad["ErrorMessage"] and "EventId" not in bad, case


def test_aws_sources_are_accepted_from_the_local_aws_itself(local_aws):
    answer = local_aws.app.context.aws.client("events").put_events(
        Entries=[_entry("aws.codepipeline")])
    assert answer["FailedEntryCount"] == 0, answer


def test_more_than_ten_entries_is_a_validation_error(session):
    with pytest.raises(ClientError) as err:
        session.client("events").put_events(Entries=[_entry("my.app")] * 11)
    assert err.value.response["Error"]["Code"] == "ValidationException"
