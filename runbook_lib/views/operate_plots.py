"""Figures of operating the pipeline: durations, failures, DORA, a metric under deploys.

Each figure is drawn from a pure ``*_data`` function (what the tests check): values already in
the figure's unit, labels, colours, markers. Status is shown by colour and by hatching, from the
house palette, so a failure stays visible without colour. :mod:`runbook_lib.views.plots`
draws the pipeline itself and shows every figure (``show_figure``).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from runbook_lib.core.text import iso_time
from runbook_lib.operate.report import HealthReport, execution_seconds
from runbook_lib.views import palette
from runbook_lib.views.palette import OKABE_ITO, STATUS_STYLES

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from runbook_lib.operate.dora import DoraReport, MetricSeries
    from runbook_lib.operate.durations import DurationStats, ExecutionRecord

STATUS_COLOURS = {s: STATUS_STYLES[s].colour for s in ("Succeeded", "Failed", "InProgress")}
STATUS_HATCHES = {s: STATUS_STYLES[s].hatch for s in ("Failed", "InProgress")}
TIME_UNITS = (("s", 1.0), ("min", 60.0), ("h", 3600.0), ("d", 86400.0))


def time_unit(max_seconds: float | None) -> tuple[str, float]:
    """The unit (name, seconds per unit) that keeps the largest value readable: seconds
    under 2 min, minutes under 2 h, hours under 2 days, else days."""
    value = max_seconds or 0.0
    for (name, size), (_, next_size) in itertools.pairwise(TIME_UNITS):
        if value < 2 * next_size:
            return name, size
    return TIME_UNITS[-1]


@dataclass(frozen=True)
class GanttBar:
    label: str  # "Stage / Action"
    start: float  # from the execution's start, in the chart's unit
    length: float  # in the chart's unit; 0 while running
    status: str
    colour: str
    hatch: str


@dataclass(frozen=True)
class GanttData:
    title: str
    unit: str
    bars: list[GanttBar]

    @property
    def xlabel(self) -> str:
        return f"time since the execution started ({self.unit})"


def gantt_data(record: ExecutionRecord | None) -> GanttData:
    """One bar per action attempt, top to bottom in the order they started (no bars for no
    execution)."""
    if record is None:
        return GanttData("no execution to show", "s", [])
    origin = record.start or min((a.start for s in record.stages for a in s.actions
                                  if a.start), default=None)
    actions = [a for s in record.stages for a in s.actions if a.start and origin]
    spans = [((a.start - origin).total_seconds(), a.duration_s or 0.0)
             for a in actions if a.start and origin]
    unit, size = time_unit(max((start + length for start, length in spans), default=0.0))
    bars = [GanttBar(f"{a.stage} / {a.action}", start / size, length / size, a.status,
                     STATUS_COLOURS.get(a.status, OKABE_ITO["grey"]),
                     STATUS_HATCHES.get(a.status, ""))
            for a, (start, length) in zip(actions, spans, strict=True)]
    title = (f"{record.pipeline}: execution {record.execution_id[:8]} ({record.status}, "
             f"commit {record.commit_id[:7] or '-'})")
    return GanttData(title, unit, bars)


def draw_gantt(data: GanttData) -> Figure:
    from matplotlib import pyplot as plt
    from matplotlib.patches import Patch

    fig, ax = plt.subplots(figsize=(9.0, 1.2 + 0.45 * max(1, len(data.bars))))
    for row, bar in enumerate(data.bars):
        ax.barh(row, bar.length, left=bar.start, color=bar.colour, hatch=bar.hatch or None,
                edgecolor="#000000", linewidth=0.8)
    ax.set_yticks(range(len(data.bars)), [b.label for b in data.bars])
    ax.invert_yaxis()
    ax.set_xlabel(data.xlabel)
    ax.set_ylabel("stage / action")
    ax.set_title(data.title, fontsize=11)
    present = list(dict.fromkeys(b.status for b in data.bars))
    ax.legend(handles=[Patch(facecolor=STATUS_COLOURS.get(s, OKABE_ITO["grey"]),
                             hatch=STATUS_HATCHES.get(s), edgecolor="#000000", label=s)
                       for s in present], loc="lower right", fontsize=9)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


@dataclass(frozen=True)
class DurationBars:
    """The health report's chart: one bar per finished execution, oldest first (so time reads
    downwards), values in ``unit``; ``bars`` are :class:`GanttBar` starting at 0."""

    title: str
    unit: str
    bars: list[GanttBar]

    @property
    def xlabel(self) -> str:
        return f"duration, start to end of the execution ({self.unit})"


def execution_duration_data(report: HealthReport) -> DurationBars:
    """The health report's executions as bars, in the unit that keeps the longest readable;
    status by palette colour and hatch, so a failure shows without colour too."""
    finished = [(e, s) for e in reversed(report.executions)
                if (s := execution_seconds(e)) is not None]
    unit, size = time_unit(max((s for _, s in finished), default=0.0))
    bars = [GanttBar(f"{iso_time(e.start_time, missing='-')[:16].replace('T', ' ')} "
                     f"{e.commit_id[:7]}".strip(), 0.0, s / size, e.status,
                     palette.colour(e.status), palette.hatch(e.status)) for e, s in finished]
    return DurationBars(f"{report.pipeline}: executions of the last {report.days} d", unit, bars)


def draw_execution_durations(data: DurationBars) -> Figure:
    from matplotlib import pyplot as plt
    from matplotlib.patches import Patch

    fig, ax = plt.subplots(figsize=(8, 1.2 + 0.45 * max(1, len(data.bars))))
    ax.barh([b.label for b in data.bars], [b.length for b in data.bars],
            color=[b.colour for b in data.bars], hatch=[b.hatch or None for b in data.bars],
            edgecolor="#000000")
    ax.invert_yaxis()
    ax.set_xlabel(data.xlabel)
    ax.set_ylabel("execution start (UTC) and commit")
    ax.set_title(data.title)
    present = list(dict.fromkeys(b.status for b in data.bars))
    ax.legend(handles=[Patch(facecolor=palette.colour(s), hatch=palette.hatch(s) or None,
                             edgecolor="#000000", label=s) for s in present],
              loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


@dataclass(frozen=True)
class StageTrend:
    stage: str
    runs: list[int]  # execution number in the window, 1 = oldest
    values: list[float]  # finished durations, in the figure's unit
    p50: float | None
    p90: float | None


@dataclass(frozen=True)
class TrendData:
    title: str
    unit: str
    stages: list[StageTrend]

    @property
    def ylabel(self) -> str:
        return f"duration ({self.unit})"

    xlabel = "execution (1 = oldest shown)"


def stage_trend_data(records: Sequence[ExecutionRecord]) -> TrendData:
    """Each stage's finished durations run by run, with its p50 and p90, in one unit."""
    from runbook_lib.operate.durations import percentile, stage_order

    series: dict[str, tuple[list[int], list[float]]] = {}
    for number, record in enumerate(records, start=1):
        for stage in record.stages:
            runs, values = series.setdefault(stage.stage, ([], []))
            if stage.duration_s is not None and stage.status not in ("InProgress", "Stopping"):
                runs.append(number)
                values.append(stage.duration_s)
    unit, size = time_unit(max((v for _, vs in series.values() for v in vs), default=0.0))
    order = stage_order(records)
    stages = []
    for name in sorted(series, key=order.index):
        runs, values = series[name]
        p50, p90 = percentile(values, 50), percentile(values, 90)
        stages.append(StageTrend(name, runs, [v / size for v in values],
                                 None if p50 is None else p50 / size,
                                 None if p90 is None else p90 / size))
    pipeline = records[-1].pipeline if records else ""
    return TrendData(f"{pipeline}: stage durations over the last {len(records)} executions",
                     unit, stages)


