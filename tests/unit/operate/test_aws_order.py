"""AWS documents no order for ListPipelineExecutions or ListActionExecutions: the operating
functions fed AWS's own example outputs (the AWS CLI's) listed newest first, oldest first and
shuffled, across many pages.

A history of 60 runs is made of the examples: each run a copy of a ``list-pipeline-executions``
summary, each with the two action executions of ``list-action-executions`` (Source, Deploy), an
id, a start time an hour after the previous run's and a commit of its own. Every seventh run
fails in its Deploy action. Pages hold at most 7 items, fewer than asked, as AWS may send. The
additions to AWS's examples are those ids, times and commits, a failed status, and (for the
cockpit) a manual approval the run waits on.
"""

from __future__ import annotations

import copy
import random
from datetime import UTC, datetime, timedelta

import pytest
from aws_examples import ExampleResponder, example_output

from runbook_lib.core.session import AwsSession
from runbook_lib.operate import approvals, durations, executions, logs, pipeline_state, summaries

pytestmark = pytest.mark.model_check("lengths")  # AWS's example ids miss the id patterns

PIPELINE = "MyFirstPipeline"
RUNS = 60
PAGE_CAP = 7
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
ORDERS = ("newest first", "oldest first", "shuffled")


def _run_id(i: int) -> str:
    return f"{i:08d}-adfc-488e-bf4c-1111111720d3"


def _commit(i: int) -> str:
    return f"{i:040x}"


def _failed(i: int) -> bool:
    return i % 7 == 2


def _history() -> tuple[list[dict], list[dict]]:
    examples = example_output("codepipeline", "list-pipeline-executions")[
        "pipelineExecutionSummaries"]
    details = example_output("codepipeline", "list-action-executions")["actionExecutionDetails"]
    runs, actions = [], []
    for i in range(RUNS):
        start = T0 + timedelta(hours=i)
        run = copy.deepcopy(examples[i % len(examples)])
        run.update(pipelineExecutionId=_run_id(i), startTime=start.timestamp(),
                   lastUpdateTime=(start + timedelta(minutes=5)).timestamp(),
                   status="Failed" if _failed(i) else "Succeeded")
        runs.append(run)
        for n, detail in enumerate(sorted(details, key=lambda d: d["startTime"])):
            action = copy.deepcopy(detail)
            action.update(pipelineExecutionId=_run_id(i),
                          actionExecutionId=f"{i:08d}-{n}ee8-4853-bd6a-111111158148",
                          startTime=(start + timedelta(seconds=1 + 60 * n)).timestamp(),
                          lastUpdateTime=(start + timedelta(seconds=50 + 60 * n)).timestamp())
            if action["stageName"] == "Source":
                action["output"]["outputVariables"]["CommitId"] = _commit(i)
            elif _failed(i):
                action["status"] = "Failed"
                action["output"]["executionResult"]["externalExecutionSummary"] = "failed"
            actions.append(action)
    return runs, actions


HISTORY, ACTIONS = _history()


def _arranged(items: list[dict], order: str) -> list[dict]:
    newest = sorted(items, key=lambda item: item["startTime"], reverse=True)
    if order == "oldest first":
        return newest[::-1]
    if order == "shuffled":
        random.Random(19).shuffle(newest)
    return newest


def _pages(items: list[dict], key: str, order: str):
    """A List operation's answer: ``items`` in ``order``, filtered as asked, at most
    :data:`PAGE_CAP` a page, the next token an offset."""
    listed = _arranged(items, order)

    def answer(params: dict) -> dict:
        wanted = (params.get("filter") or {}).get("pipelineExecutionId")
        chosen = [i for i in listed if not wanted or i.get("pipelineExecutionId") == wanted]
        start = int(params.get("nextToken") or 0)
        size = min(params.get("maxResults") or 100, PAGE_CAP)
        page = {key: chosen[start:start + size]}
        if start + size < len(chosen):
            page["nextToken"] = str(start + size)
        return page

    return answer


def _aws(order: str, runs: list[dict] | None = None, **extra):
    session = AwsSession(target="local", region="us-east-1", endpoint_url="http://127.0.0.1:9")
    answers = {
        "ListPipelineExecutions": _pages(HISTORY if runs is None else runs,
                                         "pipelineExecutionSummaries", order),
        "ListActionExecutions": _pages(ACTIONS, "actionExecutionDetails", order),
        "GetPipeline": example_output("codepipeline", "get-pipeline"),
        **extra,
    }
    return session, ExampleResponder(session.client("codepipeline"), answers)


