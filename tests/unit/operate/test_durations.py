"""Stage and action durations: records read with paginated List calls (one call per page, not
per execution), the maths on them (table-driven), and the CSV/JSON export."""

from __future__ import annotations

import csv
import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from helpers import pipeline_role, wait_for_execution

from runbook_lib.core import errors
from runbook_lib.core.errors import ParameterError
from runbook_lib.core.session import AwsSession
from runbook_lib.local.codepipeline.actions import ActionOutcome, ArtifactRef, register
from runbook_lib.operate import durations, records_io

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
AUTHOR_DATE = "2026-03-02T09:00:00Z"


# -- a small pipeline whose actions finish at once, with a failing build on demand ------------


@register("Source", "DurationsTestSource")
class _Source:
    def run(self, ctx):
        refs = [ArtifactRef(n, ctx.artifact_bucket, ctx.new_artifact_key(n))
                for n in ctx.output_artifact_names]
        for ref in refs:
            ctx.aws.client("s3", ctx.region).put_object(Bucket=ref.bucket, Key=ref.key, Body=b"x")
        sha = "ab" * 20
        return ActionOutcome("Succeeded", "a commit", refs,
                             {"CommitId": sha, "AuthorDate": AUTHOR_DATE,
                              "CommitMessage": "a commit"},
                             revision={"revisionId": sha, "revisionSummary": "a commit",
                                       "created": time.time()})

    @staticmethod
    def can_start(aws, state_dir, region, configuration):
        return False  # runs start only when the test starts them


@register("Build", "DurationsTestBuild")
class _Build:
    def run(self, ctx):
        if ctx.configuration.get("Fail") == "yes":
            return ActionOutcome("Failed", "tests failed", external_execution_id="b:1")
        return ActionOutcome("Succeeded", "built", external_execution_id="b:2")


@register("Deploy", "DurationsTestDeploy")
class _Deploy:
    def run(self, ctx):
        return ActionOutcome("Succeeded", "deployed")


def _type(category, provider):
    return {"category": category, "owner": "AWS", "provider": provider, "version": "1"}


def _declaration(name, role_arn, bucket):
    return {
        "name": name, "roleArn": role_arn, "pipelineType": "V2", "executionMode": "QUEUED",
        "artifactStore": {"type": "S3", "location": bucket},
        "variables": [{"name": "Fail", "defaultValue": "no"}],
        "stages": [
            {"name": "Source", "actions": [{
                "name": "Source", "actionTypeId": _type("Source", "DurationsTestSource"),
                "configuration": {}, "outputArtifacts": [{"name": "Src"}],
                "namespace": "SourceVariables"}]},
            {"name": "Build", "actions": [{
                "name": "Build", "actionTypeId": _type("Build", "DurationsTestBuild"),
                "configuration": {"Fail": "#{variables.Fail}"},
                "inputArtifacts": [{"name": "Src"}]}]},
            {"name": "Deploy-production", "actions": [{
                "name": "Deploy", "actionTypeId": _type("Deploy", "DurationsTestDeploy"),
                "configuration": {}, "inputArtifacts": [{"name": "Src"}]}]},
        ],
    }


def _finish(cp, pipeline, execution_id, timeout=30.0):
    return wait_for_execution(cp, pipeline, execution_id, timeout=timeout)["status"]


@pytest.fixture(scope="module")
def history(local_aws):
    """A pipeline with four runs: green, red in Build, green, then a rollback of production to
    the first run. Returns (pipeline, [execution ids, oldest first])."""
    session = AwsSession("local", "us-east-1", endpoint_url=local_aws.endpoint_url)
    app = f"dur-{int(time.time() * 1000) % 10**8}"
    role = pipeline_role(session, app)
    session.client("s3").create_bucket(Bucket=f"{app}-art")
    pipeline = f"{app}-pipeline"
    cp = session.client("codepipeline")
    cp.create_pipeline(pipeline=_declaration(
        pipeline, role, f"{app}-art"))
    ids = []
    for fail in ("no", "yes", "no"):
        run = cp.start_pipeline_execution(name=pipeline, variables=[
            {"name": "Fail", "value": fail}])["pipelineExecutionId"]
        assert _finish(cp, pipeline, run) == ("Failed" if fail == "yes" else "Succeeded")
        ids.append(run)
    rollback = cp.rollback_stage(pipelineName=pipeline, stageName="Deploy-production",
                                 targetPipelineExecutionId=ids[0])["pipelineExecutionId"]
    assert _finish(cp, pipeline, rollback) == "Succeeded"
    ids.append(rollback)
    return pipeline, ids