def draw_stage_trends(data: TrendData) -> Figure:
    """Small multiples, one panel per stage: durations as points and line, p50 dashed and p90
    dotted."""
    from matplotlib import pyplot as plt
    from matplotlib.ticker import MaxNLocator

    count = max(1, len(data.stages))
    fig, axes = plt.subplots(count, 1, figsize=(9.0, 1.2 + 1.7 * count), sharex=True,
                             squeeze=False)
    trends: list[StageTrend | None] = [*data.stages] or [None]
    for ax, trend in zip(axes[:, 0], trends, strict=True):
        if trend is None:
            ax.text(0.5, 0.5, "no finished stages", ha="center", transform=ax.transAxes)
            continue
        ax.plot(trend.runs, trend.values, marker="o", color=OKABE_ITO["blue"],
                label="duration")
        if trend.p50 is not None:
            ax.axhline(trend.p50, color=OKABE_ITO["orange"], linestyle="--", label="p50")
            ax.axhline(trend.p90, color=OKABE_ITO["vermillion"], linestyle=":", label="p90")
        ax.set_title(trend.stage, fontsize=10, loc="left")
        ax.set_ylabel(data.ylabel)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel(data.xlabel)
    axes[-1, 0].xaxis.set_major_locator(MaxNLocator(integer=True))
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.suptitle(data.title, fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    if handles:
        fig.legend(handles, labels, loc="upper right", fontsize=8, ncol=3, frameon=False)
    return fig


@dataclass(frozen=True)
class FailureRateData:
    title: str
    stages: list[str]
    percent: list[float]
    notes: list[str]  # "1 of 3"

    xlabel = "failure rate (% of executions that reached the stage)"


def failure_rate_data(stats: Sequence[DurationStats], pipeline: str = "") -> FailureRateData:
    """Per stage: the share of runs reaching it that failed there."""
    return FailureRateData(
        f"{pipeline + ': ' if pipeline else ''}failure rate per stage",
        [s.stage for s in stats], [100.0 * s.failure_rate for s in stats],
        [f"{s.failures} of {s.runs}" for s in stats])


def draw_failure_rates(data: FailureRateData) -> Figure:
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(9.0, 1.2 + 0.5 * max(1, len(data.stages))))
    rows = range(len(data.stages))
    ax.barh(rows, data.percent, color=[OKABE_ITO["vermillion"] if p else OKABE_ITO["grey"]
                                       for p in data.percent], edgecolor="#000000")
    for row, (pct, note) in enumerate(zip(data.percent, data.notes, strict=True)):
        ax.text(min(pct, 100) + 1, row, f"{pct:.0f}% ({note})", va="center", fontsize=9)
    ax.set_yticks(rows, data.stages)
    ax.invert_yaxis()
    ax.set_xlim(0, 115)
    ax.set_xlabel(data.xlabel)
    ax.set_ylabel("stage")
    ax.set_title(data.title, fontsize=11)
    fig.tight_layout()
    return fig


