"""Follow one execution: each stage and action as it runs, until it ends or waits for approval.

One look (:func:`read_progress`) is a GetPipelineExecution plus the execution's
ListActionExecutions pages; a retried action keeps its newest attempt (by start time, not by
list position). :func:`watch_execution` repeats it with an explicit timeout.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from runbook_lib.core.session import AwsSession
from runbook_lib.operate.summaries import (
    TERMINAL,
    WaitTimeout,
    get_execution,
    pipeline_error,
    require_id,
)

ACTION_TERMINAL = ("Succeeded", "Failed", "Abandoned")


@dataclass
class ActionProgress:
    """One action of one execution: ``Pending`` until CodePipeline reports an action execution."""

    stage: str
    action: str
    category: str = ""
    status: str = "Pending"
    start_time: datetime | None = None
    last_update_time: datetime | None = None
    external_id: str = ""
    summary: str = ""

    @property
    def finished(self) -> bool:
        return self.status in ACTION_TERMINAL

    def elapsed_seconds(self, now: datetime) -> float | None:
        """Run time so far (or in all, once finished); None before it starts."""
        if self.start_time is None:
            return None
        end = self.last_update_time if self.finished and self.last_update_time else now
        return max(0.0, (end - self.start_time).total_seconds())


@dataclass
class StageProgress:
    """A stage of one execution and its actions, in run order.

    How statuses combine: any action Failed makes the stage Failed; all Succeeded makes it
    Succeeded; nothing started yet is Pending; anything else is InProgress.
    """

    name: str
    actions: list[ActionProgress] = field(default_factory=list)

    @property
    def status(self) -> str:
        statuses = [a.status for a in self.actions]
        if not statuses or all(s == "Pending" for s in statuses):
            return "Pending"
        if "Failed" in statuses:
            return "Failed"
        if all(s == "Succeeded" for s in statuses):
            return "Succeeded"
        if all(s in ACTION_TERMINAL for s in statuses) and "Abandoned" in statuses:
            return "Stopped"
        return "InProgress"

    @property
    def finished(self) -> bool:
        return self.status in ("Succeeded", "Failed", "Stopped")

    def elapsed_seconds(self, now: datetime) -> float | None:
        starts = [a.start_time for a in self.actions if a.start_time]
        if not starts:
            return None
        ends = [a.last_update_time or now for a in self.actions if a.start_time]
        end = max(ends) if self.finished else now
        return max(0.0, (end - min(starts)).total_seconds())


@dataclass
class ExecutionProgress:
    """Where one execution is: overall status, each stage and action, read at ``now``."""

    pipeline: str
    execution_id: str
    status: str
    now: datetime
    status_summary: str = ""
    start_time: datetime | None = None
    last_update_time: datetime | None = None
    stages: list[StageProgress] = field(default_factory=list)
    rollback_target: str = ""  # set when the run is a rollback: the execution it restores
    is_rollback: bool = False

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL

    @property
    def counted_stages(self) -> list[StageProgress]:
        """The stages the run's actions count in: all of them, or for a rollback (which re-runs
        one stage) the stages it ran."""
        if not self.is_rollback:
            return self.stages
        ran = [s for s in self.stages if any(a.status != "Pending" for a in s.actions)]
        return ran or self.stages

    @property
    def total_actions(self) -> int:
        return sum(len(s.actions) for s in self.counted_stages)

    @property
    def finished_actions(self) -> int:
        return sum(a.finished for s in self.counted_stages for a in s.actions)

    @property
    def fraction(self) -> float:
        """Share of actions finished (1.0 when the execution is over, whatever was skipped)."""
        if self.finished:
            return 1.0
        return self.finished_actions / self.total_actions if self.total_actions else 0.0

    @property
    def waiting_for_approval(self) -> ActionProgress | None:
        for stage in self.stages:
            for action in stage.actions:
                if action.category == "Approval" and action.status == "InProgress":
                    return action
        return None

    def elapsed_seconds(self) -> float:
        """First action start to last action update (GetPipelineExecution has no times)."""
        actions = [a for s in self.stages for a in s.actions if a.start_time]
        start = self.start_time or min((a.start_time for a in actions if a.start_time),
                                       default=None)
        if start is None:
            return 0.0
        end = self.last_update_time or max((a.last_update_time or self.now for a in actions),
                                           default=self.now)
        return max(0.0, ((end if self.finished else self.now) - start).total_seconds())


def pipeline_layout(session: AwsSession, pipeline: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """[(stage, [(action, category)])] in pipeline and run order: what a run will go through."""
    try:
        declared = session.client("codepipeline").get_pipeline(name=pipeline)["pipeline"]
    except ClientError as err:
        raise pipeline_error(pipeline, "get pipeline", err) from err
    return [(stage["name"],
             [(a["name"], a["actionTypeId"]["category"])
              for a in sorted(stage["actions"], key=lambda a: (a.get("runOrder", 1), a["name"]))])
            for stage in declared["stages"]]


def read_progress(session: AwsSession, pipeline: str, execution_id: str,
                  layout: list[tuple[str, list[tuple[str, str]]]] | None = None
                  ) -> ExecutionProgress:
    """One look at an execution: GetPipelineExecution plus its ListActionExecutions pages."""
    require_id("execution_id", execution_id)
    layout = layout if layout is not None else pipeline_layout(session, pipeline)
    try:
        summary = get_execution(session, pipeline, execution_id, with_commit=False)
    except ClientError as err:
        raise pipeline_error(pipeline, f"get execution {execution_id}", err) from err
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    paginator = session.client("codepipeline").get_paginator("list_action_executions")
    for page in paginator.paginate(pipelineName=pipeline,
                                   filter={"pipelineExecutionId": execution_id}):
        for item in page.get("actionExecutionDetails") or []:
            key = (item.get("stageName", ""), item.get("actionName", ""))
            if key not in latest or _started(item) >= _started(latest[key]):
                latest[key] = item  # a retried action keeps its newest attempt
    stages = []
    for stage_name, actions in layout:
        stage = StageProgress(stage_name)
        for action_name, category in actions:
            stage.actions.append(_action_progress(stage_name, action_name, category,
                                                  latest.get((stage_name, action_name))))
        stages.append(stage)
    rollback = summary.execution_type == "ROLLBACK" or summary.trigger.endswith("Rollback")
    return ExecutionProgress(pipeline, execution_id, summary.status, _now(),
                             summary.status_summary, summary.start_time,
                             summary.last_update_time, stages,
                             summary.rollback_target, rollback)


def watch_execution(session: AwsSession, pipeline: str, execution_id: str,
                    on_update: Callable[[ExecutionProgress], None] | None = None,
                    timeout: float = 600, poll: float = 1.0, stop_at_approval: bool = False
                    ) -> ExecutionProgress:
    """Follow an execution to its end, handing every look to ``on_update`` (a progress view).

    Stops early at a pending manual approval when ``stop_at_approval``; on timeout raises
    :class:`WaitTimeout` with the last status and the stages it saw.
    """
    layout = pipeline_layout(session, pipeline)
    deadline = time.monotonic() + timeout
    while True:
        progress = read_progress(session, pipeline, execution_id, layout)
        if on_update:
            on_update(progress)
        if progress.finished or (stop_at_approval and progress.waiting_for_approval):
            return progress
        if time.monotonic() >= deadline:
            stages = ", ".join(f"{s.name} {s.status}" for s in progress.stages)
            raise WaitTimeout(f"execution {execution_id} of {pipeline} still {progress.status} "
                              f"after {timeout:.0f} s; stages: {stages}. Look at the pipeline "
                              "in the console, or wait longer (wait_minutes).")
        time.sleep(poll)


def _started(item: dict[str, Any]) -> datetime:
    return item.get("startTime") or datetime.min.replace(tzinfo=UTC)


def _now() -> datetime:
    return datetime.now(UTC)


def _action_progress(stage: str, action: str, category: str, item: dict[str, Any] | None
                     ) -> ActionProgress:
    if item is None:
        return ActionProgress(stage, action, category)
    result = (item.get("output") or {}).get("executionResult") or {}
    return ActionProgress(stage, action, category, item.get("status", "InProgress"),
                          item.get("startTime"), item.get("lastUpdateTime"),
                          result.get("externalExecutionId", ""),
                          result.get("externalExecutionSummary", ""))
