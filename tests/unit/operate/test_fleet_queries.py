"""The fleet queries: right numbers on a synthetic fleet (checked against the per-pipeline
report's own percentile), one text for both engines (Trino parse and DuckDB round trip), and
DuckDB never fetching an extension."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime

import pytest
import sqlglot

from benchmarks import fleet_data
from runbook_lib.operate import fleet
from runbook_lib.operate import fleet_queries as q
from runbook_lib.operate.durations import percentile

NOW = datetime(2026, 12, 7, 12, 0, 0)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("archive")
    events = list(fleet_data.fleet_events(6, 25, NOW, days=30, seed=3))
    fleet_data.write_archive(iter(events), folder, per_object=200)
    ext = tmp_path_factory.mktemp("ext")
    con = fleet.connect(ext)
    count = fleet.load_events(con, folder)
    window = fleet.window_for(30, NOW.replace(tzinfo=None))
    yield con, window, events, count, ext
    con.close()


def _expected_runs(events):
    """Per pipeline: statuses and successful durations (ms), straight from the events."""
    runs = defaultdict(dict)
    for e in events:
        d = e["detail"]
        if e["detail-type"] == fleet_data.DETAIL_TYPES["pipeline"] and d["state"] != "STARTED":
            start = datetime.fromisoformat(d["start-time"].replace("Z", ""))
            end = datetime.fromisoformat(e["time"].replace("Z", ""))
            runs[d["pipeline"]][d["execution-id"]] = (d["state"],
                                                      (end - start).total_seconds() * 1000)
    return runs


def test_every_event_is_loaded(loaded):
    _, _, events, count, _ = loaded
    assert count == len(events)


def test_pipeline_figures_match_a_direct_count(loaded):
    con, window, events, _, _ = loaded
    rows = {r["pipeline"]: r for r in fleet.run_queries(con, window)["pipelines"].dicts()}
    expected = _expected_runs(events)
    assert set(rows) == set(expected)
    for pipeline, runs in expected.items():
        row, states = rows[pipeline], [s for s, _ in runs.values()]
        ok = [ms for s, ms in runs.values() if s == "SUCCEEDED"]
        assert row["runs"] == len(runs)
        assert row["failed"] == states.count("FAILED")
        assert row["failure_rate"] == pytest.approx(states.count("FAILED") / len(states))
        assert row["p50_ms"] == pytest.approx(percentile(ok, 50))
        assert row["p90_ms"] == pytest.approx(percentile(ok, 90))


def test_stage_percentiles_interpolate_as_the_health_report(loaded):
    con, window, events, _, _ = loaded
    stages = fleet.run_queries(con, window)["stages"].dicts()
    starts, ok = {}, defaultdict(list)
    for e in events:
        d = e["detail"]
        if e["detail-type"] != fleet_data.DETAIL_TYPES["stage"]:
            continue
        key = (d["pipeline"], d["stage"], d["execution-id"])
        t = datetime.fromisoformat(e["time"].replace("Z", ""))
        if d["state"] == "STARTED":
            starts[key] = t
        elif d["state"] == "SUCCEEDED":
            ok[key[:2]].append((t - starts[key]).total_seconds() * 1000)
    for row in stages:
        want = ok.get((row["pipeline"], row["stage"]))
        if want:
            assert row["p90_ms"] == pytest.approx(percentile(want, 90)), row


@pytest.mark.parametrize("name", sorted(q.QUERIES))
def test_each_query_parses_as_trino_and_runs_the_same_after_a_round_trip(loaded, name):
    """Athena's dialect is Trino's: the text with Athena's source CTE must parse, and the
    metric text read as Trino and written back as DuckDB must give DuckDB's own rows."""
    con, window, _, _, _ = loaded
    sql = q.render(name, window)
    athena_sql = q.with_source(sql, q.athena_source("db", "pipeline_events",
                                                    [("2026", "11", "07")]))
    sqlglot.parse_one(athena_sql, read="trino")  # raises ParseError on anything not Trino
    round_trip = sqlglot.transpile(sql, read="trino", write="duckdb")[0]
    direct, via_trino = con.execute(sql).fetchall(), con.execute(round_trip).fetchall()
    assert direct, f"{name} returned nothing on the synthetic fleet"
    assert _rounded(direct) == _rounded(via_trino)


def _rounded(rows):
    return [tuple(round(v, 6) if isinstance(v, float) and not math.isnan(v) else v for v in r)
            for r in rows]


def test_duckdb_fetches_no_extension(loaded):
    con, window, _, _, ext = loaded
    fleet.run_queries(con, window)
    assert fleet.downloaded_extensions(con) == []
    assert list(ext.iterdir()) == []


def test_a_bad_window_is_refused_before_any_call():
    with pytest.raises(fleet.FleetError, match="days=0.*Fix: --days 30"):
        fleet.window_for(0)


def test_a_quote_in_the_production_stage_is_refused():
    with pytest.raises(ValueError, match="production_stage"):
        q.Window(NOW, NOW, "x' OR 1=1 --").literals()


def test_sparkline_scales_to_the_busiest_day():
    assert fleet.sparkline([0, 1, 2, 4]) == "▁▃▅█"
    assert fleet.sparkline([0, 0]) == "  "