@dataclass(frozen=True)
class DoraFigureData:
    title: str
    deploy_days: list[str]  # calendar days (UTC) with their production deploy counts
    deploys_per_day: list[int]
    lead_unit: str
    lead_labels: list[str]  # short execution ids
    lead_times: list[float]
    failed_attempts: int
    attempts: int
    restore_unit: str
    restore_labels: list[str]
    restore_times: list[float]


def dora_figure_data(report: DoraReport, pipeline: str = "") -> DoraFigureData:
    """The four DORA panels' values: deploys per day, lead time per deploy, change
    failures against attempts, time to restore per incident."""
    days: dict[str, int] = {}
    for d in report.deployments:
        key = d.deployed_at.astimezone(UTC).date().isoformat()
        days[key] = days.get(key, 0) + 1
    lead = [(d.execution_id[:8], d.lead_time_s) for d in report.deployments
            if d.lead_time_s is not None]
    lead_unit, lead_size = time_unit(max((v for _, v in lead), default=0.0))
    restores = [(r.failed_execution_id[:8], r.duration_s) for r in report.restores
                if r.duration_s is not None]
    restore_unit, restore_size = time_unit(max((v for _, v in restores), default=0.0))
    return DoraFigureData(
        f"{pipeline + ': ' if pipeline else ''}DORA metrics ({report.production_stage})",
        sorted(days), [days[k] for k in sorted(days)],
        lead_unit, [k for k, _ in lead], [v / lead_size for _, v in lead],
        len(report.failed_attempts), report.attempts,
        restore_unit, [k for k, _ in restores], [v / restore_size for _, v in restores])


