"""Where a run went, stage by stage, when a later run has been through its stages since.

An automated rollback starts the moment a watched deploy fails, so by the time anyone reads the
pipeline's state the failed stage's ``latestExecution`` is the rollback's. The failed run's
record must still say that the stage failed (its actions succeeded; a condition's rule failed
it), read from its own action and rule executions; a poll, which reads the state twice a second,
does not pay those two List reads. Responses: the AWS CLI's examples, with a rule execution in
ListRuleExecutions' documented shape (the CLI ships no example of it).
"""

from __future__ import annotations

import copy

import pytest
from aws_examples import ExampleResponder, example_output

from runbook_lib.core.session import AwsSession
from runbook_lib.operate import pipeline_state

pytestmark = [pytest.mark.model_check("lengths"), pytest.mark.usefixtures("example_credentials")]

PIPELINE = "MyFirstPipeline"
SOURCE = next(a for a in example_output("codepipeline", "list-action-executions")[
    "actionExecutionDetails"] if a["stageName"] == "Source")
RUN_ID = SOURCE["pipelineExecutionId"]
ROLLBACK_ID = "EXAMPLE0-adfc-488e-bf4c-2222222720d3"


def _state() -> dict:
    """Source last run by the failed run; Beta already taken over by the rollback."""
    state = copy.deepcopy(example_output("codepipeline", "get-pipeline-state"))
    source, beta = state["stageStates"]
    source["latestExecution"] = {"pipelineExecutionId": RUN_ID, "status": "Succeeded"}
    beta["latestExecution"] = {"pipelineExecutionId": ROLLBACK_ID, "status": "InProgress"}
    return state


def _beta_action() -> dict:
    action = copy.deepcopy(SOURCE)
    action.update(stageName="Beta", actionName="CodePipelineDemoFleet",
                  actionExecutionId="EXAMPLE0-5d35-4a7e-a5ee-3333333720d3")
    return action


RULE = {"pipelineExecutionId": RUN_ID, "ruleExecutionId": "EXAMPLE0-rule-4444444720d3",
        "pipelineVersion": 1, "stageName": "Beta", "ruleName": "WatchErrors",
        "startTime": SOURCE["startTime"], "lastUpdateTime": SOURCE["lastUpdateTime"],
        "status": "Failed", "input": {"ruleTypeId": {"category": "Rule", "owner": "AWS",
                                                      "provider": "CloudWatchAlarm",
                                                      "version": "1"}},
        "output": {"executionResult": {"externalExecutionSummary": "alarm in ALARM"}}}


def _of_run(items: list[dict], key: str):
    def answer(params: dict) -> dict:
        wanted = (params.get("filter") or {}).get("pipelineExecutionId")
        return {key: [i for i in items if i["pipelineExecutionId"] == wanted]}
    return answer


ANSWERS = {
    "GetPipelineState": _state(),
    "ListActionExecutions": _of_run([SOURCE, _beta_action()], "actionExecutionDetails"),
    "ListRuleExecutions": _of_run([RULE], "ruleExecutionDetails"),
}


@pytest.fixture
def aws():
    session = AwsSession(target="local", region="us-east-1", endpoint_url="http://127.0.0.1:9")
    with ExampleResponder(session.client("codepipeline"), ANSWERS) as responder:
        yield session, responder


def test_a_stage_a_later_run_took_over_is_still_in_the_failed_runs_record(aws):
    session, _ = aws
    assert pipeline_state.stage_statuses(session, PIPELINE, RUN_ID) == [
        ("Source", "Succeeded"), ("Beta", "Failed")]  # the condition's rule failed it


def test_a_poll_reads_the_state_alone(aws):
    session, responder = aws
    state = pipeline_state.read_state(session, PIPELINE)
    assert pipeline_state.stages_of(session, PIPELINE, state, RUN_ID) == [("Source", "Succeeded")]
    assert [operation for operation, _ in responder.calls] == ["GetPipelineState"]


def test_a_run_that_never_reached_a_stage_does_not_list_it(aws):
    session, _ = aws
    assert pipeline_state.stage_statuses(session, PIPELINE, ROLLBACK_ID) == [
        ("Beta", "InProgress")]
