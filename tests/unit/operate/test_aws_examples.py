"""The operating functions fed AWS's own example outputs (the AWS CLI's), through Stubber.

AWS's examples leave out what our local AWS always sends: no ``sourceRevisions`` or ``trigger``
in ListPipelineExecutions, no stage-level ``latestExecution`` in GetPipelineState, builds whose
``logs`` hold only a ``deepLink``, and executions listed oldest first. The examples come from
different pipelines, so they are stitched together by one execution id: the newest listed run
is given the id of the run the action-execution example describes. The one addition is a
pending approval (a token) in the pipeline-state example, which has none.
"""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest
from aws_examples import ExampleResponder, example_output, shaped

from runbook_lib.core.session import AwsSession
from runbook_lib.operate import (
    approvals,
    durations,
    executions,
    logs,
    pipeline_state,
    report,
    rollback,
    summaries,
    triage,
)
from runbook_lib.operate.revisions import parse_time

# AWS's example ids do not match the model's id patterns; lengths and emptiness still count.
pytestmark = pytest.mark.model_check("lengths")

PIPELINE = "MyFirstPipeline"
ACTIONS = example_output("codepipeline", "list-action-executions")["actionExecutionDetails"]
SOURCE = next(a for a in ACTIONS if a["input"]["actionTypeId"]["category"] == "Source")
DEPLOY = next(a for a in ACTIONS if a["input"]["actionTypeId"]["category"] == "Deploy")
RUN_ID = SOURCE["pipelineExecutionId"]
COMMIT = SOURCE["output"]["outputVariables"]["CommitId"]


def _runs() -> list[dict]:
    runs = copy.deepcopy(example_output("codepipeline", "list-pipeline-executions")[
        "pipelineExecutionSummaries"])
    max(runs, key=lambda r: r["startTime"])["pipelineExecutionId"] = RUN_ID
    return runs


RUNS = _runs()
BY_START = sorted(RUNS, key=lambda r: r["startTime"], reverse=True)


def _action_executions(params: dict) -> dict:
    wanted = (params.get("filter") or {}).get("pipelineExecutionId")
    return {"actionExecutionDetails": [a for a in ACTIONS
                                       if not wanted or a["pipelineExecutionId"] == wanted]}


def _state_with_pending_approval() -> dict:
    state = copy.deepcopy(example_output("codepipeline", "get-pipeline-state"))
    latest = state["stageStates"][-1]["actionStates"][0]["latestExecution"]
    latest.update(status="InProgress", token="0123abcd-example-token",
                  actionExecutionId=DEPLOY["actionExecutionId"])
    return state


ANSWERS = {
    "ListPipelineExecutions": {"pipelineExecutionSummaries": RUNS},
    "ListActionExecutions": _action_executions,
    "GetPipelineState": _state_with_pending_approval(),
    "GetPipeline": example_output("codepipeline", "get-pipeline"),
}


@pytest.fixture
def aws():
    session = AwsSession(target="local", region="us-east-1", endpoint_url="http://127.0.0.1:9")
    with ExampleResponder(session.client("codepipeline"), ANSWERS) as responder:
        yield session, responder
    _assert_no_empty_identifier(responder.calls)


def _assert_no_empty_identifier(calls):
    for operation, params in calls:
        for name, value in params.items():
            if isinstance(value, str) and name.endswith(("Id", "Name", "name", "token")):
                assert value.strip(), f"{operation} sent {name}={value!r}"


def test_executions_are_newest_first_with_the_commit_of_their_source_action(aws):
    session, _ = aws
    listed = summaries.list_executions(session, PIPELINE)
    assert [e.execution_id for e in listed] == [r["pipelineExecutionId"] for r in BY_START]
    assert listed[0].commit_id == COMMIT
    assert listed[0].commit_message == SOURCE["output"]["outputVariables"]["CommitMessage"]
    row = executions.execution_rows(session, PIPELINE)[0]
    assert row == (RUN_ID, "Succeeded", "unknown", COMMIT[:7])
    assert executions.choose_execution(session, PIPELINE, "latest") == RUN_ID


