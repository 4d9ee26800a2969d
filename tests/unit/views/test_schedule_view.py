"""The report schedule as text: what --list-scheduled and notebook 08 print."""

from datetime import UTC, datetime

from runbook_lib.operate.report_schedules import ScheduleStatus
from runbook_lib.views import schedule_view

NOW = datetime(2030, 3, 30, 12, 0, tzinfo=UTC)


def test_a_missing_schedule_says_how_to_make_one():
    text = schedule_view.status_text(ScheduleStatus("app-reports/app-pipeline-health", False))
    assert "no report schedule app-reports/app-pipeline-health" in text
    assert 'runbook report --schedule "cron(0 6 * * ? *)" -p apply=true' in text


def test_status_lists_next_run_build_and_reports_newest_first():
    status = ScheduleStatus(
        "g/s", True, "cron(0 6 * * ? *)", "Europe/Paris", "ENABLED",
        datetime(2030, 3, 31, 4, 0, tzinfo=UTC),
        (("s3://b/reports/p/2030-03-30.html", NOW), ("s3://b/reports/p/2030-03-29.html", NOW)),
        "app-report:1", "SUCCEEDED")
    lines = schedule_view.status_text(status).splitlines()
    assert lines[1] == "expression   cron(0 6 * * ? *) (Europe/Paris), ENABLED"
    assert lines[2] == "next run     2030-03-31T04:00:00Z"
    assert lines[3] == "last build   app-report:1 (SUCCEEDED)"
    assert lines[4].endswith("2030-03-30.html") and lines[5].endswith("2030-03-29.html")


def test_next_run_line_in_the_schedules_zone():
    line = schedule_view.next_run_line("cron(0 6 * * ? *)", "Europe/Paris", NOW)
    assert line == "next run: 2030-03-31T04:00:00Z (2030-03-31 06:00 Europe/Paris)"
    assert "none" in schedule_view.next_run_line("at(2020-01-01T00:00:00)", "UTC", NOW)


def test_a_rate_just_applied_runs_at_once():
    """AWS: a rate-based schedule without StartDate starts invoking its target immediately."""
    line = schedule_view.next_run_line("rate(5 minutes)", "UTC", NOW)
    assert line == ("next run: 2030-03-30T12:00:00Z (2030-03-30 12:00 UTC) at once, "
                    "then every interval")