def test_read_records_one_list_call_per_page_not_per_execution(local_aws, history):
    pipeline, ids = history
    session = AwsSession("local", "us-east-1", endpoint_url=local_aws.endpoint_url)
    records = durations.read_records(session, pipeline, last=10)
    assert [r.execution_id for r in records] == ids
    calls = session.recorder.calls
    assert calls[("codepipeline", "ListPipelineExecutions")] == 1
    assert calls[("codepipeline", "ListActionExecutions")] == 1  # 4 executions, 1 page
    assert calls[("codepipeline", "GetPipelineExecution")] == 0
    assert session.recorder.mutating_count == 0

    # 9 action executions (3 + 2 + 3 + 1) in pages of 3: 3 calls for 4 executions.
    session.recorder.reset()
    paged = durations.read_records(session, pipeline, last=10, page_size=3)
    assert session.recorder.calls[("codepipeline", "ListActionExecutions")] == 3
    assert records_io.records_json(paged) == records_io.records_json(records)


def test_read_records_reads_every_action_of_the_runs_wanted_in_bounded_calls(local_aws, history):
    """No page order is relied upon: one run wanted is one filtered listing; when the
    unfiltered pages would outnumber the runs, each run is read with its own listing."""
    pipeline, ids = history
    session = AwsSession("local", "us-east-1", endpoint_url=local_aws.endpoint_url)
    whole = {r.execution_id: r for r in durations.read_records(session, pipeline, last=10)}
    session.recorder.reset()
    records = durations.read_records(session, pipeline, last=1, page_size=1)
    assert [r.execution_id for r in records] == ids[-1:]
    assert session.recorder.calls[("codepipeline", "ListActionExecutions")] == 1

    session.recorder.reset()
    records = durations.read_records(session, pipeline, last=2, page_size=1)
    assert [r.execution_id for r in records] == ids[-2:]
    # 9 action executions in pages of 1: after 2 pages (2 runs) each run is read on its own.
    assert session.recorder.calls[("codepipeline", "ListActionExecutions")] == 2 + 2
    assert records_io.records_json(records) == records_io.records_json(
        [whole[i] for i in ids[-2:]])


def test_records_hold_stages_actions_commits_and_rollbacks(local_aws, history):
    pipeline, ids = history
    session = AwsSession("local", "us-east-1", endpoint_url=local_aws.endpoint_url)
    green, red, fix, rollback = durations.read_records(session, pipeline)
    assert [s.stage for s in green.stages] == ["Source", "Build", "Deploy-production"]
    assert [(s.stage, s.status) for s in red.stages] == [("Source", "Succeeded"),
                                                        ("Build", "Failed")]
    assert red.stage("Build").actions[0].external_id == "b:1"
    assert green.commit_id == "ab" * 20
    assert green.commit_time == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert green.trigger == "StartPipelineExecution"
    assert rollback.is_rollback and rollback.rollback_target == ids[0]
    assert [s.stage for s in rollback.stages] == ["Deploy-production"]
    for record in (green, red, fix, rollback):
        assert record.duration_s is not None and record.duration_s >= 0
        assert all(s.duration_s is not None for s in record.stages)
    stats = {s.stage: s for s in durations.stage_stats([green, red, fix, rollback])}
    assert (stats["Build"].runs, stats["Build"].failures) == (3, 1)
    assert (stats["Deploy-production"].runs, stats["Deploy-production"].failures) == (3, 0)


def test_unknown_pipeline_names_the_fix(session):
    with pytest.raises(errors.StepError, match="pipeline notebook"):
        durations.read_records(session, "no-such-pipeline")


@pytest.mark.parametrize("last", [0, -1, "5"], ids=["zero", "negative", "string"])
def test_last_must_be_a_positive_whole_number(session, last):
    with pytest.raises(ParameterError):
        durations.read_records(session, "any-pipeline", last=last)


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
