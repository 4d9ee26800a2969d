"""Done-when of the fleet report: pipelines run on the local AWS, their events go the real way
(engine -> EventBridge rule -> Firehose -> gzipped objects in S3), and the fleet report's
figures for each pipeline equal that pipeline's own health report for the same window."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from helpers import drop_archive_rule, make_zip, wait_until

from runbook_lib.core.params import Params
from runbook_lib.local.codepipeline.actions import ActionOutcome, ArtifactRef, register
from runbook_lib.local.events.bus import EventBus
from runbook_lib.operate import durations, fleet, fleet_athena, report
from runbook_lib.setup import bucket, event_archive
from runbook_lib.setup.event_archive_spec import ArchiveNames

# Slow: its module-scoped fixture builds a fleet of pipelines, a minute or more (kept out of
# `make check`); its tests share one worker under pytest-xdist instead of each building it.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("fleet_report")]

FAIL_NEXT: dict[str, int] = {}
RUNS = 3


@register("Source", "FleetTestSource")
class _Source:
    def run(self, ctx):
        ref = ArtifactRef("Src", ctx.artifact_bucket, ctx.new_artifact_key("Src"))
        ctx.aws.client("s3", ctx.region).put_object(Bucket=ref.bucket, Key=ref.key,
                                                    Body=make_zip({"a.txt": "a"}))
        return ActionOutcome("Succeeded", "commit", [ref], {"CommitId": "c0ffee"},
                             revision={"revisionId": "c0ffee", "revisionSummary": "t",
                                       "created": time.time()})


@register("Deploy", "FleetTestStep")
class _Step:
    def run(self, ctx):
        key = ctx.configuration["Key"]
        if FAIL_NEXT.get(key):
            FAIL_NEXT[key] -= 1
            return ActionOutcome("Failed", f"{key} failed on purpose")
        return ActionOutcome("Succeeded", "done", [], {})


def _declaration(name: str, bucket_name: str, key: str) -> dict:
    def type_id(category, provider):
        return {"category": category, "owner": "AWS", "provider": provider, "version": "1"}

    deploy = {"name": "Deploy", "actionTypeId": type_id("Deploy", "FleetTestStep"),
              "configuration": {"Key": key}, "inputArtifacts": [{"name": "Src"}]}
    return {"name": name, "roleArn": "arn:aws:iam::123456789012:role/fleet-test",
            "artifactStore": {"type": "S3", "location": bucket_name}, "pipelineType": "V2",
            "stages": [{"name": "Source", "actions": [{
                "name": "Source", "actionTypeId": type_id("Source", "FleetTestSource"),
                "outputArtifacts": [{"name": "Src"}]}]},
                {"name": "Deploy-staging", "actions": [deploy]},
                {"name": "Deploy-production", "actions": [{**deploy, "name": "Release"}]}]}


def _finish_all(cp, name: str, expected: int) -> None:
    def finished():
        runs = [s for page in cp.get_paginator("list_pipeline_executions").paginate(
            pipelineName=name) for s in page["pipelineExecutionSummaries"]]
        return runs if len(runs) >= expected and all(
            r["status"] not in ("InProgress", "Stopping") for r in runs) else None

    wait_until(finished, timeout=120, what=f"{expected} finished runs of {name}")


@pytest.fixture(scope="module")
def fleet_account(local_aws):
    """An archive, then three pipelines that run (some runs fail) through the real engine."""
    from runbook_lib.core.session import AwsSession

    session = AwsSession("local", "us-east-1", endpoint_url=local_aws.endpoint_url)
    params = Params(app_name="fleetrep")
    names = params.names()
    bucket.plan_artifact_bucket(session, params, names).apply()
    event_archive.plan_event_archive(session, params, names).apply()
    session.client("iam").create_role(RoleName="fleet-test", AssumeRolePolicyDocument="{}")
    cp = session.client("codepipeline")
    pipelines = []
    for i in range(3):
        name = f"fleetrep-{i}-pipeline"
        FAIL_NEXT[name] = i  # pipeline i fails its first i runs
        cp.create_pipeline(pipeline=_declaration(name, names.artifact_bucket, name))
        _finish_all(cp, name, 1)  # creating a pipeline starts a run, as on AWS
        for n in range(RUNS - 1):
            cp.start_pipeline_execution(name=name)
            _finish_all(cp, name, n + 2)
        pipelines.append(name)
    bus = local_aws.app.context.peers.get(EventBus)
    assert bus.wait_idle(30), "event delivery did not finish"
    yield session, params, names, pipelines
    for app in ("fleetrep", "fleetold"):
        drop_archive_rule(session, app)


def test_fleet_report_matches_each_pipelines_health_report(fleet_account):
    session, params, names, pipelines = fleet_account
    archive = ArchiveNames.derive(names, params)
    fleet_report = fleet.build_fleet_report(session, archive.bucket, fleet.window_for(30))
    assert fleet_report.objects > 0
    rows = {r["pipeline"]: r for r in fleet_report.tables["pipelines"].dicts()}
    assert set(pipelines) <= set(rows)
    for name in pipelines:
        health, row = report.build_health_report(session, name, 30), rows[name]
        counts = health.status_counts()
        assert row["runs"] == len(health.executions) == RUNS
        assert row["succeeded"] == counts.get("Succeeded", 0)
        assert row["failed"] == counts.get("Failed", 0)
        assert row["failure_rate"] == pytest.approx(health.failure_rate)
        ok = [report.execution_seconds(e) for e in health.executions
              if e.status == "Succeeded"]
        median = durations.percentile([s for s in ok if s is not None], 50)
        assert row["p50_ms"] / 1000 == pytest.approx(median, abs=1.0)  # event vs lastUpdate
    failing = {(r["pipeline"], r["action"]): r["failures"]
               for r in fleet_report.tables["failing_actions"].dicts()}
    assert failing[(pipelines[2], "Deploy")] == 2


def test_athena_path_runs_each_query_in_the_workgroup(fleet_account):
    """As far as moto goes: each query is started in the archive's workgroup and database,
    waited for and read page by page. moto runs no SQL (its results are empty unless a test
    queues some), so the figures themselves are proven by the dialect tests, not here."""
    session, params, names, _ = fleet_account
    archive = ArchiveNames.derive(names, params)
    seen: list[str] = []
    result = fleet_athena.build_fleet_report(session, archive, fleet.window_for(30),
                                             on_progress=seen.append)
    assert set(result.tables) == set(fleet.q.QUERIES)
    assert any("SUCCEEDED" in line for line in seen)
    executions = session.client("athena").list_query_executions(
        WorkGroup=archive.workgroup)["QueryExecutionIds"]
    assert len(executions) >= len(fleet.q.QUERIES)


def test_runbook_fleet_renders_the_report_with_every_pipeline(fleet_account, tmp_path):
    """The report notebook, run by papermill as `runbook fleet` runs it, rendered to HTML."""
    import sys
    from pathlib import Path

    import nbformat

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
    from build_notebooks import SRC, parse_source

    from runbook_lib.app import cmd_fleet

    _, _, _, pipelines = fleet_account
    notebook = tmp_path / "fleet_health.ipynb"
    nbformat.write(parse_source((SRC / "reports" / "fleet_health.py").read_text()), notebook)
    out = cmd_fleet.render_fleet_report(
        {"app_name": "fleetrep", "target": "local", "region": "", "days": 30,
         "engine": "duckdb", "production_stage": "Deploy-production"},
        tmp_path / "fleet.html", notebook)
    page = out.read_text()
    for written in (out, out.with_suffix(".ipynb")):  # the operator's alone, as a health report
        assert written.stat().st_mode & 0o077 == 0, oct(written.stat().st_mode)
    for name in pipelines:
        assert f"health/{name}.html" in page  # the link to its own report
    assert "DuckDB read" in page and "Traceback" not in page


def test_backfill_writes_older_history_so_both_sources_agree(fleet_account, local_aws):
    """Runs that finished before an archive existed are read once through the APIs (paged,
    paced) into it; the fleet figures then equal the health report's; a second backfill
    rewrites the same objects."""
    from runbook_lib.operate import fleet_backfill

    session, _, _, _ = fleet_account
    params = Params(app_name="fleetold")
    names = params.names()
    bucket.plan_artifact_bucket(session, params, names).apply()
    cp = session.client("codepipeline")
    name = "fleetold-pipeline"
    FAIL_NEXT[name] = 1
    cp.create_pipeline(pipeline=_declaration(name, names.artifact_bucket, name))
    _finish_all(cp, name, 1)
    cp.start_pipeline_execution(name=name)
    _finish_all(cp, name, 2)
    assert local_aws.app.context.peers.get(EventBus).wait_idle(30)
    event_archive.plan_event_archive(session, params, names).apply()
    archive = ArchiveNames.derive(names, params)
    result = fleet_backfill.backfill_app(session, archive, name, False, True, None)
    assert (result.executions, result.calls["list_action_executions"]) == (2, 2)
    again = fleet_backfill.backfill_app(session, archive, name, False, True, None)
    assert (again.executions, again.objects) == (2, result.objects)  # same keys, rewritten
    rows = {r["pipeline"]: r for r in fleet.build_fleet_report(
        session, archive.bucket, fleet.window_for(30)).tables["pipelines"].dicts()}
    health = report.build_health_report(session, name, 30)
    assert rows[name]["runs"] == len(health.executions) == 2
    assert rows[name]["failed"] == health.status_counts().get("Failed", 0) == 1
    ok = [report.execution_seconds(e) for e in health.executions if e.status == "Succeeded"]
    assert rows[name]["p50_ms"] / 1000 == pytest.approx(durations.percentile(ok, 50), abs=0.01)


def test_backfill_writes_nothing_the_archive_already_holds(fleet_account):
    """Every run of the fleet's pipelines ended after their archive existed: a backfill
    finds each one's end in the archive and writes no copy."""
    from runbook_lib.operate import fleet_backfill

    session, params, names, pipelines = fleet_account
    archive = ArchiveNames.derive(names, params)
    archived = fleet.archived_runs(session, archive.bucket,
                                   fleet_backfill.archive_start(session, archive))
    assert len(archived) >= len(pipelines) * RUNS
    result = fleet_backfill.backfill(session, archive, datetime.now(UTC), pipelines,
                                     limiter=fleet_backfill.RateLimiter(50.0),
                                     archived=archived)
    assert (result.executions, result.objects) == (0, 0)
