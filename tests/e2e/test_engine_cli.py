"""Issue: the local AWS runs pipelines for real, checked as a new user would, with the AWS CLI.

After the setup notebooks, the AWS CLI starts an execution, sees the approval pending in
get-pipeline-state, approves with the token, sees Succeeded in list-pipeline-executions, lists
action executions with timings, reads the build's log with logs get-log-events, and
codebuild batch-get-builds shows the phases. A commit on the watched branch of the registered
repository starts a run; a commit on another branch does not.
"""

from __future__ import annotations

import json

import pytest
from helpers import aws_cli, wait_until

from runbook_lib.operate import sample_repo

pytestmark = pytest.mark.slow

PIPELINE = "sample-app-pipeline"


def pending_token(env, execution_id):
    state = aws_cli(env, "codepipeline", "get-pipeline-state", "--name", PIPELINE)
    for stage in state["stageStates"]:
        for action in stage.get("actionStates", []):
            latest = action.get("latestExecution") or {}
            if (latest.get("status") == "InProgress" and latest.get("token")
                    and stage.get("latestExecution", {}).get("pipelineExecutionId")
                    == execution_id):
                return (stage["stageName"], action["actionName"], latest["token"]), state
    return None, [(s["stageName"], s.get("latestExecution")) for s in state["stageStates"]]


def approve(env, execution_id, summary):
    stage, action, token = _poll(f"approval of {execution_id}",
                                 lambda: pending_token(env, execution_id))
    aws_cli(env, "codepipeline", "put-approval-result", "--pipeline-name", PIPELINE,
        "--stage-name", stage, "--action-name", action, "--token", token,
        "--result", json.dumps({"summary": summary, "status": "Approved"}))


def execution_status(env, execution_id):
    runs = aws_cli(env, "codepipeline", "list-pipeline-executions", "--pipeline-name", PIPELINE)
    status = {r["pipelineExecutionId"]: r["status"]
              for r in runs["pipelineExecutionSummaries"]}.get(execution_id)
    return (status if status not in (None, "InProgress") else None), status


def test_the_aws_cli_runs_approves_and_inspects_a_pipeline(set_up_stack):
    env = set_up_stack.env
    # Creating the pipeline started a first run (as on AWS); answer it so the stage is free.
    def oldest_run():
        runs = aws_cli(env, "codepipeline", "list-pipeline-executions", "--pipeline-name",
                   PIPELINE)["pipelineExecutionSummaries"]
        return (runs[-1]["pipelineExecutionId"] if runs else None), len(runs)

    first = _poll("the first run", oldest_run)
    approve(env, first, "first run checked")

    started = aws_cli(env, "codepipeline", "start-pipeline-execution", "--name", PIPELINE)
    execution_id = started["pipelineExecutionId"]
    approve(env, execution_id, "staging looks right")
    assert _poll("Succeeded", lambda: execution_status(env, execution_id)) == "Succeeded"

    actions = aws_cli(env, "codepipeline", "list-action-executions", "--pipeline-name", PIPELINE,
                  "--filter", json.dumps({"pipelineExecutionId": execution_id}))[
        "actionExecutionDetails"]
    names = {a["stageName"]: a for a in actions}
    assert set(names) >= {"Source", "Build", "Deploy-staging", "Approve-production",
                          "Deploy-production"}
    for action in actions:
        assert action["status"] == "Succeeded"
        assert action["lastUpdateTime"] >= action["startTime"]
    approval = names["Approve-production"]["output"]["executionResult"]
    assert approval["externalExecutionSummary"] == "staging looks right"
    build_id = names["Build"]["output"]["executionResult"]["externalExecutionId"]

    build = aws_cli(env, "codebuild", "batch-get-builds", "--ids", build_id)["builds"][0]
    phases = {p["phaseType"]: p.get("phaseStatus") for p in build["phases"]}
    for phase in ("DOWNLOAD_SOURCE", "INSTALL", "PRE_BUILD", "BUILD", "UPLOAD_ARTIFACTS"):
        assert phases[phase] == "SUCCEEDED", phases
    assert build["buildStatus"] == "SUCCEEDED"
    events = aws_cli(env, "logs", "get-log-events", "--log-group-name", build["logs"]["groupName"],
                 "--log-stream-name", build["logs"]["streamName"], "--start-from-head")["events"]
    text = "\n".join(e["message"] for e in events)
    assert "Running command npm test" in text
    assert "ok 1 - greets by name" in text


def test_a_commit_on_the_watched_branch_starts_a_run_and_elsewhere_does_not(set_up_stack):
    env = set_up_stack.env
    repo = set_up_stack.state_dir / "repos" / "acme__sample-app"
    before = {r["pipelineExecutionId"] for r in aws_cli(
        env, "codepipeline", "list-pipeline-executions", "--pipeline-name", PIPELINE)[
        "pipelineExecutionSummaries"]}

    # The feature commit goes first: by the time the watcher has seen the main commit it has
    # seen the feature one too (same repository, earlier), so exactly one new run, the main
    # commit's, proves the other branch started nothing, without sleeping on it.
    sample_repo.push_release_note(repo, "an experiment", branch="feature/experiment")
    commit = sample_repo.push_release_note(repo, "a release", branch="main")

    def new_run():
        runs = aws_cli(env, "codepipeline", "list-pipeline-executions", "--pipeline-name", PIPELINE)
        fresh = [r for r in runs["pipelineExecutionSummaries"]
                 if r["pipelineExecutionId"] not in before and r.get("sourceRevisions")]
        return (fresh[0] if fresh else None), len(runs["pipelineExecutionSummaries"])

    run = _poll("a run started by the push, past its source", new_run, timeout=60)
    assert [r["revisionId"] for r in run["sourceRevisions"]] == [commit.sha]
    started = [r for r in aws_cli(env, "codepipeline", "list-pipeline-executions",
                                  "--pipeline-name", PIPELINE)["pipelineExecutionSummaries"]
               if r["pipelineExecutionId"] not in before]
    assert [r["pipelineExecutionId"] for r in started] == [run["pipelineExecutionId"]], started
    assert run["trigger"]["triggerType"] == "WebhookV2"


def _poll(what, check, timeout=180):
    """``check()`` returns (answer, what to report); wait for an answer."""
    return wait_until(check, lambda seen: seen[0], what=what, timeout=timeout, interval=0.5)[0]
