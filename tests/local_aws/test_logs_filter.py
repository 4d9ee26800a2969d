"""FilterLogEvents on the local AWS: CloudWatch's pattern syntax, pages by token with no
event twice, ``endTime`` exclusive, and the real AWS CLI filtering a local log."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

AWS = str(Path(sys.executable).with_name("aws"))
T0 = int(time.time() * 1000) - 60_000
LINES = ["start", "ERROR one", "ok", "WARN two", "ok", "ERROR three", "ok", "Retrying ERROR",
         "WARN four", "end"]


@pytest.fixture
def log_stream(session):
    """(group, stream): LINES, two per millisecond, in a fresh stream."""
    logs = session.client("logs")
    group, stream = f"/test/{uuid.uuid4().hex[:8]}", "build/1"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[
        {"timestamp": T0 + i // 2, "message": line} for i, line in enumerate(LINES)])
    return group, stream


def _filter(session, group, **kwargs) -> list[str]:
    paginator = session.client("logs").get_paginator("filter_log_events")
    return [e["message"] for page in paginator.paginate(logGroupName=group, **kwargs)
            for e in page["events"]]


@pytest.mark.parametrize("pattern, expected", [
    ("?ERROR ?WARN", ["ERROR one", "WARN two", "ERROR three", "Retrying ERROR", "WARN four"]),
    ("ERROR -Retrying", ["ERROR one", "ERROR three"]),
    ('"ERROR t"', ["ERROR three"]),
    ("", LINES),
])
def test_patterns_select_the_documented_events(session, log_stream, pattern, expected):
    group, stream = log_stream
    assert _filter(session, group, logStreamNames=[stream], filterPattern=pattern) == expected


def test_pages_by_token_never_repeat_an_event(session, log_stream):
    group, _ = log_stream
    paginator = session.client("logs").get_paginator("filter_log_events")
    pages = list(paginator.paginate(logGroupName=group, filterPattern="?ERROR ?WARN ?ok",
                                    PaginationConfig={"PageSize": 2}))
    ids = [e["eventId"] for page in pages for e in page["events"]]
    assert len(pages) >= 4 and len(ids) == len(set(ids)) == 8
    assert all(len(page["events"]) <= 2 for page in pages)


def test_end_time_is_exclusive_and_start_time_inclusive(session, log_stream):
    group, _ = log_stream
    # T0+1 holds "ok", "WARN two"; T0+3 holds "ok", "Retrying ERROR" (left out)
    assert _filter(session, group, startTime=T0 + 1, endTime=T0 + 3) == [
        "ok", "WARN two", "ok", "ERROR three"]


def test_errors_use_aws_codes(session, log_stream):
    group, _ = log_stream
    logs = session.client("logs")
    cases = [({"logGroupName": group, "filterPattern": "{ $.a = }"},
              "InvalidParameterException"),
             ({"logGroupName": group, "nextToken": "not-a-token"}, "InvalidParameterException"),
             ({"logGroupName": group + "-missing"}, "ResourceNotFoundException")]
    for kwargs, code in cases:
        with pytest.raises(ClientError) as err:
            logs.filter_log_events(**kwargs)
        assert err.value.response["Error"]["Code"] == code, kwargs


def test_new_events_are_seen_by_the_next_call(session, log_stream):
    group, stream = log_stream
    assert _filter(session, group, filterPattern="late") == []
    session.client("logs").put_log_events(logGroupName=group, logStreamName=stream,
                                          logEvents=[{"timestamp": T0 + 9, "message": "late"}])
    assert _filter(session, group, filterPattern="late") == ["late"]


def test_the_aws_cli_filters_a_local_log_as_boto3_does(session, log_stream):
    group, stream = log_stream
    credentials = session._boto.get_credentials().get_frozen_credentials()
    env = {**os.environ, "AWS_ACCESS_KEY_ID": credentials.access_key,
           "AWS_SECRET_ACCESS_KEY": credentials.secret_key, "AWS_ENDPOINT_URL":
           session.endpoint_url, "AWS_DEFAULT_REGION": session.region}
    done = subprocess.run([AWS, "logs", "filter-log-events", "--log-group-name", group,
                           "--log-stream-names", stream, "--filter-pattern", "?ERROR ?WARN",
                           "--page-size", "2", "--output", "json"],
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    messages = [e["message"] for e in json.loads(done.stdout)["events"]]
    assert messages == _filter(session, group, filterPattern="?ERROR ?WARN")
