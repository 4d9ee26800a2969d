"""Operating the release gates: why a run waits or was blocked, the break-glass override, and
what the gates did over time.

A gate that holds a release must say why in the operator's words (the alarm and its state,
the window and its next opening), read from GetPipelineState's condition states and
ListRuleExecutions. An operator may override a gate that is still waiting (OverrideStageCondition)
only with a reason, and the override lands in the same audit trail as approvals. The health
report counts blocked releases, automated rollbacks and automatic retries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from runbook_lib.core.errors import ParameterError, StepError
from runbook_lib.core.session import AwsSession
from runbook_lib.operate.audit import AuditRecord, operator_identity, write_audit_record

BLOCKS = (("beforeEntry", "beforeEntryConditionState", "BEFORE_ENTRY"),
          ("onSuccess", "onSuccessConditionState", "ON_SUCCESS"),
          ("onFailure", "onFailureConditionState", ""))
GATE_HEADERS = ("stage", "gate", "status", "why")
COUNT_HEADERS = ("gate blocks", "automated rollbacks", "automatic retries")


@dataclass(frozen=True)
class RuleRun:
    """One rule's latest run: its name, status and the reason it gave."""

    name: str
    status: str
    summary: str
    execution_id: str = ""


@dataclass(frozen=True)
class GateState:
    """A stage's condition block, as last evaluated."""

    stage: str
    block: str
    status: str  # InProgress, Succeeded, Failed, Overridden, Cancelled, Abandoned
    summary: str
    rules: tuple[RuleRun, ...] = ()

    @property
    def waiting(self) -> bool:
        return self.status == "InProgress"

    @property
    def overridable(self) -> bool:
        """OverrideStageCondition accepts BEFORE_ENTRY and ON_SUCCESS conditions in progress."""
        return self.waiting and bool(self.condition_type)

    @property
    def condition_type(self) -> str:
        return next((kind for block, _, kind in BLOCKS if block == self.block), "")

    @property
    def execution_id(self) -> str:
        return next((r.execution_id for r in self.rules if r.execution_id), "")

    def why(self) -> str:
        """The reason in one line: the failing or waiting rule's own words."""
        for rule in self.rules:
            if rule.status in ("InProgress", "Failed") and rule.summary:
                return f"{rule.name}: {rule.summary}"
        return self.summary

    def row(self) -> tuple[str, str, str, str]:
        label = "waiting" if self.waiting else self.status
        return (self.stage, self.block, label, self.why())


def gate_states(session: AwsSession, pipeline: str) -> list[GateState]:
    """Every stage's condition blocks, as GetPipelineState reports them, with the rule runs."""
    cp = session.client("codepipeline")
    try:
        stages = cp.get_pipeline_state(name=pipeline)["stageStates"]
    except ClientError as err:
        raise StepError(f"get pipeline state {pipeline}: {err}") from err
    owners = _rule_owners(session, pipeline)
    states = []
    for stage in stages:
        for block, field, _ in BLOCKS:
            state = stage.get(field)
            if not state:
                continue
            latest = state.get("latestExecution", {})
            rules = tuple(
                RuleRun(r["ruleName"], r.get("latestExecution", {}).get("status", ""),
                        r.get("latestExecution", {}).get("summary", ""),
                        owners.get(r.get("latestExecution", {}).get("ruleExecutionId", ""), ""))
                for condition in state.get("conditionStates", [])
                for r in condition.get("ruleStates", []))
            states.append(GateState(stage["stageName"], block, latest.get("status", ""),
                                    latest.get("summary", ""), rules))
    return states


def _rule_owners(session: AwsSession, pipeline: str) -> dict[str, str]:
    """Rule execution id -> pipeline execution id (GetPipelineState does not say)."""
    cp = session.client("codepipeline")
    try:
        pages = cp.get_paginator("list_rule_executions").paginate(pipelineName=pipeline)
        return {d["ruleExecutionId"]: d["pipelineExecutionId"]
                for page in pages for d in page.get("ruleExecutionDetails", [])}
    except ClientError as err:
        raise StepError(f"list rule executions {pipeline}: {err}") from err


