"""The local EventBridge Scheduler fires: at(), rate(), targets, retries, DLQ, rules, restarts."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from helpers import receive_messages, wait_until

from runbook_lib.core.session import AwsSession
from runbook_lib.local.scheduler.service import ScheduleRunner
from runbook_lib.local.server import process

ACCOUNT = "123456789012"
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "scheduler.amazonaws.com"},
    "Action": "sts:AssumeRole"}]})


def _role(session: AwsSession) -> str:
    name = f"sched-{uuid.uuid4().hex[:8]}"
    return session.client("iam").create_role(RoleName=name,
                                             AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]


def _queue(session: AwsSession) -> tuple[str, str]:
    sqs = session.client("sqs")
    url = sqs.create_queue(QueueName=f"sched-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    return url, arn["QueueArn"]


def _messages(session: AwsSession, url: str) -> list[dict]:
    """The messages on ``url``, once one arrived (15 s at the most)."""
    return receive_messages(session.client("sqs"), url)


def _at(seconds: float) -> str:
    """An at() expression at least ``seconds`` ahead (at() has whole seconds: round up).

    An at() time earlier than the schedule's creation never fires, so ``seconds`` must cover
    the create call on a loaded machine: 1 s did not, once, while `make test` ran five workers
    on two cores (the test then waited 15 s for a message that never came)."""
    moment = (datetime.now(UTC) + timedelta(seconds=seconds + 1)).replace(microsecond=0)
    return f"at({moment:%Y-%m-%dT%H:%M:%S})"


def test_at_schedule_sends_to_sqs_once_and_deletes_itself(session, local_aws):
    url, arn = _queue(session)
    name = f"once-{uuid.uuid4().hex[:6]}"
    session.client("scheduler").create_schedule(
        Name=name, ScheduleExpression=_at(3), FlexibleTimeWindow={"Mode": "OFF"},
        ActionAfterCompletion="DELETE",
        Target={"Arn": arn, "RoleArn": _role(session),
                "Input": '{"from": "<aws.scheduler.schedule-arn>"}'})
    [message] = _messages(session, url)
    assert json.loads(message["Body"])["from"].endswith(f":schedule/default/{name}")

    def gone() -> bool:
        names = [s["Name"] for s in session.client("scheduler").list_schedules()["Schedules"]]
        return name not in names

    wait_until(gone, timeout=10, interval=0.2, what="the completed schedule deleted")
    # Once gone, no tick considers it again: what fired is what the runner recorded.
    runner = local_aws.app.context.peers.get(ScheduleRunner)
    fired = wait_until(lambda: _fired(runner, name), timeout=10, what="the invocation recorded")
    assert [f["status"] for f in fired] == ["succeeded"]
    assert _invocations(runner, name) == 1
    assert session.client("sqs").receive_message(QueueUrl=url).get("Messages", []) == []


def test_universal_target_takes_the_api_request_as_input(session):
    url, _ = _queue(session)
    session.client("scheduler").create_schedule(
        Name=f"universal-{uuid.uuid4().hex[:6]}", ScheduleExpression=_at(3),
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": "arn:aws:scheduler:::aws-sdk:sqs:sendMessage", "RoleArn": _role(session),
                "Input": json.dumps({"QueueUrl": url, "MessageBody": "hello from scheduler"})})
    [message] = _messages(session, url)
    assert message["Body"] == "hello from scheduler"


def test_missing_role_goes_to_the_dead_letter_queue(session):
    url, arn = _queue(session)
    dlq_url, dlq_arn = _queue(session)
    session.client("scheduler").create_schedule(
        Name=f"norole-{uuid.uuid4().hex[:6]}", ScheduleExpression=_at(3),
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": arn, "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/no-such-role",
                "Input": "x", "DeadLetterConfig": {"Arn": dlq_arn},
                "RetryPolicy": {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 60}})
    [dead] = _messages(session, dlq_url)
    assert dead["MessageAttributes"]["ERROR_CODE"]["StringValue"] == "AccessDeniedException"
    assert dead["MessageAttributes"]["TARGET_ARN"]["StringValue"] == arn
    assert session.client("sqs").receive_message(QueueUrl=url).get("Messages", []) == []


def test_disabled_schedule_does_not_fire(session, local_aws):
    url, arn = _queue(session)
    name = f"off-{uuid.uuid4().hex[:6]}"
    session.client("scheduler").create_schedule(
        Name=name, ScheduleExpression="rate(1 minute)", FlexibleTimeWindow={"Mode": "OFF"},
        State="DISABLED", Target={"Arn": arn, "RoleArn": _role(session), "Input": "x"})
    runner = local_aws.app.context.peers.get(ScheduleRunner)
    record = wait_until(lambda: _record(runner, name), timeout=10, interval=0.1,
                        what="a tick that considered the schedule")
    # the record of a schedule that fired holds when ("last"): read it, do not wait for silence
    assert "last" not in record and not _fired(runner, name), record
    assert session.client("sqs").receive_message(QueueUrl=url).get("Messages", []) == []


def test_an_at_time_already_past_is_said_never_to_fire(session, local_aws, caplog):
    url, arn = _queue(session)
    name = f"past-{uuid.uuid4().hex[:6]}"
    past = (datetime.now(UTC) - timedelta(minutes=5)).replace(microsecond=0)
    with caplog.at_level("WARNING", logger="runbook.local.scheduler"):
        session.client("scheduler").create_schedule(
            Name=name, ScheduleExpression=f"at({past:%Y-%m-%dT%H:%M:%S})",
            FlexibleTimeWindow={"Mode": "OFF"},
            Target={"Arn": arn, "RoleArn": _role(session), "Input": "x"})
        runner = local_aws.app.context.peers.get(ScheduleRunner)
        record = wait_until(lambda: _record(runner, name) or {}, lambda r: r.get("never"),
                            timeout=10, interval=0.1, what="a tick that judged the schedule")
    assert "last" not in record and not _fired(runner, name), record
    said = [r.getMessage() for r in caplog.records if name in r.getMessage()]
    assert len(said) == 1 and "will never fire" in said[0] and "give at() a time ahead" in said[0]
    assert session.client("sqs").receive_message(QueueUrl=url).get("Messages", []) == []


def _record(runner, name: str) -> dict | None:
    """What the runner keeps of schedule ``name`` (None before a tick saw it)."""
    return next((record for key, record in runner.store.data["items"].items()
                 if key.endswith(f"/{name}")), None)


def _fired(runner, name: str) -> list[dict]:
    return [f for f in runner.fired() if f["key"].endswith(f"/{name}")]


def _invocations(runner, name: str) -> int:
    return int((_record(runner, name) or {}).get("invocations", 0))


def test_scheduled_rule_delivers_a_scheduled_event(session):
    url, arn = _queue(session)
    events = session.client("events")
    rule = f"every-minute-{uuid.uuid4().hex[:6]}"
    events.put_rule(Name=rule, ScheduleExpression="rate(1 minute)")
    events.put_targets(Rule=rule, Targets=[{"Id": "q", "Arn": arn}])
    [message] = _messages(session, url)
    event = json.loads(message["Body"])
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["resources"][0].endswith(f":rule/{rule}")
    events.remove_targets(Rule=rule, Ids=["q"])
    events.delete_rule(Name=rule)


@pytest.fixture
def rehearsal_server(tmp_path):
    """A second local AWS whose clock runs 60 times faster: a minute lasts a second. In a
    process of its own: moto's state is per process, and an in-process second server would
    share (and reset) the session's shared server's."""
    state = tmp_path / "state"
    status = process.start(state, time_factor=60)
    yield AwsSession("local", "us-east-1", endpoint_url=status.endpoint_url)
    process.stop(state)


def test_rate_schedule_fires_every_minute_of_the_rehearsal_clock(rehearsal_server):
    session = rehearsal_server
    url, arn = _queue(session)
    session.client("scheduler").create_schedule(
        Name="every-minute", ScheduleExpression="rate(1 minute)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": arn, "RoleArn": _role(session), "Input": "tick"})
    started = datetime.now(UTC)
    got = receive_messages(session.client("sqs"), url, lambda got: len(got) >= 3, timeout=20,
                           what="three firings")
    assert [m["Body"] for m in got[:3]] == ["tick"] * 3
    assert (datetime.now(UTC) - started).total_seconds() < 15  # not three real minutes


def test_schedule_missed_while_down_fires_once_at_start(tmp_path):
    state = tmp_path / "state"
    status = process.start(state)
    try:
        session = AwsSession("local", "us-east-1", endpoint_url=status.endpoint_url)
        url, arn = _queue(session)
        due = datetime.now(UTC) + timedelta(seconds=3)
        session.client("scheduler").create_schedule(
            Name="while-down", ScheduleExpression=f"at({due:%Y-%m-%dT%H:%M:%S})",
            FlexibleTimeWindow={"Mode": "OFF"},
            Target={"Arn": arn, "RoleArn": _role(session), "Input": "caught up"})
        wait_until(lambda: "while-down" in (state / "scheduler.json").read_text(), timeout=10,
                   interval=0.1, what="the schedule seen")
    finally:
        assert process.stop(state)
    wait_until(lambda: datetime.now(UTC) > due + timedelta(seconds=1), timeout=10,
               what="the schedule's time to pass while the server is down")
    status = process.start(state)
    try:
        session = AwsSession("local", "us-east-1", endpoint_url=status.endpoint_url)
        [message] = _messages(session, url)
        assert message["Body"] == "caught up"
        # one-time: once its firing is recorded, nothing is due; the record counts firings
        stored = wait_until(lambda: _stored(state, "while-down"),
                            lambda record: record.get("invocations"), timeout=10,
                            what="the firing recorded in the state folder")
        assert stored["invocations"] == 1, stored
        assert session.client("sqs").receive_message(QueueUrl=url).get("Messages", []) == []
        log = (state / process.LOG_FILE).read_text()
        assert "while the local AWS was down" in log
    finally:
        process.stop(state)


def _stored(state, name: str) -> dict:
    """Schedule ``name``'s record in a stopped or running server's state folder."""
    items = json.loads((state / "scheduler.json").read_text())["items"]
    return next((record for key, record in items.items() if key.endswith(f"/{name}")), {})
