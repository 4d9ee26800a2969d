"""The live pipeline drawing: boxes carry their status's palette colour and symbol, stage bars
grow with finished actions, and the end of a run links to triage or the approval."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from runbook_lib.operate.watch import ActionProgress, ExecutionProgress, StageProgress
from runbook_lib.views import live_pipeline, palette

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def _action(stage, name, status, start=None, end=None, category="Build", external=""):
    return ActionProgress(stage, name, category, status,
                          T0 + timedelta(seconds=start) if start is not None else None,
                          T0 + timedelta(seconds=end) if end is not None else None, external)


def _look(build_status="InProgress", approve_status="Pending", status="InProgress"):
    stages = [
        StageProgress("Source", [_action("Source", "Source", "Succeeded", 0, 2, "Source")]),
        StageProgress("Build", [_action("Build", "Build", build_status, 2, 20,
                                        external="p-build:1234")]),
        StageProgress("Approve", [_action("Approve", "Approve", approve_status,
                                          category="Approval")]),
    ]
    return ExecutionProgress("p", "e-1", status, T0 + timedelta(seconds=30), stages=stages)


def _fills(svg: str) -> dict[str, str]:
    """Action box -> fill colour, read back from the markup."""
    return dict(re.findall(r"data-action='([^']+)' data-status='[^']+'><rect [^>]*fill='([^']+)'",
                           svg))


def test_boxes_take_their_status_colour_and_change_with_it():
    running = _fills(live_pipeline.pipeline_svg(_look()))
    assert running == {"Source/Source": palette.colour("Succeeded"),
                       "Build/Build": palette.colour("InProgress"),
                       "Approve/Approve": palette.colour("Pending")}
    failed = _fills(live_pipeline.pipeline_svg(_look("Failed", status="Failed")))
    assert failed["Build/Build"] == palette.colour("Failed") != running["Build/Build"]


def test_an_approval_waiting_has_its_own_colour():
    fills = _fills(live_pipeline.pipeline_svg(_look("Succeeded", "InProgress")))
    assert fills["Approve/Approve"] == palette.colour("Waiting") != palette.colour("InProgress")


def test_boxes_show_symbol_status_and_elapsed_time():
    svg = live_pipeline.pipeline_svg(_look())
    assert f"{palette.style('InProgress').symbol} InProgress · 28.0 s" in svg
    assert "stroke-dasharray" in svg  # the approval is dashed, not only coloured


def test_stage_bar_grows_with_finished_actions():
    widths = re.findall(r"class='stage-bar' x='\d+' y='\d+' width='(\d+)'",
                        live_pipeline.pipeline_svg(_look()))
    assert [int(w) for w in widths] == [live_pipeline.COLUMN_WIDTH - 16, 0, 0]


def test_drawing_is_deterministic_for_one_look():
    assert live_pipeline.pipeline_svg(_look()) == live_pipeline.pipeline_svg(_look())


def test_outcome_links_to_triage_or_approval():
    failed = live_pipeline.outcome_link(_look("Failed", status="Failed"))
    assert "10_build_logs.ipynb" in failed and "p-build:1234" in failed
    waiting = live_pipeline.outcome_link(_look("Succeeded", "InProgress"))
    assert "11_approvals.ipynb" in waiting
    assert live_pipeline.outcome_link(_look()) == ""


def test_widget_view_redraws_the_drawing_in_place():
    pytest.importorskip("ipywidgets")
    from runbook_lib.views import progress

    view = progress.WidgetProgress(show=False)
    view(_look())
    first = view.drawing.value
    view(_look("Failed", status="Failed"))
    assert view.drawing.value != first and "data-status='Failed'" in view.drawing.value
    assert "10_build_logs.ipynb" in view.outcome.value


def test_final_status_and_failure_keep_their_text_and_gain_a_badge():
    from runbook_lib.operate.executions import FailureDetails
    from runbook_lib.views import progress

    done = _look("Failed", status="Failed")
    badge = progress.final_status(done)
    assert badge.text() == progress.final_line(done) and "data-status='Failed'" in badge.html()
    failure = FailureDetails("e-1", "Build", "Build", "tests failed")
    shown = progress.failure_display(failure)
    assert shown.text() == progress.describe_failure(failure)
    assert "data-status='Failed'" in shown.html()
    assert progress.failure_display(None).text() == "no action failed"