def gate_rows(states: list[GateState]) -> list[tuple[str, str, str, str]]:
    """Rows for the gates table; one row saying so when the pipeline has no gate."""
    return [s.row() for s in states] or [("-", "-", "-", "no release gate has run yet")]


def run_gate_text(session: AwsSession, pipeline: str, execution_id: str) -> str:
    """What the gates did to one run, a line each (the run being watched): waiting or blocking,
    and why in the rule's own words."""
    mine = [g for g in gate_states(session, pipeline) if g.execution_id == execution_id]
    if not mine:
        return "no release gate has run for this execution"
    return "\n".join(f"gate {g.stage} {g.block}: {g.row()[2]}: {g.why()}" for g in mine)


def waiting_gates(session: AwsSession, pipelines: list[str]) -> list[tuple[str, GateState]]:
    """(pipeline, gate) for every gate holding a run now: what the cockpit offers to override."""
    return [(pipeline, state) for pipeline in pipelines
            for state in gate_states(session, pipeline) if state.overridable]


def override_gate(session: AwsSession, pipeline: str, gate: GateState, reason: str,
                  audit_bucket: str) -> AuditRecord:
    """Break glass: let a waiting gate through (OverrideStageCondition), and record who, when
    and why in the audit trail (:mod:`.audit`). A reason is required, as an approval's summary
    is."""
    if not reason.strip():
        raise ParameterError("override_reason", reason, "a break-glass override needs a reason "
                             "(it goes in the audit trail)",
                             "alarm is a known false positive, INC-1234")
    if not gate.overridable:
        raise ParameterError("override_stage", gate.stage, f"the {gate.block} gate is "
                             f"{gate.status}; only a waiting beforeEntry or onSuccess gate can "
                             "be overridden", "a stage whose gate shows 'waiting'")
    try:
        session.client("codepipeline").override_stage_condition(
            pipelineName=pipeline, stageName=gate.stage, pipelineExecutionId=gate.execution_id,
            conditionType=gate.condition_type)
    except ClientError as err:
        raise StepError(f"override {gate.block} gate of {pipeline}/{gate.stage}: {err}") from err
    return write_audit_record(
        session, audit_bucket, "the gate was overridden", who=operator_identity(session),
        pipeline=pipeline, execution=gate.execution_id, stage=gate.stage,
        action=f"{gate.block} gate", token="", decision="override", summary=reason.strip())


def find_gate(states: list[GateState], stage: str, block: str = "") -> GateState:
    """The gate an operator named (by stage, and block when a stage has two waiting)."""
    found = [s for s in states if s.stage == stage and (not block or s.block == block)]
    if not found:
        raise ParameterError("override_stage", stage, "no gate of that stage has run",
                             ", ".join(sorted({s.stage for s in states})) or "Deploy-production")
    waiting = [s for s in found if s.waiting] or found
    return waiting[0]


@dataclass(frozen=True)
class GateCounts:
    """What the gates did, over the executions CodePipeline still lists."""

    blocked: int
    rolled_back: int
    retried: int

    def row(self) -> tuple[int, int, int]:
        return (self.blocked, self.rolled_back, self.retried)

    def summary(self) -> str:
        return (f"{self.blocked} blocked, {self.rolled_back} rolled back, "
                f"{self.retried} retried")


