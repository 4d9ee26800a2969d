"""The rehearsal's post-deploy watch is seen waiting from what AWS itself answers: GetPipelineState
without the optional condition states (AWS's own ``get-pipeline-state`` example has none), so
from a run still in progress whose stage's actions all succeeded (``list-action-executions``)."""

from __future__ import annotations

import copy

import pytest
from aws_examples import ExampleResponder, example_output

from runbook_lib.core.session import AwsSession
from runbook_lib.operate import gate_rehearsal

pytestmark = pytest.mark.model_check("lengths")  # AWS's example ids miss the id patterns

PIPELINE = "MyFirstPipeline"
RUN = "EXAMPLE0-adfc-488e-bf4c-1111111720d3"  # the list-action-executions example's run


@pytest.fixture(autouse=True)
def _credentials(monkeypatch):
    """The endpoint is never reached (the responder answers), but a session signs."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "example-secret")


def _aws(run_status: str, source_status: str):
    session = AwsSession(target="local", region="us-east-1", endpoint_url="http://127.0.0.1:9")
    listed = copy.deepcopy(example_output("codepipeline", "list-pipeline-executions"))
    first = listed["pipelineExecutionSummaries"][0]
    first.update(pipelineExecutionId=RUN, status=run_status)
    actions = copy.deepcopy(example_output("codepipeline", "list-action-executions"))
    for action in actions["actionExecutionDetails"]:
        if action["stageName"] == "Source":
            action["status"] = source_status
    state = example_output("codepipeline", "get-pipeline-state")
    assert not any("beforeEntryConditionState" in s or "onSuccessConditionState" in s
                   for s in state["stageStates"])  # what the second clause is for
    responder = ExampleResponder(session.client("codepipeline"), {
        "GetPipelineState": state,
        "ListRuleExecutions": {"ruleExecutionDetails": []},
        "ListPipelineExecutions": {"pipelineExecutionSummaries": [first]},
        "GetPipeline": example_output("codepipeline", "get-pipeline"),
        "GetPipelineExecution": {"pipelineExecution": {
            "pipelineName": PIPELINE, "pipelineExecutionId": RUN, "status": run_status}},
        "ListActionExecutions": actions,
    })
    return session, responder


@pytest.mark.parametrize(("run_status", "source_status", "waiting"), [
    ("InProgress", "Succeeded", True),   # the stage is done, the run goes on: its watch waits
    ("InProgress", "InProgress", False),  # the stage itself is still running
    ("Succeeded", "Succeeded", False),    # the run is over: nothing waits
], ids=["stage-done-run-going", "stage-running", "run-over"])
def test_the_watch_is_seen_waiting_without_condition_states(run_status, source_status, waiting):
    session, responder = _aws(run_status, source_status)
    with responder:
        seen = gate_rehearsal._post_deploy_watch_running(session, PIPELINE, "Source")
    assert seen is waiting
    asked = {name for name, _ in responder.calls}
    assert "GetPipelineState" in asked
    assert ("GetPipelineExecution" in asked) is (run_status == "InProgress")
