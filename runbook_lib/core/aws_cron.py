"""AWS's cron for the DeploymentWindow rule: when a deploy is allowed, and when it next is.

The rule reference describes Quartz-style expressions: ``seconds minutes hours day-of-month
month day-of-week [year]``, with ``* , - /`` everywhere, ``?`` for "no specific value" in one of
the two day fields, ``L`` (last day of the month, ``L-3`` three days before it, ``5L`` the last
Thursday), ``W`` (``15W`` the weekday nearest the 15th, ``LW`` the last weekday) and ``#``
(``6#3`` the third Friday). Day-of-week counts 1-7 from Sunday. A window is open during every
minute the expression matches; seconds are not a window's unit, so that field is ignored.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

_MONTHS = {m: i for i, m in enumerate(
    ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), 1)}
_DAYS = {d: i for i, d in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), 1)}
_SEARCH_DAYS = 366 * 5


class CronError(ValueError):
    """The expression breaks AWS's cron grammar; the message names the field and the rule."""


@dataclass(frozen=True)
class CronWindow:
    """A parsed expression: sets of allowed values, plus the day fields' special forms."""

    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    months: frozenset[int]
    years: frozenset[int] | None
    dom: str
    dow: str

    def matches(self, moment: datetime) -> bool:
        """Is ``moment`` (already in the window's time zone) inside the window?"""
        return (moment.minute in self.minutes and moment.hour in self.hours
                and self._day_matches(moment.date()))

    def next_opening(self, moment: datetime) -> datetime | None:
        """The first minute at or after ``moment`` inside the window (None: not in 5 years)."""
        start = moment.replace(second=0, microsecond=0)
        for offset in range(_SEARCH_DAYS):
            day = start.date() + timedelta(days=offset)
            if not self._day_matches(day):
                continue
            for hour in sorted(self.hours):
                for minute in sorted(self.minutes):
                    candidate = start.replace(year=day.year, month=day.month, day=day.day,
                                              hour=hour, minute=minute)
                    if candidate >= start:
                        return candidate
        return None

    def _day_matches(self, day: date) -> bool:
        if day.month not in self.months or (self.years and day.year not in self.years):
            return False
        return _dom_matches(self.dom, day) and _dow_matches(self.dow, day)


def parse_cron(text: str) -> CronWindow:
    """Parse ``text``; a broken expression raises :class:`CronError` naming the field."""
    fields = (text or "").split()
    if len(fields) not in (6, 7):
        raise CronError(f"Cron {text!r} has {len(fields)} fields; AWS's cron has 6 required "
                        "fields and an optional year: 'sec min hour day-of-month month "
                        "day-of-week [year]', e.g. '* * 9-16 ? * MON-FRI *'")
    _, minute, hour, dom, month, dow = fields[:6]
    if (dom == "?") == (dow == "?"):
        raise CronError(f"Cron {text!r}: exactly one of day-of-month and day-of-week must be "
                        "'?' (e.g. '? * MON-FRI' or '1 * ?')")
    year = fields[6] if len(fields) == 7 else "*"
    return CronWindow(
        text=text, minutes=_values(minute, 0, 59, "minutes"), hours=_values(hour, 0, 23, "hours"),
        months=_values(month, 1, 12, "month", _MONTHS),
        years=None if year == "*" else _values(year, 1970, 2199, "year"),
        dom=_checked_dom(dom), dow=_checked_dow(dow))


def _values(field: str, low: int, high: int, what: str,
            names: dict[str, int] | None = None) -> frozenset[int]:
    found: set[int] = set()
    for part in field.split(","):
        match = re.fullmatch(r"(\*|[A-Za-z0-9]+)(?:-([A-Za-z0-9]+))?(?:/(\d+))?", part)
        if not match:
            raise CronError(f"Cron {what} field {field!r}: {part!r} is not a value, a range "
                            "a-b, a step a/n or '*'")
        first, last, step = match.groups()
        start = low if first == "*" else _number(first, low, high, what, names)
        end = high if first == "*" or (step and not last) else start
        if last:
            end = _number(last, low, high, what, names)
        found.update(range(start, end + 1, int(step or 1)))
    return frozenset(found)


def _number(token: str, low: int, high: int, what: str, names: dict[str, int] | None) -> int:
    value = (names or {}).get(token.upper())
    if value is None:
        if not token.isdigit():
            raise CronError(f"Cron {what} field: {token!r} is not a number from {low} to {high}")
        value = int(token)
    if not low <= value <= high:
        raise CronError(f"Cron {what} field: {value} is outside {low}-{high}")
    return value


def _checked_dom(field: str) -> str:
    if field in ("?", "L", "LW") or re.fullmatch(r"L-\d{1,2}|\d{1,2}W", field):
        return field
    _values(field, 1, 31, "day-of-month")
    return field


def _checked_dow(field: str) -> str:
    if field == "?" or re.fullmatch(r"[1-7A-Za-z]{1,3}(L|#[1-5])", field) or field == "L":
        return field
    _values(field, 1, 7, "day-of-week", _DAYS)
    return field


def _dom_matches(field: str, day: date) -> bool:
    last = calendar.monthrange(day.year, day.month)[1]
    if field == "?":
        return True
    if field == "L":
        return day.day == last
    if field.startswith("L-"):
        return day.day == last - int(field[2:])
    if field == "LW":
        return day == _nearest_weekday(day, last, last_only=True)
    if field.endswith("W"):
        return day == _nearest_weekday(day, min(int(field[:-1]), last))
    return day.day in _values(field, 1, 31, "day-of-month")


def _nearest_weekday(day: date, target: int, last_only: bool = False) -> date:
    """Quartz's W: the weekday nearest ``target`` in the same month (never crossing it)."""
    wanted = day.replace(day=target)
    if wanted.weekday() == 5:  # Saturday: Friday before, unless that leaves the month
        return wanted - timedelta(days=1) if target > 1 else wanted + timedelta(days=2)
    if wanted.weekday() == 6:  # Sunday: Monday after, unless that leaves the month
        return wanted - timedelta(days=2) if last_only or target == calendar.monthrange(
            day.year, day.month)[1] else wanted + timedelta(days=1)
    return wanted


def _quartz_dow(day: date) -> int:
    return (day.weekday() + 1) % 7 + 1  # Sunday 1 ... Saturday 7


def _dow_matches(field: str, day: date) -> bool:
    if field == "?":
        return True
    if field == "L":
        return _quartz_dow(day) == 7
    if field.endswith("L"):
        wanted = _number(field[:-1], 1, 7, "day-of-week", _DAYS)
        return _quartz_dow(day) == wanted and day.day + 7 > calendar.monthrange(
            day.year, day.month)[1]
    if "#" in field:
        name, nth = field.split("#")
        wanted = _number(name, 1, 7, "day-of-week", _DAYS)
        return _quartz_dow(day) == wanted and (day.day - 1) // 7 + 1 == int(nth)
    return _quartz_dow(day) in _values(field, 1, 7, "day-of-week", _DAYS)