def test_stage_statuses_come_from_action_executions_when_the_state_has_none(aws):
    session, _ = aws
    stages = dict(pipeline_state.stage_statuses(session, PIPELINE, RUN_ID))
    assert stages.get("Source") == SOURCE["status"]


def test_records_take_the_newest_runs_and_the_commit_time(aws):
    session, _ = aws
    records = durations.read_records(session, PIPELINE, last=2)
    assert [r.execution_id for r in records] == [r["pipelineExecutionId"]
                                                 for r in reversed(BY_START[:2])]
    newest = records[-1]
    assert newest.commit_id == COMMIT
    assert newest.commit_time == parse_time(SOURCE["output"]["outputVariables"]["AuthorDate"])
    assert durations.execution_rows(records)[0][3] == "unknown"


def test_health_report_window_is_computed_from_start_times(aws):
    session, _ = aws
    newest = shaped(session.client("codepipeline"), "ListPipelineExecutions",
                    {"pipelineExecutionSummaries": BY_START})["pipelineExecutionSummaries"]
    # a window that holds the two newest runs only
    now = newest[1]["startTime"] + timedelta(days=6, hours=12)
    health = report.build_health_report(session, PIPELINE, days=7, now=now)
    assert [e.execution_id for e in health.executions] == [r["pipelineExecutionId"]
                                                           for r in BY_START[:2]]
    assert health.execution_rows()[0][2:4] == ("unknown", COMMIT[:7])


def test_cockpit_places_the_approval_and_names_what_approving_ships(aws):
    session, _ = aws
    cards = approvals.cockpit(session, [PIPELINE], production_stage=DEPLOY["stageName"])
    assert [c.approval.execution_id for c in cards] == [RUN_ID]
    evidence = cards[0].evidence
    assert evidence.commit.commit_id == COMMIT
    text = approvals.render_card(cards[0])
    assert RUN_ID in text and COMMIT[:7] in text
    shipped = text.split("approving ships:")[1].splitlines()[1]
    assert shipped.strip().startswith(COMMIT[:7])


def test_rollback_names_the_only_release_by_its_commit(aws):
    session, _ = aws
    deployments = rollback.production_deployments(session, PIPELINE, DEPLOY["stageName"])
    assert [(d.execution_id, d.commit_id) for d in deployments] == [(RUN_ID, COMMIT)]
    assert rollback.deployment_rows(deployments)[0][4] == "unknown"
    with pytest.raises(rollback.NoRollbackTarget, match=COMMIT[:7]):
        rollback.choose_target(deployments)


@pytest.fixture
def builds():
    session = AwsSession(target="local", region="us-east-1", endpoint_url="http://127.0.0.1:9")
    events = example_output("logs", "get-log-events")
    end = {"events": [], "nextForwardToken": events["nextForwardToken"]}
    pages = iter([events, end])
    with ExampleResponder(session.client("logs"), {"GetLogEvents": lambda _p: next(pages)}):
        yield session, events


def _batch(build: dict) -> dict:
    return {"builds": [build]}


@pytest.mark.parametrize("command, block, category, title", [
    ("stop-build", "build", "stopped", "stopped during BUILD"),
    ("start-build", "build", "running", "still running"),
])
def test_triage_says_stopped_and_still_running(builds, command, block, category, title):
    session, _ = builds
    record = example_output("codebuild", command)[block]
    with ExampleResponder(session.client("codebuild"), {"BatchGetBuilds": _batch(record)}):
        log = logs.read_build_log(session, record["id"])
    result = triage.triage_build(log)
    assert (result.category, result.title) == (category, title)
    assert log.build_id == record["id"]


def test_build_log_of_the_example_build_is_read_to_the_end(builds):
    session, events = builds
    record = example_output("codebuild", "batch-get-builds")["builds"][0]
    with ExampleResponder(session.client("codebuild"), {"BatchGetBuilds": _batch(record)}):
        log = logs.read_build_log(session, record["id"])
    assert (log.group, log.stream) == (record["logs"]["groupName"], record["logs"]["streamName"])
    assert log.lines == [e["message"] for e in events["events"]]
    assert log.status == record["buildStatus"]
