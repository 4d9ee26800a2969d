"""The read side of the CodePipeline API: GetPipelineState's stage, action and condition states,
action and rule execution details, and the offset pagination every List call shares.

Pure functions of the engine's records (a snapshot), shaped as botocore's service model says.
"""

from __future__ import annotations

from typing import Any

from runbook_lib.local.codepipeline.records import ACTIVE
from runbook_lib.local.server.paging import CODEPIPELINE, PageRule


def stage_execution(execution: dict[str, Any], status: str) -> dict[str, Any]:
    return {"pipelineExecutionId": execution["pipelineExecutionId"], "status": status,
            "type": execution["executionType"]}


def action_detail(record: dict[str, Any]) -> dict[str, Any]:
    """An ActionExecutionDetail: the record without the engine's own (``_``) fields."""
    detail = {k: v for k, v in record.items() if not k.startswith("_")}
    if not detail.get("output"):
        detail.pop("output", None)
    return detail


def current_revision(book: dict[str, Any], action: dict[str, Any]) -> dict[str, Any] | None:
    if action["actionTypeId"]["category"] != "Source":
        return None
    names = [a["name"] for a in action.get("outputArtifacts", [])] or [action["name"]]
    for execution in sorted(book["executions"].values(), key=lambda e: e["seq"], reverse=True):
        for revision in execution["artifactRevisions"]:
            if revision["name"] == names[0] and revision.get("revisionId"):
                return {"revisionId": revision["revisionId"],
                        "revisionChangeId": revision.get("revisionChangeIdentifier",
                                                         revision["revisionId"]),
                        "created": revision.get("created", execution["startTime"]),
                        "_url": revision.get("revisionUrl")}
    return None


def copy_optional(source: dict[str, Any], target: dict[str, Any], *keys: str) -> None:
    for key in keys:
        if source.get(key):
            target[key] = source[key]


# CodePipeline's List operations, paged by the one pager (local/server/paging.py).
LIST_PIPELINES = PageRule("ListPipelines", "pipelines", CODEPIPELINE, page_size=1000,
                          max_results=1000, unique="name")
LIST_PIPELINE_EXECUTIONS = PageRule("ListPipelineExecutions", "pipelineExecutionSummaries",
                                    CODEPIPELINE, unique="pipelineExecutionId")
LIST_ACTION_EXECUTIONS = PageRule("ListActionExecutions", "actionExecutionDetails",
                                  CODEPIPELINE, unique="actionExecutionId")
LIST_RULE_EXECUTIONS = PageRule("ListRuleExecutions", "ruleExecutionDetails", CODEPIPELINE,
                                unique="ruleExecutionId")
LIST_TAGS_FOR_RESOURCE = PageRule("ListTagsForResource", "tags", CODEPIPELINE, unique="key")
LIST_WEBHOOKS = PageRule("ListWebhooks", "webhooks", CODEPIPELINE, token_key="NextToken",
                         limit_key="MaxResults")
LIST_ACTION_TYPES = PageRule("ListActionTypes", "actionTypes", CODEPIPELINE, page_size=1000,
                             max_results=None)
LIST_DEPLOY_TARGETS = PageRule("ListDeployActionExecutionTargets", "targets", CODEPIPELINE,
                               unique="targetId")


def stage_state(book: dict[str, Any], stage: dict[str, Any], transitions: dict[str, Any],
                first: bool, approval_of) -> dict[str, Any]:
    """A StageState: latest and inbound executions, actions, conditions, retry metadata."""
    name = stage["name"]
    state: dict[str, Any] = {"stageName": name}
    if not first:
        state["inboundTransitionState"] = transitions.get(name, {"enabled": True})
    executions = book["executions"].values()
    entered = [e for e in executions if name in e["stages"]]
    if entered:
        latest = max(entered, key=lambda e: e["stages"][name]["startTime"])
        state["latestExecution"] = stage_execution(latest, latest["stages"][name]["status"])
        if latest["stages"][name].get("retry"):
            state["retryStageMetadata"] = dict(latest["stages"][name]["retry"])
    waiting = sorted((e for e in executions
                      if e.get("waitingAt") == name and e["status"] in ACTIVE),
                     key=lambda e: e["seq"])
    if waiting:
        state["inboundExecution"] = stage_execution(waiting[-1], "InProgress")
        state["inboundExecutions"] = [stage_execution(e, "InProgress") for e in waiting]
    state["actionStates"] = [action_state(book, name, a, approval_of) for a in stage["actions"]]
    for block, field in (("beforeEntry", "beforeEntryConditionState"),
                         ("onSuccess", "onSuccessConditionState"),
                         ("onFailure", "onFailureConditionState")):
        condition = condition_state(book, name, block)
        if condition:
            state[field] = condition
    return state


