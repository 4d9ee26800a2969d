"""One form for durations and moments in every view."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from runbook_lib.core.text import format_duration, iso_time


@pytest.mark.parametrize(("seconds", "want"), [
    (None, "-"), (0, "0.0 s"), (0.04, "0.0 s"), (12.34, "12.3 s"), (90, "90.0 s"),
    (119.9, "119.9 s"), (120, "2.0 min"), (252, "4.2 min"), (7199, "120.0 min"),
    (7200, "2.0 h"), (172799, "48.0 h"), (172800, "2.0 d"),
], ids=["unknown", "zero", "tiny", "seconds", "ninety-seconds", "under-2-min", "2-min",
        "minutes", "under-2-h", "2-h", "under-2-d", "days"])
def test_format_duration_always_has_a_unit(seconds, want):
    assert format_duration(seconds) == want


def test_format_duration_says_what_unknown_means_where_asked():
    assert format_duration(None, missing="not started") == "not started"


MOMENT = datetime(2026, 3, 4, 5, 6, 7, 891234, tzinfo=UTC)


@pytest.mark.parametrize(("moment", "timespec", "want"), [
    (MOMENT, "seconds", "2026-03-04T05:06:07Z"),
    (MOMENT, "milliseconds", "2026-03-04T05:06:07.891Z"),
    (MOMENT, "auto", "2026-03-04T05:06:07.891234Z"),
    (MOMENT.timestamp(), "seconds", "2026-03-04T05:06:07Z"),
    (MOMENT.astimezone(timezone(timedelta(hours=2))), "seconds", "2026-03-04T05:06:07Z"),
    (MOMENT.replace(tzinfo=None), "seconds", "2026-03-04T05:06:07Z"),
], ids=["datetime", "milliseconds", "every-digit", "epoch", "other-zone-to-utc", "naive-is-utc"])
def test_iso_time_is_utc_with_z(moment, timespec, want):
    assert iso_time(moment, timespec) == want


def test_iso_time_of_nothing_is_the_missing_text():
    assert iso_time(None) == ""
    assert iso_time(None, missing="-") == "-"
