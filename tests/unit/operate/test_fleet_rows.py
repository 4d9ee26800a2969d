"""The fleet report's rows write durations as every other table does."""

from __future__ import annotations

from datetime import datetime

from runbook_lib.operate import fleet_queries
from runbook_lib.operate.fleet import FleetReport, Table
from runbook_lib.operate.fleet_rows import stage_rows


def test_stage_durations_under_two_minutes_are_in_seconds():
    window = fleet_queries.Window(datetime(2026, 1, 1), datetime(2026, 1, 31), "Deploy")
    table = Table(["pipeline", "stage", "runs", "p50_ms", "p90_ms"],
                  [("p", "Build", 4, 45_000, 600_000), ("p", "Deploy", 1, None, None)])
    report = FleetReport(window, "duckdb", {"slowest_stages": table})
    assert stage_rows(report) == [("p", "Build", 4, "45.0 s", "10.0 min"),
                                  ("p", "Deploy", 1, "-", "-")]