@pytest.fixture(autouse=True)
def _credentials(monkeypatch):
    """The endpoint is never reached (Stubber answers), but a session signs with something."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "example-secret")


def _no_empty_identifier(calls: list[tuple[str, dict]]) -> None:
    def walk(operation, value, path):
        if isinstance(value, dict):
            for name, item in value.items():
                walk(operation, item, f"{path}.{name}")
        elif isinstance(value, str) and path.endswith(("Id", "Name", "name", "token")):
            assert value.strip(), f"{operation} sent {path}={value!r}"

    for operation, params in calls:
        walk(operation, params, operation)


NEWEST = [_run_id(i) for i in reversed(range(RUNS))]


@pytest.mark.parametrize("order", ORDERS)
def test_latest_is_the_newest_run_by_start_time_on_any_page(order):
    session, aws = _aws(order)
    with aws:
        assert executions.choose_execution(session, PIPELINE, "latest") == NEWEST[0]
        listed = summaries.list_executions(session, PIPELINE, limit=5)
        rows = executions.execution_rows(session, PIPELINE, limit=3)
    assert [e.execution_id for e in listed] == NEWEST[:5]
    assert [e.commit_id for e in listed] == [_commit(i) for i in range(59, 54, -1)]
    assert [r[0] for r in rows] == NEWEST[:3]
    pages = [p for op, p in aws.calls if op == "ListPipelineExecutions"]
    assert len(pages) >= 2 * -(-RUNS // PAGE_CAP)  # every page, in both readings
    _no_empty_identifier(aws.calls)


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("limit, expected", [(1, None), (5, 58), (60, 58)])
def test_latest_failure_is_the_newest_failed_run_among_the_newest(order, limit, expected):
    session, aws = _aws(order)
    with aws:
        failure = executions.latest_failure(session, PIPELINE, limit=limit)
    if expected is None:
        assert failure is None
    else:
        assert (failure.execution_id, failure.stage, failure.summary) == (
            _run_id(expected), "Deploy", "failed")
    _no_empty_identifier(aws.calls)


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("last, page_size", [(1, 1), (5, 3), (12, 7), (60, 100)])
def test_read_records_keeps_every_stage_and_commit(order, last, page_size):
    session, aws = _aws(order)
    with aws:
        records = durations.read_records(session, PIPELINE, last=last, page_size=page_size)
    assert [r.execution_id for r in records] == NEWEST[:last][::-1]  # oldest first
    for record in records:
        i = int(record.execution_id[:8])
        assert record.commit_id == _commit(i)
        assert [(s.stage, s.status) for s in record.stages] == [
            ("Source", "Succeeded"), ("Deploy", "Failed" if _failed(i) else "Succeeded")]
    # Bounded: never more calls than a whole listing and one listing per run together.
    listings = sum(op == "ListActionExecutions" for op, _ in aws.calls)
    assert listings <= last + last * -(-2 // PAGE_CAP)
    _no_empty_identifier(aws.calls)


def test_summaries_without_an_id_are_skipped_everywhere():
    """The newest summary has no id (the model does not require one): it is never chosen,
    never sent as a filter, never listed."""
    nameless = copy.deepcopy(HISTORY[-1])
    del nameless["pipelineExecutionId"]
    nameless["startTime"] = (T0 + timedelta(days=30)).timestamp()
    nameless["status"] = "Failed"
    session, aws = _aws("shuffled", runs=[*HISTORY, nameless])
    with aws:
        assert executions.choose_execution(session, PIPELINE, "latest") == NEWEST[0]
        assert all(e.execution_id for e in summaries.list_executions(session, PIPELINE))
        assert executions.latest_failure(session, PIPELINE).execution_id == _run_id(58)
        assert [r.execution_id for r in durations.read_records(session, PIPELINE, 2)] == \
            NEWEST[:2][::-1]
        with pytest.raises(logs.NoFailedBuildError):  # the examples ran CodeDeploy, no build
            logs.locate_build(session, PIPELINE)
    _no_empty_identifier(aws.calls)


def _waiting_on_approval(token: str) -> tuple[dict, dict]:
    """The examples' pipeline with a manual approval stage, and a state where run 59 waits
    on it (the approval's token shown or not)."""
    declared = copy.deepcopy(example_output("codepipeline", "get-pipeline"))
    declared["pipeline"]["stages"].insert(1, {"name": "Approve", "actions": [{
        "name": "Approve", "actionTypeId": {"category": "Approval", "owner": "AWS",
                                            "provider": "Manual", "version": "1"}}]})
    state = copy.deepcopy(example_output("codepipeline", "get-pipeline-state"))
    latest = {"status": "InProgress", "actionExecutionId": ACTIONS[-1]["actionExecutionId"]}
    if token:
        latest["token"] = token
    state["stageStates"].insert(1, {"stageName": "Approve", "actionStates": [
        {"actionName": "Approve", "latestExecution": latest}]})
    return declared, state


def test_cockpit_says_the_run_waits_on_an_approval_whose_token_it_cannot_see():
    declared, state = _waiting_on_approval(token="")
    session, aws = _aws("shuffled", GetPipeline=declared, GetPipelineState=state)
    with aws:
        cards = approvals.cockpit(session, [PIPELINE], production_stage="Beta")
        text = approvals.pending_text(cards, [PIPELINE])
        with pytest.raises(approvals.DecisionError, match="PARALLEL"):
            approvals.apply_decision(session, cards, "approve", "looks good", "", "bucket")
    assert [(c.approval.stage, c.approval.execution_id) for c in cards] == [
        ("Approve", _run_id(59))]
    assert "no approval is pending" not in text
    assert "waits on this approval" in text and pipeline_state.TOKEN_MISSING in text
    assert not any(op == "PutApprovalResult" for op, _ in aws.calls)
    _no_empty_identifier(aws.calls)


def test_cockpit_offers_an_approval_with_a_token_and_no_waiting_note():
    declared, state = _waiting_on_approval(token="0123abcd-example-token")
    session, aws = _aws("oldest first", GetPipeline=declared, GetPipelineState=state)
    with aws:
        cards = approvals.cockpit(session, [PIPELINE], production_stage="Beta")
    assert [(c.approval.answerable, c.approval.execution_id) for c in cards] == [
        (True, _run_id(59))]
    assert "token not visible" not in approvals.pending_text(cards, [PIPELINE])
    assert not any(op == "GetPipeline" for op, _ in aws.calls)  # read only when needed
