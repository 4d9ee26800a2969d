"""When a schedule fires: EventBridge Scheduler's ``at()``, ``rate()`` and ``cron()``.

The Scheduler user guide's rules, as the local AWS applies them:

- ``at(yyyy-mm-ddThh:mm:ss)`` fires once, at that time in the schedule's time zone; StartDate
  and EndDate are ignored for it.
- ``rate(value unit)`` (minute(s), hour(s), day(s)) fires at StartDate, or at once when there is
  none, then every ``value unit`` until EndDate.
- ``cron(minutes hours day-of-month month day-of-week year)`` fires at every minute it matches
  in ``ScheduleExpressionTimezone`` (daylight saving included, by ``zoneinfo``), between
  StartDate and EndDate. The fields follow the same grammar as a deployment window's cron
  (:mod:`runbook_lib.core.aws_cron`), which adds a seconds field in front.

The same grammar serves EventBridge rules' ``ScheduleExpression`` (``rate`` and ``cron``, UTC).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from runbook_lib.core.aws_cron import CronError, CronWindow, parse_cron

_AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")
_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((.+)\)$")
_UNITS = {"minute": 60, "hour": 3600, "day": 86400}


class ExpressionError(ValueError):
    """The schedule expression or its time zone breaks Scheduler's rules; the message says how."""


@dataclass(frozen=True)
class ScheduleTimes:
    """A parsed expression: one of ``at``, ``every`` or ``cron`` is set."""

    text: str
    zone: ZoneInfo
    at: datetime | None = None
    every: timedelta | None = None
    cron: CronWindow | None = None

    @property
    def one_time(self) -> bool:
        return self.at is not None


def parse_expression(text: str, timezone: str | None = "UTC") -> ScheduleTimes:
    """Parse ``text`` in ``timezone``; :class:`ExpressionError` names what is wrong and how to
    write it."""
    zone = _zone(timezone or "UTC")
    text = (text or "").strip()
    if match := _AT.match(text):
        moment = datetime.fromisoformat(match.group(1)).replace(tzinfo=zone)
        return ScheduleTimes(text, zone, at=moment)
    if match := _RATE.match(text):
        value, unit = int(match.group(1)), match.group(2).rstrip("s")
        if value < 1:
            raise ExpressionError(f"ScheduleExpression {text!r}: the rate must be a positive "
                                  "number, e.g. rate(5 minutes)")
        return ScheduleTimes(text, zone, every=timedelta(seconds=value * _UNITS[unit]))
    if match := _CRON.match(text):
        fields = match.group(1).split()
        if len(fields) != 6:
            raise ExpressionError(
                f"ScheduleExpression {text!r} has {len(fields)} cron fields; Scheduler's cron has "
                "six: cron(minutes hours day-of-month month day-of-week year), e.g. "
                "cron(0 6 * * ? *) for 06:00 every day")
        try:
            window = parse_cron("0 " + " ".join(fields))
        except CronError as err:
            raise ExpressionError(f"ScheduleExpression {text!r}: {err}") from err
        return ScheduleTimes(text, zone, cron=window)
    raise ExpressionError(
        f"ScheduleExpression {text!r} is not at(...), rate(...) or cron(...): write e.g. "
        "at(2030-01-01T06:00:00), rate(1 hour) or cron(0 6 * * ? *)")


def next_fire(times: ScheduleTimes, after: datetime, anchor: datetime,
              start: datetime | None = None, end: datetime | None = None) -> datetime | None:
    """The first firing strictly after ``after`` (UTC), or None when there is none left.

    ``anchor`` is when a rate without StartDate began (the schedule's creation).
    """
    if times.at is not None:
        moment = times.at.astimezone(UTC)
        return moment if moment > after else None
    candidate: datetime | None
    if times.every is not None:
        candidate = _next_rate(times.every, start or anchor, after)
    else:
        floor = max(after, start - timedelta(seconds=1)) if start else after
        candidate = _next_cron(times, floor)
    if candidate is None or (end is not None and candidate >= end):
        return None
    return candidate


def _next_rate(every: timedelta, first: datetime, after: datetime) -> datetime:
    if first > after:
        return first
    steps = int((after - first) / every) + 1
    return first + steps * every


def _next_cron(times: ScheduleTimes, after: datetime) -> datetime | None:
    assert times.cron is not None, "called for cron expressions only"
    local = (after + timedelta(minutes=1)).astimezone(times.zone).replace(second=0, microsecond=0)
    opening = times.cron.next_opening(local.replace(tzinfo=None))
    if opening is None:
        return None
    return opening.replace(tzinfo=times.zone).astimezone(UTC)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ExpressionError(f"ScheduleExpressionTimezone {name!r} is not an IANA time zone: "
                              "write e.g. UTC or Europe/Paris") from err
