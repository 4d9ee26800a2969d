"""Stage and action durations: the maths on records built in the test (table-driven) and the
CSV/JSON export. Records read from the local AWS: tests/integration/operate/test_durations.py."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta

import pytest

from runbook_lib.operate import durations, records_io

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
AUTHOR_DATE = "2026-03-02T09:00:00Z"


# -- pure: records from raw List responses -----------------------------------------------------


def _summary(eid, status, start, end, **extra):
    return {"pipelineExecutionId": eid, "status": status, "startTime": T0 + timedelta(
        seconds=start), "lastUpdateTime": T0 + timedelta(seconds=end),
        "trigger": {"triggerType": "Webhook"}, **extra}


def _action(eid, stage, action, status, start, end, category="Build", **output):
    return {"pipelineExecutionId": eid, "stageName": stage, "actionName": action,
            "status": status, "startTime": T0 + timedelta(seconds=start),
            "lastUpdateTime": T0 + timedelta(seconds=end),
            "input": {"actionTypeId": {"category": category, "provider": "X"}},
            "output": output}


def test_build_records_spans_orders_and_statuses():
    summaries = [
        _summary("e2", "InProgress", 100, 130),
        _summary("e1", "Failed", 0, 60, sourceRevisions=[
            {"revisionId": "c1", "revisionSummary": '{"CommitMessage": "fix it"}'}]),
    ]
    actions = [
        _action("e1", "Source", "Source", "Succeeded", 0, 2, "Source",
                outputVariables={"CommitId": "c1", "AuthorDate": "2026-03-02T09:30:00Z"}),
        _action("e1", "Test", "Unit", "Succeeded", 5, 20),
        _action("e1", "Test", "Lint", "Failed", 5, 9),
        _action("e1", "Build", "Build", "Succeeded", 3, 4),
        _action("e1", "Removed", "Old", "Succeeded", 50, 60),
        _action("e2", "Source", "Source", "Succeeded", 100, 101, "Source"),
        _action("e2", "Build", "Build", "InProgress", 102, 130),
        _action("e9", "Build", "Build", "Succeeded", 0, 1),  # not a wanted execution
    ]
    e1, e2 = durations.build_records("p", summaries, actions, ["Source", "Build", "Test"])
    assert [s.stage for s in e1.stages] == ["Source", "Build", "Test", "Removed"]
    test = e1.stage("Test")
    assert (test.status, test.duration_s) == ("Failed", 15.0)
    assert e1.commit_message == "fix it"
    assert e1.commit_time == datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    assert e1.duration_s == 60.0
    assert e2.end is None and e2.duration_s is None
    assert (e2.stage("Build").status, e2.stage("Build").duration_s) == ("InProgress", None)
    build = {s.stage: s for s in durations.stage_stats([e1, e2])}["Build"]
    assert (build.runs, build.failures, build.durations_s) == (2, 0, [1.0])


def test_a_retried_action_counts_its_latest_attempt_for_the_stage_status():
    actions = [_action("e1", "Build", "Build", "Failed", 0, 10),
               _action("e1", "Build", "Build", "Succeeded", 20, 50)]
    (record,) = durations.build_records("p", [_summary("e1", "Succeeded", 0, 60)], actions)
    stage = record.stage("Build")
    assert (stage.status, stage.duration_s, len(stage.actions)) == ("Succeeded", 50.0, 2)
    (action,) = durations.action_stats([record])
    assert (action.runs, action.failures, action.durations_s) == (2, 1, [10.0, 30.0])


@pytest.mark.parametrize(("values", "p", "want"), [
    ([], 50, None),
    ([4.0], 90, 4.0),
    ([1, 2, 3, 4], 50, 2.5),
    ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90, 9.1),
    ([10, 1, 5], 0, 1),
    ([10, 1, 5], 100, 10),
    ([3, None, 1], 50, 2.0),
], ids=["empty", "single", "even-median", "p90-of-ten", "p0-min", "p100-max", "skips-none"])
def test_percentile(values, p, want):
    got = durations.percentile(values, p)
    assert got == pytest.approx(want) if want is not None else got is None


@pytest.mark.parametrize(("statuses", "want"), [
    ([], ""),
    (["Succeeded", "Succeeded"], "Succeeded"),
    (["Succeeded", "Failed", "InProgress"], "Failed"),
    (["Succeeded", "InProgress"], "InProgress"),
    (["Succeeded", "Abandoned"], "Abandoned"),
    (["Stopping"], "InProgress"),
], ids=["none", "all-ok", "failed-wins", "running", "abandoned", "stopping"])
def test_combine_statuses(statuses, want):
    assert durations.combine_statuses(statuses) == want


def test_stats_rows_show_rates_and_percentiles():
    stats = [durations.DurationStats("Build", "", 4, 1, [10.0, 20.0, 30.0])]
    assert durations.stats_rows(stats) == [("Build", "-", 4, 1, "25.0%",
                                            "20.0 s / 28.0 s / 30.0 s")]


# -- export -------------------------------------------------------------------------------------


def test_save_records_writes_stable_csv_columns_and_nested_json(tmp_path, monkeypatch):
    actions = [_action("e1", "Source", "Source", "Succeeded", 0, 2, "Source"),
               _action("e1", "Build", "Build", "Failed", 3, 13.5, externalExecutionId="b:1")]
    records = durations.build_records("app-pipeline", [_summary("e1", "Failed", 0, 14),
                                                       _summary("e0", "Stopped", -9, -8)],
                                      actions, ["Source", "Build"])
    monkeypatch.chdir(tmp_path)
    csv_path, json_path = records_io.save_records(records, "exports")
    assert (csv_path.as_posix(), json_path.as_posix()) == (
        "exports/app-pipeline-durations.csv", "exports/app-pipeline-durations.json")
    with csv_path.open() as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
    assert tuple(reader.fieldnames) == records_io.CSV_COLUMNS
    assert [(r["execution_id"], r["stage"], r["action_duration_s"]) for r in rows] == [
        ("e0", "", ""), ("e1", "Source", "2.0"), ("e1", "Build", "10.5")]
    assert rows[2]["action_start"] == "2026-03-02T10:00:03Z"
    data = json.loads(json_path.read_text())
    assert data["columns_version"] == 1
    e1 = data["executions"][1]
    assert (e1["execution_id"], e1["duration_s"]) == ("e1", 14.0)
    assert [(s["stage"], s["status"], s["duration_s"]) for s in e1["stages"]] == [
        ("Source", "Succeeded", 2.0), ("Build", "Failed", 10.5)]
    assert records_io.shown_path(csv_path.resolve()) == "exports/app-pipeline-durations.csv"
    assert records_io.shown_path("/elsewhere/x.csv") == "x.csv"


@pytest.mark.parametrize(("runs", "want"), [
    ([], []),
    ([["A", "B", "C"]], ["A", "B", "C"]),
    ([["A", "B", "C"], ["C"]], ["A", "B", "C"]),
    ([["A", "B"], ["A", "X", "B"]], ["A", "X", "B"]),
    ([["A", "Old", "B"], ["A", "B"]], ["A", "Old", "B"]),
], ids=["none", "one-run", "rollback-last-stage-only", "stage-added", "stage-removed"])
def test_stage_order_merges_runs(runs, want):
    records = [durations.ExecutionRecord("p", str(i), "Succeeded", "STANDARD", "", T0, T0,
                                         stages=[durations.StageRecord(str(i), n, "Succeeded",
                                                                       T0, T0) for n in names])
               for i, names in enumerate(runs)]
    assert durations.stage_order(records) == want


def _masked_table(rows, headers, capsys):
    """The table as nbval compares it: printed, then the sanitize.cfg rules applied."""
    import configparser
    import re
    from pathlib import Path

    from runbook_lib.views import nb

    nb.table(rows, headers)
    text = capsys.readouterr().out
    rules = configparser.ConfigParser(interpolation=None)
    rules.read(Path(__file__).resolve().parents[2] / "notebooks" / "sanitize.cfg")
    for section in rules.sections():
        text = re.sub(rules[section]["regex"], rules[section]["replace"], text)
    return text


def test_tables_keep_their_layout_when_only_timings_change(capsys):
    from runbook_lib.operate import dora

    def tables(scale):
        summaries = [_summary("e1", "Succeeded", 0, 30 * scale),
                     _summary("e2", "Failed", 100 * scale, 101.5 * scale)]
        actions = [_action("e1", "Deploy-production", "Deploy", "Succeeded", 0, 30 * scale,
                           "Deploy"),
                   _action("e2", "Build", "Build", "Failed", 100 * scale, 101.5 * scale)]
        records = durations.build_records("p", summaries, actions)
        report = dora.compute_dora(records, "Deploy-production")
        return [_masked_table(rows, headers, capsys) for rows, headers in (
            (durations.execution_rows(records), durations.EXECUTION_HEADERS),
            (durations.stats_rows(durations.stage_stats(records)), durations.STATS_HEADERS),
            (dora.dora_rows(report), dora.DORA_HEADERS),
            (dora.deployment_rows(report), dora.DEPLOYMENT_HEADERS),
            (dora.restore_rows(report), dora.RESTORE_HEADERS))]

    assert tables(1) == tables(7.3)