def draw_dora(data: DoraFigureData) -> Figure:
    from matplotlib import pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(2, 2, figsize=(10.0, 6.5))
    (freq, lead), (cfr, ttr) = axes
    freq.bar(data.deploy_days, data.deploys_per_day, color=OKABE_ITO["bluish green"],
             edgecolor="#000000")
    freq.set(title="deployment frequency", xlabel="day (UTC)",
             ylabel="production deploys (count)")
    lead.bar(data.lead_labels, data.lead_times, color=OKABE_ITO["blue"], edgecolor="#000000")
    lead.set(title="lead time, commit to production", xlabel="deployment (execution)",
             ylabel=f"lead time ({data.lead_unit})")
    ok = data.attempts - data.failed_attempts
    cfr.bar(["succeeded", "failed or rolled back"], [ok, data.failed_attempts],
            color=[OKABE_ITO["bluish green"], OKABE_ITO["vermillion"]],
            hatch=[None, "xx"], edgecolor="#000000")
    rate = f"{100 * data.failed_attempts / data.attempts:.0f}%" if data.attempts else "-"
    cfr.set(title=f"change failure rate: {rate}", xlabel="production deploy attempts",
            ylabel="attempts (count)")
    ttr.bar(data.restore_labels, data.restore_times, color=OKABE_ITO["orange"],
            edgecolor="#000000")
    ttr.set(title="time to restore", xlabel="incident (first failed execution)",
            ylabel=f"time to restore ({data.restore_unit})")
    for ax in (freq, cfr):
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    for ax in axes.flat:
        ax.tick_params(axis="x", labelsize=8)
        if not ax.has_data() or not any(p.get_height() for p in ax.patches):
            ax.text(0.5, 0.5, "none in this window", ha="center", va="center",
                    transform=ax.transAxes, color=OKABE_ITO["grey"])
    fig.suptitle(data.title, fontsize=11)
    fig.tight_layout()
    return fig


@dataclass(frozen=True)
class MetricTimelineData:
    metric: str  # the series' label: namespace, name, statistic, dimensions
    title: str
    ylabel: str
    times: list[datetime]
    values: list[float]
    deploys: list[tuple[datetime, str]]  # (when, short execution id)
    rollbacks: list[tuple[datetime, str]]

    xlabel = "time (UTC)"


def metric_timeline_data(series: MetricSeries, report: DoraReport) -> MetricTimelineData:
    """The metric's points with production deploys and rollbacks to mark on its timeline:
    deploy, then the metric moving, then the rollback."""
    deploys = [(d.deployed_at, d.execution_id[:8]) for d in report.deployments]
    rollbacks = [(r.at, r.execution_id[:8]) for r in report.rollbacks]
    return MetricTimelineData(
        series.label, f"{series.name} around production deploys and rollbacks",
        f"{series.name} ({series.stat} per {series.period_s} s)",
        list(series.timestamps), list(series.values), deploys, rollbacks)


def draw_metric_timeline(data: MetricTimelineData) -> Figure:
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(10.0, 4.0))
    # matplotlib's stubs take numbers only; its unit registry converts datetimes at run time.
    ax.plot(data.times, data.values,  # type: ignore[arg-type]
            color=OKABE_ITO["blue"], marker=".", label=data.metric)
    for index, (when, _) in enumerate(data.deploys):
        ax.axvline(when, color=OKABE_ITO["bluish green"],  # type: ignore[arg-type]  # datetime linestyle="-", linewidth=1.5,
                   label="production deploy" if index == 0 else None)
    for index, (when, _) in enumerate(data.rollbacks):
        ax.axvline(when, color=OKABE_ITO["vermillion"],  # type: ignore[arg-type]  # datetime linestyle="--", linewidth=1.5,
                   label="rollback" if index == 0 else None)
    if not data.times:
        ax.text(0.5, 0.5, "no data points in this window", ha="center", va="center",
                transform=ax.transAxes, color=OKABE_ITO["grey"])
    ax.set(title=data.title, xlabel=data.xlabel, ylabel=data.ylabel)
    ax.legend(loc="upper left", fontsize=9)
    ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig

