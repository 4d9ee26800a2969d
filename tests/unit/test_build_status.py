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