def action_state(book: dict[str, Any], stage: str, action: dict[str, Any],
                 approval_of) -> dict[str, Any]:
    """An ActionState; ``approval_of(action_execution_id)`` gives a pending approval's token."""
    state: dict[str, Any] = {"actionName": action["name"]}
    runs = [r for r in book["actions"].values()
            if (r["stageName"], r["actionName"]) == (stage, action["name"])]
    if not runs:
        return state
    latest = max(runs, key=lambda r: r["startTime"])
    result = (latest.get("output") or {}).get("executionResult") or {}
    view: dict[str, Any] = {"actionExecutionId": latest["actionExecutionId"],
                            "status": latest["status"],
                            "lastStatusChange": latest["lastUpdateTime"]}
    if latest.get("_summary"):
        view["summary"] = latest["_summary"][:2048]
    if latest.get("updatedBy"):
        view["lastUpdatedBy"] = latest["updatedBy"]
    for key in ("externalExecutionId", "externalExecutionUrl", "errorDetails"):
        if result.get(key):
            view[key] = result[key]
    approval = approval_of(latest["actionExecutionId"])
    if approval and latest["status"] == "InProgress":
        view["token"] = approval["token"]
    state["latestExecution"] = view
    revision = current_revision(book, action)
    if revision:
        url = revision.pop("_url")
        state["currentRevision"] = revision
        if url:
            state["revisionUrl"] = url
    return state


def condition_state(book: dict[str, Any], stage: str, block: str) -> dict[str, Any] | None:
    """A StageConditionState: the latest evaluation of ``block`` in ``stage``, any execution."""
    evaluated = [e["conditions"][stage][block] for e in book["executions"].values()
                 if block in e.get("conditions", {}).get(stage, {})]
    if not evaluated:
        return None
    latest = max(evaluated, key=lambda c: c["lastStatusChange"])
    rules = []
    for rule_name, rule_id in latest.get("rules", {}).items():
        record = book.get("rules", {}).get(rule_id)
        if record is None:
            continue
        run: dict[str, Any] = {"ruleExecutionId": rule_id, "status": record["status"],
                               "lastStatusChange": record["lastUpdateTime"]}
        if record.get("_summary"):
            run["summary"] = record["_summary"][:2048]
        result = (record.get("output") or {}).get("executionResult") or {}
        for key in ("externalExecutionId", "errorDetails"):
            if result.get(key):
                run[key] = result[key]
        rules.append({"ruleName": rule_name, "latestExecution": run})
    execution = {"status": latest["status"], "summary": latest.get("summary", "")[:2048]}
    return {"latestExecution": dict(execution),
            "conditionStates": [{"latestExecution": {
                **execution, "lastStatusChange": latest["lastStatusChange"]},
                "ruleStates": rules}]}


def rule_detail(record: dict[str, Any]) -> dict[str, Any]:
    """A RuleExecutionDetail: the record without the engine's own (``_``) fields."""
    detail = {k: v for k, v in record.items() if not k.startswith("_")}
    if not detail.get("output"):
        detail.pop("output", None)
    return detail


def rule_executions(book: dict[str, Any], wanted: dict[str, Any]) -> list[dict[str, Any]]:
    """ListRuleExecutions' rows, newest first, after its filter.

    ``pipelineExecutionId`` keeps one execution's runs; ``latestInPipelineExecution`` keeps the
    runs of executions that started no later than the one named, and with ``Latest`` only the
    newest run of each (stage, rule) among them."""
    records = sorted(book.get("rules", {}).values(),
                     key=lambda r: (r["startTime"], r["ruleExecutionId"]), reverse=True)
    if wanted.get("pipelineExecutionId"):
        records = [r for r in records
                   if r["pipelineExecutionId"] == wanted["pipelineExecutionId"]]
    latest = wanted.get("latestInPipelineExecution")
    if latest:
        anchor = book["executions"][latest["pipelineExecutionId"]]
        starts = {i: e["startTime"] for i, e in book["executions"].items()}
        records = [r for r in records
                   if starts.get(r["pipelineExecutionId"], 0) <= anchor["startTime"]]
        if latest.get("startTimeRange") == "Latest":
            seen: set[tuple[str, str]] = set()
            kept = []
            for record in records:
                if (record["stageName"], record["ruleName"]) not in seen:
                    seen.add((record["stageName"], record["ruleName"]))
                    kept.append(record)
            records = kept
    return [rule_detail(r) for r in records]
