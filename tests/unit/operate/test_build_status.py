"""Triage's wording for a build's own status: stopped, timed out, still running."""

from __future__ import annotations

import pytest

from runbook_lib.operate import build_status, triage
from runbook_lib.operate.log_text import BuildLog


@pytest.mark.parametrize("status, phase, context, category, title", [
    ("STOPPED", "BUILD", "", "stopped", "stopped during BUILD"),
    ("STOPPED", "BUILD", "Build was stopped by a StopBuild call.", "stopped",
     "stopped during BUILD (Build was stopped by a StopBuild call)"),
    ("TIMED_OUT", "BUILD", "", "timeout", "timed out during BUILD"),
    ("IN_PROGRESS", "", "", "running", "still running"),
], ids=["stopped", "stopped, who said", "timed out", "running"])
def test_wording(status, phase, context, category, title):
    wording = build_status.status_wording(status, phase, context)
    assert (wording.category, wording.title) == (category, title)
    assert wording.next_step


@pytest.mark.parametrize("status", ["SUCCEEDED", "FAILED", "FAULT", ""])
def test_other_statuses_are_left_to_the_log_rules(status):
    assert build_status.status_wording(status) is None


def test_a_stopped_build_is_not_an_unknown_failure():
    log = BuildLog("p:1", "STOPPED", "", "", lines=["npm test", "Terminated"],
                   failed_phase="BUILD")
    result = triage.triage_build(log)
    assert (result.category, result.title) == ("stopped", "stopped during BUILD")


@pytest.mark.parametrize("status, meaning", [
    ("FAULT", "FAULT: a CodeBuild service fault, not your commands: retry"),
    ("TIMED_OUT", "TIMED_OUT: timed out"),
    ("STOPPED", "STOPPED: stopped"),
    ("FAILED", "FAILED"),
    ("", "unknown"),
], ids=["fault", "timed out", "stopped", "failed", "absent"])
def test_status_meaning_keeps_a_fault_apart_from_a_failure(status, meaning):
    assert build_status.status_meaning(status).startswith(meaning)
    if status == "FAILED":
        assert build_status.status_meaning(status) == "FAILED"


@pytest.mark.parametrize("status, category", [
    ("FAULT", "service_fault"), ("TIMED_OUT", "timeout"), ("STOPPED", "stopped")])
def test_triage_keeps_fault_timeout_and_stop_apart(status, category):
    log = BuildLog("p:1", status, "", "", lines=["npm test", "not ok 1 - greets"],
                   failed_phase="BUILD")
    result = triage.triage_build(log)
    assert result.category == category
    assert ("retry" in result.next_step) == (status == "FAULT")


def test_a_failed_run_names_a_fault_apart_in_status_and_report():
    from datetime import UTC, datetime

    from runbook_lib.operate.executions import FailureDetails
    from runbook_lib.operate.report import RecentFailure
    from runbook_lib.operate.summaries import ExecutionSummary
    from runbook_lib.views import progress

    run = ExecutionSummary("e", "Failed", start_time=datetime(2026, 1, 5, tzinfo=UTC))
    for status, said in (("FAULT", "service fault"), ("FAILED", "")):
        failure = FailureDetails("e", "Build", "Build", "failed", "app-build:abc", status,
                                 "/aws/codebuild/app-build", "abc")
        text = progress.describe_failure(failure)
        headline = RecentFailure(run, failure).headline
        assert (said in text and said in headline) if said else (
            "app-build:abc (FAILED)" in text and "(build" not in headline)
