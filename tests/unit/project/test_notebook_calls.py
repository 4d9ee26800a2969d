"""What the notebooks used to compute in their cells, now library calls with their own tests."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from runbook_lib.core.params import Params
from runbook_lib.operate import dora, history, records_io
from runbook_lib.operate.sample_repo import Commit
from runbook_lib.setup import config_store, preflight, teardown
from runbook_lib.views import plots


def _report(*decisions: str) -> preflight.PreflightReport:
    report = preflight.PreflightReport("aws", "us-east-1", "111122223333", "arn", None,
                                       Params(app_name="shop").names("111122223333"))
    report.permissions = [preflight.PermissionCheck(f"s3:Op{i}", "bucket", d)
                          for i, d in enumerate(decisions)]
    return report


@pytest.mark.parametrize(("decisions", "verdict"), [
    (("allowed", "skipped"), "preflight passed"),
    (("allowed", "implicitDeny", "explicitDeny"), "2 actions would be denied"),
], ids=["passed", "denied"])
def test_preflight_rows_and_verdict(decisions, verdict):
    report = _report(*decisions)
    assert preflight.permission_rows(report) == [
        ("bucket", f"s3:Op{i}", d) for i, d in enumerate(decisions)]
    assert report.verdict == verdict


@pytest.mark.parametrize(("kept", "text"), [
    ([], "nothing kept: every resource found was ours"),
    (["s3 bucket x", "iam role y"], "2 resources kept"),
], ids=["none", "two"])
def test_teardown_kept_summary(kept, text):
    assert teardown.kept_summary(kept) == text


def test_config_rows_follow_the_headers():
    entry = config_store.ConfigEntry("staging", "/shop/staging/A", "String", "1", "-", "a")
    rows = config_store.config_rows([entry])
    assert rows == [("staging", "/shop/staging/A", "String", "1", "-", "a")]
    assert len(rows[0]) == len(config_store.CONFIG_HEADERS)


def _step(label: str, stages: list[tuple[str, str]]) -> history.HistoryStep:
    return history.HistoryStep(label, Commit("a" * 40, label, "main"), "e-" + label,
                               "Succeeded", stages)


def test_history_rows_one_per_push_and_stage_rows_one_per_stage():
    steps = [_step("green", [("Source", "Succeeded"), ("Build", "Succeeded")]),
             _step("fix", [("Source", "Succeeded")])]
    assert history.history_rows(steps) == [s.row() for s in steps]
    assert history.stage_rows(steps) == [("green", "Source", "Succeeded"),
                                         ("green", "Build", "Succeeded"),
                                         ("fix", "Source", "Succeeded")]
    assert len(history.stage_rows(steps)[0]) == len(history.STAGE_HEADERS)


def test_history_not_requested_pushes_nothing():
    # No session is needed: nothing is called when the operator did not ask for the history.
    assert history.run_requested_history(None, Params(), Params().names(), 60, False) == []


def test_export_records_writes_both_files_or_says_why_not(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert records_io.export_records([], "") == "export_folder is empty: no files written"
    assert records_io.export_records([], "out").splitlines() == [
        "out/pipeline-durations.csv", "out/pipeline-durations.json"]
    assert (tmp_path / "out" / "pipeline-durations.csv").is_file()


def test_metric_timeline_is_shown_only_when_a_metric_was_read(monkeypatch):
    shown = []
    monkeypatch.setattr(plots, "show_figure", shown.append)
    report = dora.DoraReport("Deploy-production", 0, 1.0)
    plots.show_metric_timeline(None, report)
    assert shown == []
    series = dora.MetricSeries("App", "ErrorRate", "Average", 60, {},
                               [datetime(2026, 1, 1, tzinfo=UTC)], [1.0])
    plots.show_metric_timeline(series, report)
    assert len(shown) == 1
    from matplotlib import pyplot as plt

    plt.close(shown[0])
