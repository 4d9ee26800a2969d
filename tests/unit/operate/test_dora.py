"""DORA metrics from execution records (pure, table-driven) and the metric read's parameters.
The CloudWatch metric read itself: tests/integration/operate/test_dora.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from runbook_lib.core.errors import ParameterError
from runbook_lib.core.params import Params
from runbook_lib.operate import dora
from runbook_lib.operate.durations import ExecutionRecord, StageRecord

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
PROD = "Deploy-production"


def _t(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def run(eid, start, end, status="Succeeded", prod="Succeeded", failed_in="", kind="STANDARD",
        target="", committed=None):
    """A run from ``start`` to ``end`` (minutes); the production stage takes its last minute
    (``prod`` None: the run never reached it)."""
    stages = [StageRecord(eid, "Build", "Failed" if failed_in == "Build" else "Succeeded",
                          _t(start), _t(start + 1))] if kind == "STANDARD" else []
    if prod is not None and failed_in != "Build":
        stages.append(StageRecord(eid, PROD, prod, _t(end - 1), _t(end)))
    return ExecutionRecord("p", eid, status, kind, "Webhook", _t(start), _t(end),
                           commit_id=f"c-{eid}", commit_time=None if committed is None
                           else _t(committed), rollback_target=target, stages=stages)


def test_production_stage_is_named_from_the_parameters():
    assert dora.production_stage(Params()) == "Deploy-production"
    assert dora.production_stage(Params(production_name="live")) == "Deploy-live"


CASES = {
    # name: (records, deployments, attempts, failed attempts, restores [(failed, by, minutes)])
    "no-runs": ([], 0, 0, [], []),
    "green-red-fix": (
        [run("a", 0, 10, committed=-50), run("b", 20, 22, "Failed", failed_in="Build"),
         run("c", 30, 40, committed=25)],
        2, 2, [], [("b", "c", 18)]),
    "failed-production-deploy-rolled-back": (
        [run("a", 0, 10), run("b", 20, 30, "Failed", prod="Failed"),
         run("r", 31, 33, kind="ROLLBACK", target="a")],
        1, 2, ["b"], [("b", "r", 3)]),
    "good-deploy-later-rolled-back": (
        [run("a", 0, 10), run("b", 20, 30), run("r", 40, 41, kind="ROLLBACK", target="a"),
         run("c", 50, 60)],
        3, 3, ["b"], []),
    "consecutive-failures-are-one-incident": (
        [run("a", 0, 10), run("b", 20, 22, "Failed", failed_in="Build"),
         run("c", 30, 32, "Failed", failed_in="Build"), run("d", 40, 50)],
        2, 2, [], [("b", "d", 28)]),
    "still-broken": (
        [run("a", 0, 10), run("b", 20, 22, "Failed", failed_in="Build")],
        1, 1, [], [("b", "", None)]),
    "running-and-never-reached-production": (
        [run("a", 0, 10, prod=None, status="Stopped"),
         run("b", 20, 30, prod="InProgress", status="InProgress")],
        0, 0, [], []),
}


@pytest.mark.parametrize("name", CASES)
def test_dora_counts(name):
    records, deploys, attempts, failed, restores = CASES[name]
    report = dora.compute_dora(list(reversed(records)), PROD)  # order does not matter
    assert len(report.deployments) == deploys
    assert report.attempts == attempts
    assert report.failed_attempts == failed
    assert [(r.failed_execution_id, r.restored_by,
             None if r.duration_s is None else r.duration_s / 60) for r in report.restores
            ] == restores


def test_dora_rates_and_medians():
    report = dora.compute_dora(CASES["good-deploy-later-rolled-back"][0], PROD)
    assert report.change_failure_rate == pytest.approx(1 / 3)
    assert [d.failed for d in report.deployments] == [False, True, False]
    assert report.deployments[1].failure_reason.startswith("rolled back by r")
    assert report.deployment_frequency_per_day == 3.0  # span under a day counts as one
    green = dora.compute_dora(CASES["green-red-fix"][0], PROD)
    assert [d.lead_time_s / 60 for d in green.deployments] == [60, 15]
    assert green.lead_time_p50_s == 37.5 * 60
    assert green.time_to_restore_p50_s == 18 * 60
    assert green.change_failure_rate == 0.0
    assert dora.compute_dora([], PROD).change_failure_rate is None


def test_deployment_frequency_over_a_span_of_days():
    records = [run(f"e{i}", i * 24 * 60, i * 24 * 60 + 10) for i in range(4)]  # 3 days apart
    report = dora.compute_dora(records, PROD)
    assert report.span_days == pytest.approx(3 + 10 / 1440)
    assert report.deployment_frequency_per_day == pytest.approx(4 / report.span_days)


def test_lead_time_of_a_deploy_without_its_own_source_uses_the_commit_seen_elsewhere():
    first = run("a", 0, 10, committed=-30)
    again = run("b", 20, 30)
    again.commit_id = first.commit_id
    report = dora.compute_dora([first, again], PROD)
    assert [d.lead_time_s for d in report.deployments] == [40 * 60, 60 * 60]


def test_sample_history_commits_with_fixed_dates_are_timed_from_their_push():
    """The sample commits carry fixed 2026-01-01 dates (deterministic ids): measured from them,
    a lead time is the sample's age. Such deploys are timed from the run's start, and said so."""
    from runbook_lib.operate import sample_repo

    sample = run("a", 0, 10)
    sample.commit_time = sample_repo.FIXED_DATES_FROM.replace(minute=2)
    real = run("b", 20, 30, committed=15)
    report = dora.compute_dora([sample, real], PROD)
    assert [d.lead_time_s for d in report.deployments] == [10 * 60, 15 * 60]
    assert report.timed_from_push == 1
    lead = dict((name, (what, value)) for name, what, value in dora.dora_rows(report))
    assert "1 sample-history commits (fixed dates) timed from their push" in lead[
        "lead time (median)"][0]
    # A real commit on the same morning keeps its own date.
    assert not sample_repo.has_fixed_date(sample_repo.FIXED_DATES_FROM.replace(second=7))


def test_rows_print_units_and_what_was_measured():
    report = dora.compute_dora(CASES["green-red-fix"][0], PROD)
    rows = {m: (v, o) for m, o, v in dora.dora_rows(report)}
    assert rows["deployment frequency"][0] == "2.0 per day"
    assert rows["lead time (median)"][0] == "37.5 min"
    assert rows["change failure rate"] == ("0.0%", "0 of 2 production deploy attempts failed "
                                                   "or were rolled back")
    assert rows["time to restore (median)"][0] == "18.0 min"
    assert dora.deployment_rows(report)[0][:2] == ("c", "c-c")
    assert dora.restore_rows(report) == [("b", "2026-03-02T10:22:00Z", "c", "18.0 min")]
    open_rows = dict((m, o) for m, o, _ in dora.dora_rows(
        dora.compute_dora(CASES["still-broken"][0], PROD)))
    assert "still open since 2026-03-02T10:22:00Z" in open_rows["time to restore (median)"]


# -- the metric -------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "want"), [
    ("", {}),
    ("Service:web", {"Service": "web"}),
    (" Service : web , Stage:prod ", {"Service": "web", "Stage": "prod"}),
], ids=["empty", "one", "two-with-spaces"])
def test_parse_dimensions(text, want):
    assert dora.parse_dimensions(text) == want


@pytest.mark.parametrize("text", ["Service", "Service:", ":web"], ids=["no-colon", "no-value",
                                                                     "no-name"])
def test_parse_dimensions_rejects_broken_pairs(text):
    with pytest.raises(ParameterError, match="NAME:VALUE"):
        dora.parse_dimensions(text)


@pytest.mark.parametrize(("minutes", "want"), [(1, 60), (60, 60), (24 * 60, 180),
                                               (30 * 24 * 60, 5220)],
                         ids=["tiny", "hour", "day", "month"])
def test_metric_period_keeps_points_bounded(minutes, want):
    assert dora.metric_period(T0, _t(minutes)) == want
