"""TestEventPattern on the local AWS: EventBridge's matching rules, and its error codes."""

import json

import pytest
from botocore.exceptions import ClientError

EVENT = {
    "version": "0",
    "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": "CodePipeline Stage Execution State Change",
    "source": "aws.codepipeline",
    "account": "123456789012",
    "time": "2024-01-01T00:00:00Z",
    "region": "us-east-1",
    "resources": ["arn:aws:codepipeline:us-east-1:123456789012:app-pipeline"],
    "detail": {"pipeline": "app-pipeline", "stage": "Build", "state": "FAILED", "version": 3,
               "tags": ["blue", "green"]},
}


@pytest.mark.parametrize(
    "case, pattern, expected",
    [
        ("exact string", {"source": ["aws.codepipeline"]}, True),
        ("one of several", {"detail": {"state": ["SUCCEEDED", "FAILED"]}}, True),
        ("wrong value", {"detail": {"state": ["SUCCEEDED"]}}, False),
        ("missing field", {"detail": {"action": ["Deploy"]}}, False),
        ("nested all must match", {"source": ["aws.codepipeline"],
                                   "detail": {"pipeline": ["other"], "state": ["FAILED"]}},
         False),
        ("case matters", {"detail": {"state": ["failed"]}}, False),
        ("equals-ignore-case", {"detail": {"state": [{"equals-ignore-case": "failed"}]}}, True),
        ("prefix", {"resources": [{"prefix": "arn:aws:codepipeline:"}]}, True),
        ("suffix", {"detail": {"pipeline": [{"suffix": "-pipeline"}]}}, True),
        ("wildcard", {"detail": {"pipeline": [{"wildcard": "app-*"}]}}, True),
        ("wildcard no match", {"detail": {"pipeline": [{"wildcard": "*-x"}]}}, False),
        ("anything-but hit", {"detail": {"state": [{"anything-but": ["FAILED"]}]}}, False),
        ("anything-but miss", {"detail": {"state": [{"anything-but": "STARTED"}]}}, True),
        ("anything-but prefix", {"detail": {"stage": [{"anything-but": {"prefix": "B"}}]}},
         False),
        ("numeric range", {"detail": {"version": [{"numeric": [">", 2, "<=", 3]}]}}, True),
        ("numeric out of range", {"detail": {"version": [{"numeric": ["<", 3]}]}}, False),
        ("exists true", {"detail": {"stage": [{"exists": True}]}}, True),
        ("exists false", {"detail": {"stage": [{"exists": False}]}}, False),
        ("absent exists false", {"detail": {"action": [{"exists": False}]}}, True),
        ("array element", {"detail": {"tags": ["green"]}}, True),
        ("number is not a string", {"detail": {"version": ["3"]}}, False),
        ("$or", {"$or": [{"detail": {"state": ["SUCCEEDED"]}},
                         {"detail": {"stage": ["Build"]}}]}, True),
    ],
)
def test_matching_follows_eventbridge_rules(session, case, pattern, expected):
    answer = session.client("events").test_event_pattern(EventPattern=json.dumps(pattern),
                                                         Event=json.dumps(EVENT))
    assert answer["Result"] is expected, case


@pytest.mark.parametrize(
    "case, pattern, event, code",
    [
        ("pattern not JSON", "{", EVENT, "InvalidEventPatternException"),
        ("leaf not a list", json.dumps({"source": "aws.codepipeline"}), EVENT,
         "InvalidEventPatternException"),
        ("empty list", json.dumps({"source": []}), EVENT, "InvalidEventPatternException"),
        ("unknown operator", json.dumps({"source": [{"regex": ".*"}]}), EVENT,
         "InvalidEventPatternException"),
        ("bad numeric", json.dumps({"detail": {"version": [{"numeric": [">"]}]}}), EVENT,
         "InvalidEventPatternException"),
        ("event without id", json.dumps({"source": ["x"]}),
         {k: v for k, v in EVENT.items() if k != "id"}, "ValidationException"),
    ],
)
def test_invalid_input_uses_aws_codes(session, case, pattern, event, code):
    with pytest.raises(ClientError) as err:
        session.client("events").test_event_pattern(EventPattern=pattern,
                                                    Event=json.dumps(event))
    assert err.value.response["Error"]["Code"] == code, case
