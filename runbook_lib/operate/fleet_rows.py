"""The fleet report's tables as rows to show: pure functions over a :class:`FleetReport`.

Durations are written by :func:`runbook_lib.core.text.format_duration` (seconds under two
minutes, then minutes, hours), rates in percent, a missing figure as ``-``; each pipeline's
row ends with a sparkline of its runs a day and links to its own health report
(``runbook report --pipeline NAME``), which reads that one pipeline through the APIs.
"""

from __future__ import annotations

from typing import Any

from runbook_lib.core.text import format_duration
from runbook_lib.operate.durations import percentile
from runbook_lib.operate.fleet import FleetReport, daily_counts, sparkline

PIPELINE_HEADERS = ("pipeline", "runs", "failed", "failure rate", "p50 run", "p90 run",
                    "deploys/day", "change failure", "lead time p50", "restore p50",
                    "runs a day")
STAGE_HEADERS = ("pipeline", "stage", "runs", "p50", "p90")
ACTION_HEADERS = ("pipeline", "stage", "action", "failures")
CHANGE_HEADERS = ("pipeline", "failure rate this week", "the week before", "change")
DORA_HEADERS = ("measure", "fleet")


def _duration(ms: Any) -> str:
    """Milliseconds (as the queries answer) written as every duration is."""
    return format_duration(None if ms is None else float(ms) / 1000)


def _percent(value: Any) -> str:
    return "-" if value is None else f"{float(value):.0%}"


def pipeline_rows(report: FleetReport) -> list[tuple[Any, ...]]:
    """One row a pipeline: its runs, how they ended, how long they took, its DORA figures."""
    dora = {r["pipeline"]: r for r in report.tables["dora"].dicts()}
    sparks = daily_counts(report)
    rows = []
    for r in report.tables["pipelines"].dicts():
        d = dora.get(r["pipeline"], {})
        rows.append((r["pipeline"], r["runs"], r["failed"], _percent(r["failure_rate"]),
                     _duration(r["p50_ms"]), _duration(r["p90_ms"]),
                     f"{float(d.get('deploys_per_day') or 0):.2f}",
                     _percent(d.get("change_failure_rate")), _duration(d.get("lead_p50_ms")),
                     _duration(d.get("restore_p50_ms")),
                     sparkline(sparks.get(r["pipeline"], []))))
    return rows


def stage_rows(report: FleetReport) -> list[tuple[Any, ...]]:
    return [(r["pipeline"], r["stage"], r["runs"], _duration(r["p50_ms"]), _duration(r["p90_ms"]))
            for r in report.tables["slowest_stages"].dicts()]


def action_rows(report: FleetReport) -> list[tuple[Any, ...]]:
    return [(r["pipeline"], r["stage"], r["action"], r["failures"])
            for r in report.tables["failing_actions"].dicts()]


def change_rows(report: FleetReport) -> list[tuple[Any, ...]]:
    return [(r["pipeline"], _percent(r["failure_rate_now"]), _percent(r["failure_rate_before"]),
             f"{float(r['change']) * 100:+.0f} points")
            for r in report.tables["health_change"].dicts()]


def fleet_dora_rows(report: FleetReport) -> list[tuple[str, str]]:
    """The fleet's DORA figures: sums over pipelines, and the median of pipelines' medians."""
    rows = report.tables["dora"].dicts()
    deployments = sum(int(r["deployments"] or 0) for r in rows)
    rates = [r["change_failure_rate"] for r in rows if r["change_failure_rate"] is not None]
    leads = sorted(r["lead_p50_ms"] for r in rows if r["lead_p50_ms"] is not None)
    restores = sorted(r["restore_p50_ms"] for r in rows if r["restore_p50_ms"] is not None)
    return [
        ("pipelines", str(len(rows))),
        ("deployments", str(deployments)),
        ("deployments a day", f"{deployments / report.window.days:.2f}"),
        ("change failure rate (median of pipelines)", _percent(_median(rates))),
        ("lead time, start to production (median of pipelines)", _duration(_median(leads))),
        ("time to restore (median of pipelines)", _duration(_median(restores))),
    ]


def _median(values: list[float]) -> float | None:
    return percentile(values, 50)


def health_links(report: FleetReport) -> dict[str, str]:
    """Each pipeline's name linked to its health report, as ``runbook fleet`` writes them."""
    return {r["pipeline"]: f"health/{r['pipeline']}.html"
            for r in report.tables["pipelines"].dicts()}
