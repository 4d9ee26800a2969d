"""The data behind the operating figures (Gantt, stage trends, failure rates, DORA, metric
timeline), not their pixels; each figure is also drawn once to prove it renders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import matplotlib
import pytest

from runbook_lib.operate import dora, durations
from runbook_lib.operate.durations import ActionRecord, ExecutionRecord, StageRecord
from runbook_lib.views import operate_plots, palette, plots

matplotlib.use("Agg")

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
PROD = "Deploy-production"


def _t(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def _stage(eid, name, status, start, end, category="Build"):
    action = ActionRecord(eid, name, name, category, "X", status, _t(start),
                          None if end is None else _t(end))
    return StageRecord(eid, name, status, _t(start), None if end is None else _t(end), [action])


def _records():
    """green (build 100 s), red (build fails after 40 s), fix (build 300 s), then rollback."""
    green = ExecutionRecord("app-pipeline", "11111111-aaaa", "Succeeded", "STANDARD", "Webhook",
                            _t(0), _t(200), "c1" * 20, commit_time=_t(-600), stages=[
                                _stage("1", "Source", "Succeeded", 0, 5, "Source"),
                                _stage("1", "Build", "Succeeded", 5, 105),
                                _stage("1", PROD, "Succeeded", 150, 200, "Deploy")])
    red = ExecutionRecord("app-pipeline", "22222222-bbbb", "Failed", "STANDARD", "Webhook",
                          _t(1000), _t(1045), "c2" * 20, stages=[
                              _stage("2", "Source", "Succeeded", 1000, 1005, "Source"),
                              _stage("2", "Build", "Failed", 1005, 1045)])
    fix = ExecutionRecord("app-pipeline", "33333333-cccc", "Succeeded", "STANDARD", "Webhook",
                          _t(2000), _t(2400), "c3" * 20, commit_time=_t(1900), stages=[
                              _stage("3", "Source", "Succeeded", 2000, 2005, "Source"),
                              _stage("3", "Build", "Succeeded", 2005, 2305),
                              _stage("3", PROD, "Succeeded", 2350, 2400, "Deploy")])
    back = ExecutionRecord("app-pipeline", "44444444-dddd", "Succeeded", "ROLLBACK",
                           "ManualRollback", _t(3000), _t(3050), "c1" * 20,
                           rollback_target="11111111-aaaa",
                           stages=[_stage("4", PROD, "Succeeded", 3000, 3050, "Deploy")])
    return [green, red, fix, back]


@pytest.mark.parametrize(("seconds", "unit"), [(None, "s"), (90, "s"), (119, "s"),
                                               (120, "min"), (7199, "min"), (7200, "h"),
                                               (172800, "d")],
                         ids=["none", "s", "just-s", "min", "just-min", "h", "d"])
def test_time_unit_keeps_values_readable(seconds, unit):
    assert operate_plots.time_unit(seconds)[0] == unit


def test_gantt_data_bars_in_start_order_with_status_colour_and_hatch():
    red = _records()[1]
    data = operate_plots.gantt_data(red)
    assert data.unit == "s" and data.xlabel == "time since the execution started (s)"
    assert [(b.label, b.start, b.length, b.status) for b in data.bars] == [
        ("Source / Source", 0.0, 5.0, "Succeeded"), ("Build / Build", 5.0, 40.0, "Failed")]
    assert data.bars[1].colour == palette.OKABE_ITO["vermillion"] and data.bars[1].hatch == "xx"
    assert data.bars[0].colour == palette.OKABE_ITO["bluish green"] and not data.bars[0].hatch
    assert "22222222" in data.title and "Failed" in data.title
    fix = operate_plots.gantt_data(_records()[2])
    assert fix.unit == "min" and fix.bars[-1].start == pytest.approx(2350 / 60 - 2000 / 60)


def test_a_running_action_draws_as_a_zero_length_bar():
    record = ExecutionRecord("p", "e", "InProgress", "STANDARD", "", _t(0), None,
                             stages=[_stage("e", "Build", "InProgress", 0, None)])
    (bar,) = operate_plots.gantt_data(record).bars
    assert (bar.length, bar.colour, bar.hatch) == (0.0, palette.OKABE_ITO["sky blue"], "..")


def test_stage_trend_data_values_and_percentiles_in_one_unit():
    data = operate_plots.stage_trend_data(_records())
    assert data.unit == "min" and data.ylabel == "duration (min)"
    assert [t.stage for t in data.stages] == ["Source", "Build", PROD]
    build = data.stages[1]
    assert build.runs == [1, 2, 3]
    assert build.values == pytest.approx([100 / 60, 40 / 60, 300 / 60])
    assert build.p50 == pytest.approx(100 / 60)
    assert build.p90 == pytest.approx(durations.percentile([100, 40, 300], 90) / 60)
    assert data.stages[2].runs == [1, 3, 4]
    assert "last 4 executions" in data.title


def test_failure_rate_data():
    data = operate_plots.failure_rate_data(durations.stage_stats(_records()), "app-pipeline")
    assert data.stages == ["Source", "Build", PROD]
    assert data.percent == pytest.approx([0.0, 100 / 3, 0.0])
    assert data.notes == ["0 of 3", "1 of 3", "0 of 3"]
    assert "%" in data.xlabel


def test_dora_figure_data():
    report = dora.compute_dora(_records(), PROD)
    data = operate_plots.dora_figure_data(report, "app-pipeline")
    assert (data.deploy_days, data.deploys_per_day) == (["2026-03-02"], [2])
    assert data.lead_labels == ["11111111", "33333333"]
    assert data.lead_unit == "min"
    assert data.lead_times == pytest.approx([800 / 60, 500 / 60])
    assert (data.failed_attempts, data.attempts) == (1, 2)  # the fix was rolled back
    assert data.restore_labels == ["22222222"]
    assert data.restore_times == pytest.approx([(2400 - 1045) / 60])
    assert data.restore_unit == "min"


def test_metric_timeline_marks_deploys_and_rollbacks():
    report = dora.compute_dora(_records(), PROD)
    series = dora.MetricSeries("App", "ErrorRate", "Average", 60, {"Service": "web"},
                               [_t(0), _t(60)], [0.5, 2.5])
    data = operate_plots.metric_timeline_data(series, report)
    assert data.deploys == [(_t(200), "11111111"), (_t(2400), "33333333")]
    assert data.rollbacks == [(_t(3000), "44444444")]
    assert (data.times, data.values) == ([_t(0), _t(60)], [0.5, 2.5])
    assert data.ylabel == "ErrorRate (Average per 60 s)"
    assert data.metric == "App ErrorRate (Average, Service=web)"


def test_every_figure_renders_with_labelled_axes_and_a_title():
    records = _records()
    report = dora.compute_dora(records, PROD)
    series = dora.MetricSeries("App", "ErrorRate", "Average", 60, {}, [], [])
    figures = [
        operate_plots.draw_gantt(operate_plots.gantt_data(records[1])),
        operate_plots.draw_stage_trends(operate_plots.stage_trend_data(records)),
        operate_plots.draw_failure_rates(operate_plots.failure_rate_data(durations.stage_stats(records))),
        operate_plots.draw_dora(operate_plots.dora_figure_data(report)),
        operate_plots.draw_metric_timeline(operate_plots.metric_timeline_data(series, report)),
        operate_plots.draw_stage_trends(operate_plots.stage_trend_data([])),
    ]
    from matplotlib import pyplot as plt

    for fig in figures:
        axes = [ax for ax in fig.axes if ax.has_data()]
        for ax in axes:
            assert ax.get_ylabel()
        assert all(ax.get_xlabel() for ax in axes) or fig.axes[-1].get_xlabel()  # shared x
        assert any(ax.get_title() or ax.get_title(loc="left") for ax in fig.axes) or (
            fig._suptitle is not None)
        assert plots.figure_png(fig).startswith(b"\x89PNG")
        plt.close(fig)
