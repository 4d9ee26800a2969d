"""The operating notebooks' library calls against a local AWS in shape-chaos mode.

With ``RUNBOOK_LOCAL_SHAPES=minimal`` the local AWS answers the operating reads with only what
botocore's model requires plus identifiers, statuses and times, list results shuffled. The
flows notebooks 09-13 and the health report run (run and watch, build logs, approvals,
durations, rollback, report) must still name commits, executions and approvals.
"""

from __future__ import annotations

import uuid

import pytest
from helpers import set_up_app

from runbook_lib.core.session import AwsSession
from runbook_lib.local.server import shapes
from runbook_lib.operate import (
    approvals,
    durations,
    executions,
    history,
    logs,
    report,
    rollback,
    sample_repo,
    triage,
    watch,
)
from runbook_lib.operate.summaries import list_executions

# Slow: its module-scoped fixture runs the whole sample history, a minute or more (kept out of
# `make check`); its tests share one worker under pytest-xdist instead of each building it.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("shapes_minimal")]


@pytest.fixture(scope="module")
def minimal(local_aws):
    """Shape chaos on; an app with the canonical history (approved, failed, fixed and
    approved) and a fourth run waiting for approval."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(shapes.ENV, "minimal")
        session = AwsSession("local", "us-east-1", endpoint_url=local_aws.endpoint_url)
        params = set_up_app(session, f"sh-{uuid.uuid4().hex[:6]}")
        names = params.names()
        steps = history.run_canonical_history(session, params, names, timeout=300,
                                              rehearse_gates=False)
        repo = history.ensure_local_repository(session, params)
        known = {e.execution_id for e in list_executions(session, names.pipeline)}
        pushed = sample_repo.push_release_note(repo, "pending", params.source_branch)
        run = executions.wait_for_new_execution(session, names.pipeline, known, 60)
        executions.wait_for_execution(session, names.pipeline, run.execution_id, 300,
                                      stop_at_approval=True)
        yield session, params, steps, pushed, run.execution_id


def test_the_mode_really_leaves_the_optional_fields_out(minimal):
    session, params, *_ = minimal
    cp = session.client("codepipeline")
    listed = cp.list_pipeline_executions(pipelineName=params.names().pipeline)
    summaries = listed["pipelineExecutionSummaries"]
    assert summaries and not any("sourceRevisions" in s or "trigger" in s for s in summaries)
    state = cp.get_pipeline_state(name=params.names().pipeline)
    assert not any("latestExecution" in s for s in state["stageStates"])


def test_shuffled_pages_still_page_through_every_run_once(minimal):
    session, params, steps, _, pending_run = minimal
    paginator = session.client("codepipeline").get_paginator("list_pipeline_executions")
    ids = [s["pipelineExecutionId"] for page in paginator.paginate(
        pipelineName=params.names().pipeline, PaginationConfig={"PageSize": 1})
        for s in page["pipelineExecutionSummaries"]]
    assert sorted(ids) == sorted([s.execution_id for s in steps] + [pending_run])


def test_history_ran_with_named_commits(minimal):
    _, _, steps, _, _ = minimal
    assert [s.status for s in steps] == ["Succeeded", "Failed", "Succeeded"]
    assert all(s.stages for s in steps)  # stage statuses came from the action executions
    assert steps[1].failed_action and steps[1].failing_tests


def test_run_and_watch_names_the_newest_run_and_the_latest_failure(minimal):
    session, params, steps, pushed, pending_run = minimal
    name = params.names().pipeline
    assert executions.choose_execution(session, name, "latest") == pending_run
    progress = watch.watch_execution(session, name, pending_run, timeout=60,
                                          stop_at_approval=True)
    assert progress.waiting_for_approval is not None
    rows = executions.execution_rows(session, name)
    assert rows[0] == (pending_run, "InProgress", "unknown", pushed.sha[:7])
    assert all(len(commit) == 7 for *_, commit in rows)
    failure = executions.latest_failure(session, name)
    assert failure.execution_id == steps[1].execution_id
    assert failure.build_id and failure.log_group and failure.log_stream


def test_build_logs_find_and_triage_the_failed_build(minimal):
    session, params, steps, _, _ = minimal
    ref = logs.locate_build(session, params.names().pipeline)
    assert ref.execution_id == steps[1].execution_id
    result = triage.triage_build(logs.read_build_log(session, ref.build_id))
    assert result.category == "test_failure" and result.failing_tests == steps[1].failing_tests


def test_cockpit_names_the_run_its_commit_and_what_approving_ships(minimal):
    session, params, steps, pushed, pending_run = minimal
    cards = approvals.cockpit(session, [params.names().pipeline],
                              f"Deploy-{params.production_name}")
    assert [c.approval.execution_id for c in cards] == [pending_run]
    evidence = cards[0].evidence
    assert evidence.commit.commit_id == pushed.sha
    assert evidence.build_status == "SUCCEEDED" and evidence.tests.passed
    assert evidence.production.execution_id == steps[2].execution_id
    assert [c.commit_id for c in evidence.changes] == [pushed.sha]
    assert "(commit unknown)" not in approvals.render_card(cards[0])


def test_durations_hold_every_run_with_its_commit(minimal):
    session, params, steps, pushed, pending_run = minimal
    records = durations.read_records(session, params.names().pipeline, last=4)
    assert [r.execution_id for r in records] == [s.execution_id for s in steps] + [pending_run]
    assert [r.commit_id for r in records] == [s.commit.sha for s in steps] + [pushed.sha]
    failed = records[1]
    assert failed.status == "Failed" and "Failed" in [s.status for s in failed.stages]
    assert durations.stage_stats(records)


def test_rollback_goes_back_to_the_commit_before_the_fix(minimal):
    session, params, steps, _, _ = minimal
    names = params.names()
    plan = rollback.plan_rollback(session, params, names)
    assert plan.current.commit_id == steps[2].commit.sha
    assert plan.target.execution_id == steps[0].execution_id
    assert plan.target.commit_id == steps[0].commit.sha


def test_health_report_counts_the_window_and_names_the_failure(minimal):
    session, params, steps, pushed, _ = minimal
    health = report.build_health_report(session, params.names().pipeline, days=1)
    assert len(health.executions) == 4
    assert [f.execution.execution_id for f in health.failures] == [steps[1].execution_id]
    assert steps[1].commit.sha[:7] in health.failures[0].headline
    assert health.execution_rows()[0][3] == pushed.sha[:7]


def test_minimal_keeps_required_identifiers_statuses_and_times():
    body = (b'{"pipelineExecutionSummaries": [{"pipelineExecutionId": "a", "status": "Failed",'
            b' "statusSummary": "x", "startTime": 1.0, "trigger": {"triggerType": "Webhook"},'
            b' "sourceRevisions": [{"actionName": "Source", "revisionId": "abc"}]}],'
            b' "nextToken": "t"}')
    reshaped = shapes.minimal_body("codepipeline", "ListPipelineExecutions", body)
    assert reshaped == (b'{"pipelineExecutionSummaries":[{"pipelineExecutionId":"a",'
                        b'"status":"Failed","startTime":1.0}],"nextToken":"t"}')


def test_an_unknown_mode_is_refused(monkeypatch):
    monkeypatch.setenv(shapes.ENV, "tiny")
    with pytest.raises(ValueError, match="minimal"):
        shapes.mode()
