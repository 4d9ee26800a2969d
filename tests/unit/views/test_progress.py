"""Progress views of one execution: the data they show, not their pixels."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from runbook_lib.operate.executions import FailureDetails
from runbook_lib.operate.watch import ActionProgress, ExecutionProgress, StageProgress
from runbook_lib.views import progress

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def _action(stage, name, status, start=None, end=None, category="Build"):
    return ActionProgress(stage, name, category, status,
                          T0 + timedelta(seconds=start) if start is not None else None,
                          T0 + timedelta(seconds=end) if end is not None else None)


def _execution(status="InProgress", now=30):
    stages = [
        StageProgress("Source", [_action("Source", "Source", "Succeeded", 0, 2, "Source")]),
        StageProgress("Build", [_action("Build", "Build", "InProgress", 2, 20)]),
        StageProgress("Deploy", [_action("Deploy", "Deploy", "Pending", category="Deploy")]),
    ]
    return ExecutionProgress("p", "11111111-2222-3333-4444-555555555555", status,
                             T0 + timedelta(seconds=now), stages=stages)


@pytest.mark.parametrize(("statuses", "expected"), [
    ([], "Pending"),
    (["Pending", "Pending"], "Pending"),
    (["Succeeded", "Pending"], "InProgress"),
    (["Succeeded", "InProgress"], "InProgress"),
    (["Succeeded", "Failed"], "Failed"),
    (["InProgress", "Failed"], "Failed"),
    (["Succeeded", "Succeeded"], "Succeeded"),
    (["Succeeded", "Abandoned"], "Stopped"),
], ids=["no-actions", "nothing-started", "half-done", "running", "one-failed",
        "failed-while-other-runs", "all-succeeded", "abandoned"])
def test_stage_status_combines_action_statuses(statuses, expected):
    stage = StageProgress("S", [_action("S", f"a{i}", s) for i, s in enumerate(statuses)])
    assert stage.status == expected


def test_fraction_counts_finished_actions_and_is_whole_when_over():
    running = _execution()
    assert (running.finished_actions, running.total_actions) == (1, 3)
    assert running.fraction == pytest.approx(1 / 3)
    assert _execution("Failed").fraction == 1.0


def test_elapsed_times_run_to_now_until_finished():
    ex = _execution(now=30)
    assert ex.stages[0].elapsed_seconds(ex.now) == 2.0          # finished: start to end
    assert ex.stages[1].elapsed_seconds(ex.now) == 28.0         # running: start to now
    assert ex.stages[2].elapsed_seconds(ex.now) is None         # not started
    assert ex.elapsed_seconds() == 30.0                         # first action start to now


def test_rows_and_bar():
    ex = _execution()
    assert progress.stage_rows(ex) == [("Source", "Succeeded", "1/1", "2.0 s"),
                                       ("Build", "InProgress", "0/1", "28.0 s"),
                                       ("Deploy", "Pending", "0/1", "-")]
    assert progress.action_rows(ex)[1] == ("Build", "Build", "InProgress", "28.0 s")
    assert progress.text_bar(0.35, 20) == "[#######.............] 35%"


def test_text_progress_prints_each_stage_once_when_it_ends():
    lines: list[str] = []
    view = progress.TextProgress(lines.append)
    ex = _execution()
    view(ex)
    view(ex)  # a second look with nothing new prints nothing
    ex.stages[1].actions[0].status = "Failed"
    view(ex)
    assert lines == ["Source: Succeeded (2.0 s)", "Build: Failed (18.0 s)"]


def test_waiting_for_approval_is_named_in_the_final_line():
    ex = _execution()
    ex.stages[2].actions[0] = _action("Deploy", "Approve", "InProgress", 20, None, "Approval")
    assert ex.waiting_for_approval.action == "Approve"
    assert "waiting for approval at Deploy/Approve" in progress.final_line(ex)


def test_widget_shows_bar_headline_and_table():
    view = progress.WidgetProgress(show=False)
    ex = _execution()
    view(ex)
    assert view.bar.value == pytest.approx(1 / 3)
    assert view.bar.bar_style == "info"
    assert "1/3 actions done" in view.title.value
    assert "Build" in view.table.value and "InProgress" in view.table.value
    ex.stages[1].actions[0].status = "Failed"
    ex.status = "Failed"
    view(ex)
    assert (view.bar.value, view.bar.bar_style) == (1.0, "danger")


def test_reporter_is_text_headless():
    assert isinstance(progress.reporter(headless=True), progress.TextProgress)


def test_describe_failure_points_at_action_build_and_log():
    failure = FailureDetails("e", "Build", "Build", "npm test failed", "app-build:abc",
                             "FAILED", "/aws/codebuild/app-build", "abc")
    text = progress.describe_failure(failure)
    assert "failed action: Build/Build" in text
    assert "build: app-build:abc (FAILED)" in text
    assert "--log-group-name /aws/codebuild/app-build --log-stream-name abc" in text
    assert progress.describe_failure(None) == "no action failed"


def test_text_progress_beats_out_of_band_while_a_stage_runs():
    lines, beats = [], []
    view = progress.TextProgress(lines.append, beats.append, heartbeat_every=0)
    view(_execution())
    view(_execution(now=40))
    assert lines == ["Source: Succeeded (2.0 s)"]  # the stored output: stage ends only
    assert len(beats) == 2 and beats[0].startswith("p · execution 11111111 · InProgress")


def _waiting_at_approval():
    stages = [
        StageProgress("Build", [_action("Build", "Build", "Succeeded", 0, 20)]),
        StageProgress("Approve-production", [_action("Approve-production", "Approve",
                                                      "InProgress", 20, 21, "Approval")]),
    ]
    return ExecutionProgress("p", "e1", "InProgress", T0 + timedelta(seconds=30), stages=stages)


def test_a_run_waiting_for_approval_says_how_to_answer_it():
    from runbook_lib.operate.pipeline_state import PendingApproval

    pending = [PendingApproval("p", "Approve-staging", "Approve", "t-other", "e0"),
               PendingApproval("p", "Approve-production", "Approve", "t-123", "e1")]
    text = progress.describe_waiting(_waiting_at_approval(), pending)
    assert "waits for approval at Approve-production/Approve" in text
    assert "notebook 11_approvals" in text
    assert ("aws codepipeline put-approval-result --pipeline-name p --stage-name "
            "Approve-production --action-name Approve --token t-123 ") in text
    assert "t-other" not in text


def test_nothing_waits_when_the_run_ended_or_runs():
    assert progress.describe_waiting(_execution("Succeeded"), []) == "no approval is waiting"
    assert progress.describe_waiting(_execution(), []) == "no approval is waiting"
    # The token may already be answered by someone else: the cockpit is still named.
    assert "notebook 11_approvals" in progress.describe_waiting(_waiting_at_approval(), [])


def test_a_rollback_is_shown_as_one_and_counts_only_the_stage_it_ran():
    """An automated rollback re-runs one stage: "rollback of X, 1/5 actions" read as a run
    that stopped early; it is shown as a rollback, over the actions it ran."""
    stages = [
        StageProgress("Build", [_action("Build", "Build", "Pending", 0, 0)]),
        StageProgress("Deploy-production", [_action("Deploy-production", "Deploy",
                                                     "Succeeded", 0, 5)]),
    ]
    run = ExecutionProgress("p", "e1", "Succeeded", T0 + timedelta(seconds=30), stages=stages,
                            rollback_target="abcdef1234", is_rollback=True)
    line = progress.headline(run)
    assert "rollback e1 (back to abcdef12)" in line and "1/1 actions done" in line


def test_the_next_link_after_a_run_goes_where_the_run_points():
    from runbook_lib.operate.executions import FailureDetails, FollowedRun

    waiting = FollowedRun("e1", _waiting_at_approval())
    assert progress.next_after(waiting, None).notebook == "11_approvals.ipynb"
    failed = FollowedRun("e1", _execution("Failed"))
    build = FailureDetails("e1", "Build", "Build", "npm test failed", build_id="p:1")
    assert progress.next_after(failed, build).notebook == "10_build_logs.ipynb"
    assert progress.next_after(FollowedRun("", note="not run yet"), None).notebook == \
        "00_overview.ipynb"
    done = FollowedRun("e1", _execution("Succeeded"))
    assert progress.next_after(done, None).notebook == "12_stage_durations.ipynb"
