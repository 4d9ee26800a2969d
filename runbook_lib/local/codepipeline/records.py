"""The engine's vocabulary: which execution a call is about, and the shapes of its records.

Records live in one JSON document (so they survive a restart); the TypedDicts name the fields
the engine writes, so a reader sees what a rule run or a condition state holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypedDict

ACCOUNT_ID = "123456789012"
ACTIVE = ("InProgress", "Stopping")
EVENT_STATES = {"InProgress": "STARTED", "Succeeded": "SUCCEEDED", "Failed": "FAILED",
                "Stopped": "STOPPED", "Stopping": "STOPPING", "Superseded": "SUPERSEDED",
                "Abandoned": "ABANDONED", "Resumed": "RESUMED", "Cancelled": "CANCELED",
                "Skipped": "SKIPPED", "Overridden": "OVERRIDDEN", "Errored": "FAILED"}
# OverrideStageCondition's conditionType -> the declaration's block.
CONDITION_BLOCKS = {"BEFORE_ENTRY": "beforeEntry", "ON_SUCCESS": "onSuccess"}


@dataclass(frozen=True)
class ExecutionKey:
    """One pipeline execution: where it runs, in which pipeline, and its id."""

    region: str
    pipeline: str
    execution_id: str

    @classmethod
    def of(cls, execution: dict[str, Any]) -> ExecutionKey:
        return cls(execution["region"], execution["pipelineName"],
                   execution["pipelineExecutionId"])


class ConditionRecord(TypedDict, total=False):
    """One condition block's latest evaluation for one stage of one execution."""

    status: str  # ConditionExecutionStatus
    summary: str
    result: str  # the result the condition engages when it fails
    lastStatusChange: float
    rules: dict[str, str]  # rule name -> rule execution id
    overriddenBy: str


class RuleExecutionRecord(TypedDict, total=False):
    """A RuleExecutionDetail plus the engine's own ``_`` fields (never served)."""

    pipelineExecutionId: str
    ruleExecutionId: str
    pipelineVersion: int
    stageName: str
    ruleName: str
    startTime: float
    lastUpdateTime: float
    status: str  # InProgress | Abandoned | Succeeded | Failed
    input: dict[str, Any]
    output: dict[str, Any]
    _block: str
    _summary: str
