"""The report schedule as text: what ``runbook report --list-scheduled`` and notebooks print."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from runbook_lib.core.schedule_expressions import ExpressionError, next_fire, parse_expression
from runbook_lib.core.text import iso_time
from runbook_lib.operate.report_schedules import ScheduleStatus


def status_text(status: ScheduleStatus) -> str:
    """Schedule, next run, last reports and the last build, one fact a line."""
    if not status.exists:
        return (f"no report schedule {status.schedule}: create one with "
                '`runbook report --schedule "cron(0 6 * * ? *)" -p apply=true`')
    lines = [f"schedule     {status.schedule}",
             f"expression   {status.expression} ({status.timezone}), {status.state}",
             f"next run     {iso_time(status.next_run, missing='none')}",
             f"last build   {status.last_build_id or 'none yet'}"
             + (f" ({status.last_build_status})" if status.last_build_status else "")]
    if not status.reports:
        lines.append("reports      none yet")
    for i, (url, when) in enumerate(status.reports):
        lines.append(f"{'reports' if i == 0 else '':<12} {iso_time(when)}  {url}")
    return "\n".join(lines)


def next_run_line(expression: str, timezone: str, now: datetime | None = None) -> str:
    """When a schedule just applied fires first (local time of the schedule's zone)."""
    now = now or datetime.now(UTC)
    try:
        times = parse_expression(expression, timezone)
    except ExpressionError as err:
        return f"next run: unknown ({err})"
    # a rate() without StartDate starts invoking at once (AWS's schedule types guide)
    moment = next_fire(times, now - timedelta(microseconds=1), now)
    if moment is None:
        return "next run: none (the time has passed)"
    local = moment.astimezone(times.zone)
    at_once = " at once, then every interval" if times.every is not None else ""
    return f"next run: {iso_time(moment)} ({local:%Y-%m-%d %H:%M} {timezone}){at_once}"
