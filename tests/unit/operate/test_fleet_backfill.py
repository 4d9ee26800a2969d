"""Backfill's pacing and the events it rebuilds from API records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from runbook_lib.operate import fleet_backfill

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def test_the_limiter_spaces_calls_of_one_operation_and_not_of_two():
    now, slept = [0.0], []

    def sleep(s):
        slept.append(s)
        now[0] += s

    limiter = fleet_backfill.RateLimiter(2.0, clock=lambda: now[0], sleep=sleep)
    for op in ("a", "a", "b", "a"):
        limiter.wait(op)
    assert slept == [0.5, 0.5]


def test_a_rate_of_zero_is_refused():
    with pytest.raises(ValueError, match="rate=0"):
        fleet_backfill.RateLimiter(0)


def test_events_rebuilt_from_records_have_the_runs_start_end_and_failed_stage():
    run = {"pipelineExecutionId": "e1", "status": "Failed", "startTime": T0,
           "lastUpdateTime": T0 + timedelta(seconds=90)}
    actions = [
        {"stageName": "Source", "actionName": "Source", "status": "Succeeded",
         "startTime": T0, "lastUpdateTime": T0 + timedelta(seconds=5)},
        {"stageName": "Build", "actionName": "Build", "status": "Failed",
         "startTime": T0 + timedelta(seconds=6), "lastUpdateTime": T0 + timedelta(seconds=90)},
    ]
    events = fleet_backfill.execution_events("p", run, actions)
    states = {(e["detail-type"].split()[1], e["detail"].get("stage", ""), e["detail"]["state"])
              for e in events}
    assert ("Pipeline", "", "FAILED") in states and ("Stage", "Build", "FAILED") in states
    assert ("Stage", "Source", "SUCCEEDED") in states
    end = [e for e in events if e["detail"]["state"] == "FAILED" and "stage" not in e["detail"]]
    assert end[0]["time"] == "2026-11-01T12:01:30.000Z"
    assert len({e["id"] for e in events}) == len(events)  # ids are stable and unique
