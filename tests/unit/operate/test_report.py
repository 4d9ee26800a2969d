"""The health report's pure parts: excerpts, rates, the chart's data. Its refusals on the local
AWS: tests/integration/operate/test_report.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from runbook_lib.operate import report
from runbook_lib.operate.summaries import ExecutionSummary
from runbook_lib.views import operate_plots, palette

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def _run(status, start, minutes, commit="abcdef0123"):
    return ExecutionSummary(f"id-{start}", status, start_time=T0 + timedelta(minutes=start),
                            last_update_time=T0 + timedelta(minutes=start + minutes),
                            revisions=[{"revisionId": commit}])


def _report(*runs):
    return report.HealthReport("p", 7, T0 - timedelta(days=7), T0 + timedelta(days=1),
                               list(runs))


@pytest.mark.parametrize(("lines", "expected_first"), [
    (["a", "b", "c", "not ok 1 - greets", "d"], "a"),
    (["x"] * 10 + ["npm ERR! code E404", "y"], "x"),
    (["ok"] * 30, "ok"),
], ids=["tap-failure", "npm-error", "no-error-line-takes-the-tail"])
def test_log_excerpt_starts_before_the_first_error(lines, expected_first):
    excerpt = report.log_excerpt(lines, before=3, after=2, limit=20)
    assert excerpt[0] == expected_first
    assert len(excerpt) <= 20


def test_log_excerpt_shortens_build_checkout_paths():
    line = "  location: '/tmp/state/builds/app-build:1234/src/test/a.test.js:8:1'"
    assert report.log_excerpt(["not ok 1 - x", line]) == [
        "not ok 1 - x", "  location: '$CODEBUILD_SRC_DIR/test/a.test.js:8:1'"]


def test_failure_rate_and_summary():
    r = _report(_run("Succeeded", 20, 4), _run("Failed", 10, 1), _run("Succeeded", 0, 6),
                ExecutionSummary("running", "InProgress", start_time=T0))
    assert r.failure_rate == pytest.approx(1 / 3)
    rows = dict(r.summary_rows())
    assert rows["by status"] == "Failed 1, InProgress 1, Succeeded 2"
    assert rows["failure rate"] == "33%"
    assert rows["median successful run"] == "5.0 min"
    assert r.execution_rows()[0] == ("2026-01-01T12:20:00Z", "Succeeded", "unknown", "abcdef0",
                                     "4.0 min")


def test_duration_bars_are_oldest_first_with_status_colour_and_hatch():
    r = _report(_run("Succeeded", 20, 4), _run("Failed", 10, 1),
                ExecutionSummary("running", "InProgress", start_time=T0))
    data = operate_plots.execution_duration_data(r)
    assert data.unit == "min"
    assert [(b.status, b.length, b.hatch) for b in data.bars] == [
        ("Failed", 1.0, palette.hatch("Failed")), ("Succeeded", 4.0, "")]
    assert data.bars[0].hatch  # a failure shows without colour too
    assert data.bars[0].colour == palette.colour("Failed")
    assert data.bars[0].label == "2026-01-01 12:10 abcdef0"


def test_runs_under_a_minute_are_shown_in_seconds():
    r = _report(_run("Succeeded", 10, 0.5), _run("Succeeded", 0, 0.25))
    assert dict(r.summary_rows())["median successful run"] == "22.5 s"
    assert [row[4] for row in r.execution_rows()] == ["30.0 s", "15.0 s"]
    data = operate_plots.execution_duration_data(r)
    assert data.unit == "s" and [b.length for b in data.bars] == [15.0, 30.0]
    assert "(s)" in data.xlabel


def test_chart_has_labelled_axes():
    data = operate_plots.execution_duration_data(_report(_run("Succeeded", 0, 3)))
    fig = operate_plots.draw_execution_durations(data)
    ax = fig.axes[0]
    assert "(min)" in ax.get_xlabel() and ax.get_ylabel()
    from matplotlib import pyplot as plt

    plt.close(fig)
