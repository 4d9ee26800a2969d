"""The health report's refusals on the local AWS: a missing pipeline, a window under a day."""

from __future__ import annotations

import pytest

from runbook_lib.operate import report


def test_missing_pipeline_is_a_report_error(session, names):
    with pytest.raises(report.ReportError, match=f"pipeline {names.pipeline} not found"):
        report.build_health_report(session, names.pipeline, 7)


def test_window_must_be_a_day_or_more(session):
    with pytest.raises(report.ReportError, match="at least 1 day"):
        report.build_health_report(session, "any", 0)
