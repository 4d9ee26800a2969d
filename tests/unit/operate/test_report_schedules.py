"""When the report schedule runs next, read from what GetSchedule answers."""

from datetime import UTC, datetime, timedelta

from runbook_lib.operate import report_schedules

NOW = datetime(2030, 3, 30, 12, 0, tzinfo=UTC)


def _found(expression: str, **dates) -> dict:
    return {"ScheduleExpression": expression, "ScheduleExpressionTimezone": "UTC",
            "State": "ENABLED", **dates}


def test_a_rate_counts_from_the_update_that_set_it_not_the_creation():
    found = _found("rate(1 minute)", CreationDate=NOW - timedelta(minutes=10, seconds=12),
                   LastModificationDate=NOW - timedelta(seconds=90))
    assert report_schedules._next_run(found, NOW) == NOW + timedelta(seconds=30)


def test_a_rate_never_changed_counts_from_its_creation():
    found = _found("rate(5 minutes)", CreationDate=NOW - timedelta(minutes=7))
    assert report_schedules._next_run(found, NOW) == NOW + timedelta(minutes=3)


def test_a_start_date_and_a_disabled_schedule():
    start = NOW + timedelta(hours=2)
    assert report_schedules._next_run(_found("rate(1 hour)", CreationDate=NOW,
                                             StartDate=start), NOW) == start
    assert report_schedules._next_run({**_found("rate(1 hour)"), "State": "DISABLED"},
                                      NOW) is None
