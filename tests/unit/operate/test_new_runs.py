"""What the waiters poll for, on a long history AWS lists in any order: the new run is found,
an older run the caller did not list is never taken for it, and a poll costs one List call
where AWS lists newest first (the whole history only on the first and every tenth poll).

The history is five hundred copies of AWS's own ``list-pipeline-executions`` example (the AWS
CLI's), with ids and start times an hour apart; pages hold at most 100 runs, as AWS sends.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest
from aws_examples import LIST_ORDERS, ExampleResponder, PagedListing, example_output

from runbook_lib.core.session import AwsSession
from runbook_lib.operate import executions, gate_rehearsal
from runbook_lib.operate.new_runs import FULL_EVERY, NewRuns

pytestmark = pytest.mark.model_check("lengths")  # AWS's example ids miss the id patterns

PIPELINE = "MyFirstPipeline"
RUNS = 500
PAGE_CAP = 100
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _run(i: int, status: str = "Succeeded") -> dict:
    example = example_output("codepipeline", "list-pipeline-executions")[
        "pipelineExecutionSummaries"][0]
    run = copy.deepcopy(example)
    start = T0 + timedelta(hours=i)
    run.update(pipelineExecutionId=f"{i:08d}-adfc-488e-bf4c-1111111720d3",
               startTime=start.timestamp(), status=status,
               lastUpdateTime=(start + timedelta(minutes=5)).timestamp())
    return run


def _calls_of(listing: PagedListing, action) -> tuple[int, object]:
    before = listing.calls
    result = action()
    return listing.calls - before, result


@pytest.fixture(autouse=True)
def _credentials(monkeypatch):
    """The endpoint is never reached (the responder answers), but a session signs."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "example-secret")


def _aws(order: str):
    session = AwsSession(target="local", region="us-east-1", endpoint_url="http://127.0.0.1:9")
    history = PagedListing([_run(i) for i in range(RUNS)], "pipelineExecutionSummaries", order,
                           PAGE_CAP, seed=RUNS)
    responder = ExampleResponder(session.client("codepipeline"), {
        "ListPipelineExecutions": history,
        # the found run's commit is looked up in its Source action: it has none here
        "ListActionExecutions": {"actionExecutionDetails": []}})
    return session, history, responder


def _newest_ids(history: PagedListing, count: int = 50) -> set[str]:
    """What a caller knows: the ids of the ``count`` newest runs (list_executions' default)."""
    newest = sorted(history.items, key=lambda run: run["startTime"], reverse=True)
    return {run["pipelineExecutionId"] for run in newest[:count]}


def test_newest_first_a_poll_costs_one_call_and_a_full_reading_every_tenth():
    session, history, responder = _aws("newest first")
    with responder:
        watch = NewRuns(session, PIPELINE, _newest_ids(history))
        per_poll = [_calls_of(history, watch.poll) for _ in range(2 * FULL_EVERY)]
    pages = RUNS // PAGE_CAP
    assert [calls for calls, _ in per_poll] == (
        [pages] + [1] * (FULL_EVERY - 1)) * 2
    # the 950 older runs the caller did not list are not new: they started before its runs
    assert all(result == ([], calls == pages) for calls, result in per_poll)


def test_newest_first_the_new_run_is_found_in_two_calls():
    session, history, responder = _aws("newest first")
    with responder:
        watch = NewRuns(session, PIPELINE, _newest_ids(history))
        watch.poll()
        history.items.append(_run(RUNS, "InProgress"))
        calls, (new, complete) = _calls_of(history, watch.poll)
    assert calls == 2 and not complete  # the page with it, and the next that holds none
    assert [s.execution_id for s in new] == [history.items[-1]["pipelineExecutionId"]]


@pytest.mark.parametrize("order", LIST_ORDERS)
def test_in_any_order_the_new_run_is_found_by_the_next_full_reading(order):
    session, history, responder = _aws(order)
    with responder:
        watch = NewRuns(session, PIPELINE, _newest_ids(history))
        assert watch.poll() == ([], True)
        history.items.append(_run(RUNS, "InProgress"))
        found = [watch.poll()[0] for _ in range(FULL_EVERY)]
    assert [s.execution_id for s in found[-1]] == [history.items[-1]["pipelineExecutionId"]]
    assert all(not new or new == found[-1] for new in found)  # never another run


@pytest.mark.parametrize("order", LIST_ORDERS)
def test_wait_for_new_execution_names_the_run_a_push_started(order):
    session, history, responder = _aws(order)
    known = _newest_ids(history)
    history.items.append(_run(RUNS, "InProgress"))
    with responder:
        run = executions.wait_for_new_execution(session, PIPELINE, known, timeout=5, poll=0)
    assert run.execution_id == history.items[-1]["pipelineExecutionId"]
    assert history.calls == RUNS // PAGE_CAP + 1  # the first poll reads every page


@pytest.mark.parametrize("order", LIST_ORDERS)
def test_the_rollback_wait_ends_only_once_every_page_shows_it_finished(order):
    session, history, responder = _aws(order)
    known = {run["pipelineExecutionId"] for run in history.items}
    history.items.append(_run(RUNS, "Succeeded"))
    with responder:
        done = gate_rehearsal._wait_rollback(session, PIPELINE, known, timeout=5)
    assert [s.execution_id for s in done] == [history.items[-1]["pipelineExecutionId"]]