def gate_counts(session: AwsSession, pipeline: str,
                within: set[str] | None = None, declaration: dict[str, Any] | None = None,
                runs: list[dict[str, Any]] | None = None) -> GateCounts:
    """Blocked releases (a beforeEntry rule failed), automated rollbacks (executions started by
    AutomatedRollback) and automatic retries (an action run twice in one execution of a stage
    that declares onFailure RETRY). ``within`` keeps only those executions (a report window);
    ``declaration`` and ``runs`` (GetPipeline's pipeline, ListPipelineExecutions items) spare
    reading them again when the caller has them."""
    cp = session.client("codepipeline")
    try:
        declaration = declaration or cp.get_pipeline(name=pipeline)["pipeline"]
        entry_rules = {(s["name"], r["name"]) for s in declaration["stages"]
                       for c in (s.get("beforeEntry") or {}).get("conditions", [])
                       for r in c.get("rules", [])}
        retrying = {s["name"] for s in declaration["stages"]
                    if (s.get("onFailure") or {}).get("result") == "RETRY"}
        runs = runs if runs is not None else [
            e for page in cp.get_paginator("list_pipeline_executions").paginate(
                pipelineName=pipeline) for e in page["pipelineExecutionSummaries"]]
        # Rule and action histories are read only when a gate or a retry can show in them.
        rules = [d for page in cp.get_paginator("list_rule_executions").paginate(
            pipelineName=pipeline) for d in page.get("ruleExecutionDetails", [])
                 ] if entry_rules else []
        actions = [d for page in cp.get_paginator("list_action_executions").paginate(
            pipelineName=pipeline) for d in page["actionExecutionDetails"]] if retrying else []
    except ClientError as err:
        raise StepError(f"count gate outcomes of {pipeline}: {err}") from err
    blocked = {d["pipelineExecutionId"] for d in rules
               if d["status"] == "Failed" and (d["stageName"], d["ruleName"]) in entry_rules}
    rolled_back = [e for e in runs if e.get("trigger", {}).get("triggerType")
                   == "AutomatedRollback"]
    seen: dict[tuple[str, str, str], int] = {}
    for detail in actions:
        if detail["stageName"] in retrying:
            key = (detail["pipelineExecutionId"], detail["stageName"], detail["actionName"])
            seen[key] = seen.get(key, 0) + 1
    retried = {(k[0], k[1]) for k, count in seen.items() if count > 1}
    if within is not None:
        blocked &= within
        rolled_back = [e for e in rolled_back if e["pipelineExecutionId"] in within]
        retried = {r for r in retried if r[0] in within}
    return GateCounts(len(blocked), len(rolled_back), len(retried))


# -- the cockpit's break-glass override ---------------------------------------------------------

WAITING_HEADERS = ("pipeline", "stage", "gate", "execution", "why")


def waiting_rows(session: AwsSession, pipelines: list[str]) -> list[tuple[str, ...]]:
    """Gates holding a run now, for the cockpit; one row saying none when nothing waits."""
    rows: list[tuple[str, ...]] = [(pipeline, g.stage, g.block, g.execution_id, g.why())
            for pipeline, g in waiting_gates(session, pipelines)]
    return rows or [("-", "-", "-", "-", "no gate is holding a run")]


def apply_override(session: AwsSession, pipelines: list[str], stage: str, reason: str,
                   audit_bucket: str) -> AuditRecord | None:
    """The headless path: no ``stage`` changes nothing; otherwise override the waiting gate of
    that stage (in the first pipeline that has one), reason required."""
    if not stage.strip():
        return None
    for pipeline in pipelines:
        states = [g for g in gate_states(session, pipeline) if g.stage == stage]
        if states:
            return override_gate(session, pipeline, find_gate(states, stage), reason,
                                 audit_bucket)
    raise ParameterError("override_stage", stage, "no gate of that stage has run in "
                         f"{', '.join(pipelines)}", "Deploy-production")


def override_text(record: AuditRecord | None, bucket: str) -> str:
    if record is None:
        return "no override requested: nothing was changed (override_stage and override_reason)"
    return (f"overrode the {record.action} of {record.pipeline}/{record.stage} (execution "
            f"{record.execution}) as {record.who}: {record.summary}\n"
            f"audit record: s3://{bucket}/{record.key}")
