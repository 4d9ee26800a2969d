"""When Scheduler expressions fire: at(), rate(), cron() in a time zone, start and end dates."""

from datetime import UTC, datetime, timedelta

import pytest

from runbook_lib.core.schedule_expressions import ExpressionError, next_fire, parse_expression

T0 = datetime(2030, 3, 30, 12, 0, 30, tzinfo=UTC)


@pytest.mark.parametrize(("expression", "zone", "after", "expected"), [
    ("at(2030-03-30T12:05:00)", "UTC", T0, datetime(2030, 3, 30, 12, 5, tzinfo=UTC)),
    ("at(2030-03-30T12:00:00)", "UTC", T0, None),  # already past: one-time schedules do not fire
    ("at(2030-03-30T14:05:00)", "Europe/Paris", T0, datetime(2030, 3, 30, 13, 5, tzinfo=UTC)),
    ("cron(0 6 * * ? *)", "UTC", T0, datetime(2030, 3, 31, 6, 0, tzinfo=UTC)),
    # Paris moves to summer time on 2030-03-31: 06:00 there is 05:00 UTC that morning.
    ("cron(0 6 * * ? *)", "Europe/Paris", T0, datetime(2030, 3, 31, 4, 0, tzinfo=UTC)),
    ("cron(*/15 * * * ? *)", "UTC", T0, datetime(2030, 3, 30, 12, 15, tzinfo=UTC)),
    ("cron(0 9 ? * MON-FRI *)", "UTC", T0, datetime(2030, 4, 1, 9, 0, tzinfo=UTC)),
])
def test_next_fire(expression, zone, after, expected):
    assert next_fire(parse_expression(expression, zone), after, anchor=T0) == expected


def test_rate_fires_at_once_then_every_interval():
    times = parse_expression("rate(5 minutes)")
    first = next_fire(times, T0 - timedelta(microseconds=1), anchor=T0)
    assert first == T0
    assert next_fire(times, first, anchor=T0) == T0 + timedelta(minutes=5)
    assert next_fire(times, T0 + timedelta(minutes=12), anchor=T0) == T0 + timedelta(minutes=15)


def test_start_and_end_dates_bound_recurring_schedules():
    times = parse_expression("rate(1 hour)")
    start = T0 + timedelta(days=1)
    assert next_fire(times, T0, anchor=T0, start=start) == start
    assert next_fire(times, T0, anchor=T0, end=T0 + timedelta(minutes=30)) is None
    cron = parse_expression("cron(0 * * * ? *)")
    # 12:00 is half a minute before the start: the first run is 13:00
    assert next_fire(cron, T0, anchor=T0, start=start) == start.replace(hour=13, minute=0, second=0)


@pytest.mark.parametrize(("expression", "zone", "names"), [
    ("every day", "UTC", "at(...), rate(...) or cron(...)"),
    ("rate(0 minutes)", "UTC", "positive"),
    ("cron(0 6 * * *)", "UTC", "six"),
    ("cron(0 6 * * * *)", "UTC", "'?'"),
    ("rate(1 hour)", "Mars/Olympus", "IANA"),
])
def test_bad_expressions_say_what_to_write(expression, zone, names):
    with pytest.raises(ExpressionError, match=names.replace("(", r"\(").replace(")", r"\)")
                       .replace(".", r"\.").replace("?", r"\?")):
        parse_expression(expression, zone)
