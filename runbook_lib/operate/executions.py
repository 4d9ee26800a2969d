"""Start, find and wait for pipeline executions; find and answer pending approvals.

CodePipeline has no waiters, so :func:`wait_for_execution` is the one polling helper: an explicit
timeout, and on timeout an error that reports the last status it saw.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from botocore.exceptions import ClientError

from runbook_lib.core.errors import RunbookError, StepError
from runbook_lib.core.session import AwsSession

TERMINAL = ("Succeeded", "Failed", "Stopped", "Superseded", "Cancelled")


class WaitTimeout(RunbookError):
    """An execution did not reach the awaited state in time; says what it last saw."""


@dataclass
class ExecutionSummary:
    """One execution as ListPipelineExecutions / GetPipelineExecution report it."""

    execution_id: str
    status: str
    status_summary: str = ""
    trigger: str = ""
    start_time: datetime | None = None
    last_update_time: datetime | None = None
    revisions: list[dict] = field(default_factory=list)

    @property
    def commit_id(self) -> str:
        for rev in self.revisions:
            if rev.get("revisionId"):
                return rev["revisionId"]
        return ""

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL


@dataclass
class PendingApproval:
    pipeline: str
    stage: str
    action: str
    token: str
    execution_id: str = ""
    summary: str = ""


def start_execution(session: AwsSession, pipeline: str,
                    source_revisions: list[dict] | None = None) -> str:
    """Start a run; ``source_revisions`` pins a commit or object version."""
    kwargs = {"name": pipeline}
    if source_revisions:
        kwargs["sourceRevisions"] = source_revisions
    try:
        return session.client("codepipeline").start_pipeline_execution(**kwargs)[
            "pipelineExecutionId"]
    except ClientError as err:
        raise StepError(f"start pipeline execution {pipeline}: {err}") from err


def list_executions(session: AwsSession, pipeline: str, limit: int = 50
                    ) -> list[ExecutionSummary]:
    """Newest first, read with the paginator until ``limit``."""
    out: list[ExecutionSummary] = []
    paginator = session.client("codepipeline").get_paginator("list_pipeline_executions")
    for page in paginator.paginate(pipelineName=pipeline,
                                   PaginationConfig={"MaxItems": limit, "PageSize": 50}):
        for item in page["pipelineExecutionSummaries"]:
            out.append(_summary(item))
    return out


def get_execution(session: AwsSession, pipeline: str, execution_id: str) -> ExecutionSummary:
    item = session.client("codepipeline").get_pipeline_execution(
        pipelineName=pipeline, pipelineExecutionId=execution_id)["pipelineExecution"]
    return _summary(item)


def wait_for_new_execution(session: AwsSession, pipeline: str, known: set[str],
                           timeout: float = 60, poll: float = 0.5) -> ExecutionSummary:
    """Wait for a run that is not in ``known`` (one a push started)."""
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    while time.monotonic() < deadline:
        for summary in list_executions(session, pipeline, limit=10):
            if summary.execution_id not in known:
                return summary
        seen = sorted(known)
        time.sleep(poll)
    raise WaitTimeout(f"no new execution of {pipeline} started within {timeout:.0f}s "
                      f"({len(seen)} executions known). Check that the commit is on the "
                      "watched branch and that the repository is registered.")


def wait_for_execution(session: AwsSession, pipeline: str, execution_id: str,
                       timeout: float = 600, poll: float = 0.5, stop_at_approval: bool = False,
                       on_progress: Callable[[list[tuple[str, str]]], None] | None = None
                       ) -> ExecutionSummary:
    """Poll until the execution ends (or waits for approval); report progress on change.

    ``on_progress`` gets [(stage, status)] for this execution whenever it changes.
    """
    deadline = time.monotonic() + timeout
    last_status, last_stages = "unknown", []
    while True:
        summary = get_execution(session, pipeline, execution_id)
        last_status = summary.status
        state = _pipeline_state(session, pipeline)  # one read serves both checks below
        stages = _stages_of(state, execution_id)
        if on_progress and stages != last_stages:
            on_progress(stages)
        last_stages = stages
        if summary.finished:
            return summary
        if stop_at_approval and any(a.execution_id == execution_id
                                    for a in _pending_in(state, pipeline)):
            return summary
        if time.monotonic() >= deadline:
            raise WaitTimeout(
                f"execution {execution_id} of {pipeline} still {last_status} after "
                f"{timeout:.0f}s; stages: {', '.join(f'{s} {st}' for s, st in last_stages)}")
        time.sleep(poll)


def stage_statuses(session: AwsSession, pipeline: str, execution_id: str
                   ) -> list[tuple[str, str]]:
    """(stage, status) for the stages this execution has reached, in pipeline order."""
    return _stages_of(_pipeline_state(session, pipeline), execution_id)


def pending_approvals(session: AwsSession, pipeline: str) -> list[PendingApproval]:
    """Manual approvals waiting for an answer, with their tokens."""
    return _pending_in(_pipeline_state(session, pipeline), pipeline)


def _pipeline_state(session: AwsSession, pipeline: str) -> dict:
    return session.client("codepipeline").get_pipeline_state(name=pipeline)


def _stages_of(state: dict, execution_id: str) -> list[tuple[str, str]]:
    out = []
    for stage in state.get("stageStates", []):
        latest = stage.get("latestExecution") or {}
        if latest.get("pipelineExecutionId") == execution_id:
            out.append((stage["stageName"], latest.get("status", "")))
    return out


def _pending_in(state: dict, pipeline: str) -> list[PendingApproval]:
    found = []
    for stage in state.get("stageStates", []):
        execution_id = (stage.get("latestExecution") or {}).get("pipelineExecutionId", "")
        for action in stage.get("actionStates", []):
            latest = action.get("latestExecution") or {}
            if latest.get("status") == "InProgress" and latest.get("token"):
                found.append(PendingApproval(pipeline, stage["stageName"], action["actionName"],
                                             latest["token"], execution_id,
                                             latest.get("summary", "")))
    return found


def answer_approval(session: AwsSession, approval: PendingApproval, approve: bool,
                    summary: str) -> None:
    """Approve or reject; a summary is required because it is the audit trail."""
    if not summary.strip():
        from runbook_lib.core.errors import ParameterError

        raise ParameterError("summary", summary, "an approval needs a summary for the audit "
                             "trail", "staging checked, release notes reviewed")
    try:
        session.client("codepipeline").put_approval_result(
            pipelineName=approval.pipeline, stageName=approval.stage,
            actionName=approval.action, token=approval.token,
            result={"summary": summary, "status": "Approved" if approve else "Rejected"})
    except ClientError as err:
        raise StepError(f"answer approval {approval.stage}/{approval.action} of "
                        f"{approval.pipeline}: {err}") from err


def summary_of(item: dict) -> ExecutionSummary:
    """One ListPipelineExecutions item as a summary, for readers that page by themselves."""
    return _summary(item)


def _summary(item: dict) -> ExecutionSummary:
    trigger = item.get("trigger") or {}
    return ExecutionSummary(
        execution_id=item["pipelineExecutionId"],
        status=item.get("status", ""),
        status_summary=item.get("statusSummary", "") or "",
        trigger=trigger.get("triggerType", ""),
        start_time=item.get("startTime"),
        last_update_time=item.get("lastUpdateTime"),
        revisions=item.get("artifactRevisions") or item.get("sourceRevisions") or [],
    )


@dataclass
class FailedAction:
    stage: str
    action: str
    summary: str
    external_id: str = ""  # a build id for CodeBuild actions


def failed_action(session: AwsSession, pipeline: str, execution_id: str) -> FailedAction | None:
    """The first failed action of an execution, with its summary and external id."""
    paginator = session.client("codepipeline").get_paginator("list_action_executions")
    failed = []
    for page in paginator.paginate(pipelineName=pipeline,
                                   filter={"pipelineExecutionId": execution_id}):
        for item in page["actionExecutionDetails"]:
            if item.get("status") == "Failed":
                result = (item.get("output") or {}).get("executionResult") or {}
                failed.append((item.get("startTime"), FailedAction(
                    item["stageName"], item["actionName"],
                    result.get("externalExecutionSummary", ""),
                    result.get("externalExecutionId", ""))))
    failed.sort(key=lambda pair: pair[0] or 0)
    return failed[0][1] if failed else None


EXECUTION_HEADERS = ("execution", "status", "trigger", "commit")


def execution_rows(session: AwsSession, pipeline: str, limit: int = 10
                   ) -> list[tuple[str, str, str, str]]:
    """Recent executions, newest first, as table rows."""
    return [(e.execution_id, e.status, e.trigger, e.commit_id[:7] or "-")
            for e in list_executions(session, pipeline, limit)]


# -- following one execution ----------------------------------------------------------------------

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

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL

    @property
    def total_actions(self) -> int:
        return sum(len(s.actions) for s in self.stages)

    @property
    def finished_actions(self) -> int:
        return sum(a.finished for s in self.stages for a in s.actions)

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
        start = self.start_time or min((a.start_time for a in actions), default=None)
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
        raise _pipeline_error(pipeline, "get pipeline", err) from err
    return [(stage["name"],
             [(a["name"], a["actionTypeId"]["category"])
              for a in sorted(stage["actions"], key=lambda a: (a.get("runOrder", 1), a["name"]))])
            for stage in declared["stages"]]


def read_progress(session: AwsSession, pipeline: str, execution_id: str,
                  layout: list[tuple[str, list[tuple[str, str]]]] | None = None
                  ) -> ExecutionProgress:
    """One look at an execution: GetPipelineExecution plus its ListActionExecutions pages."""
    layout = layout if layout is not None else pipeline_layout(session, pipeline)
    try:
        summary = get_execution(session, pipeline, execution_id)
    except ClientError as err:
        raise _pipeline_error(pipeline, f"get execution {execution_id}", err) from err
    latest: dict[tuple[str, str], dict] = {}
    paginator = session.client("codepipeline").get_paginator("list_action_executions")
    for page in paginator.paginate(pipelineName=pipeline,
                                   filter={"pipelineExecutionId": execution_id}):
        for item in page["actionExecutionDetails"]:
            key = (item["stageName"], item["actionName"])
            if key not in latest or _started(item) >= _started(latest[key]):
                latest[key] = item  # a retried action keeps its newest attempt
    stages = []
    for stage_name, actions in layout:
        stage = StageProgress(stage_name)
        for action_name, category in actions:
            stage.actions.append(_action_progress(stage_name, action_name, category,
                                                  latest.get((stage_name, action_name))))
        stages.append(stage)
    return ExecutionProgress(pipeline, execution_id, summary.status, _now(),
                             summary.status_summary, summary.start_time,
                             summary.last_update_time, stages)


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


WATCH_MODES = ("latest", "start", "push")


def choose_execution(session: AwsSession, pipeline: str, mode: str = "latest",
                     timeout: float = 600) -> str:
    """The execution to follow: the newest one, one started now, or the one the next push starts."""
    if mode not in WATCH_MODES:
        from runbook_lib.core.errors import ParameterError

        raise ParameterError("watch", mode, f"must be one of {', '.join(WATCH_MODES)}", "latest")
    try:
        if mode == "start":
            return start_execution(session, pipeline)
        known = list_executions(session, pipeline, limit=50)
    except ClientError as err:
        raise _pipeline_error(pipeline, "list executions", err) from err
    if mode == "push":
        return wait_for_new_execution(session, pipeline, {e.execution_id for e in known},
                                      timeout=timeout).execution_id
    if not known:
        raise StepError(f"{pipeline} has no executions yet. Fix: push a commit to the watched "
                        "branch, or pass watch='start' to start a run now.")
    return known[0].execution_id


# -- pointing at a failure ------------------------------------------------------------------------


@dataclass
class FailureDetails:
    """The failed action of an execution, and where its build log is (for CodeBuild actions)."""

    execution_id: str
    stage: str
    action: str
    summary: str
    build_id: str = ""
    build_status: str = ""
    log_group: str = ""
    log_stream: str = ""

    @property
    def log_command(self) -> str:
        """The AWS CLI line that prints the log, for an operator at a terminal."""
        if not (self.log_group and self.log_stream):
            return ""
        return (f"aws logs get-log-events --log-group-name {self.log_group} "
                f"--log-stream-name {self.log_stream} --start-from-head")

    def rows(self) -> list[tuple[str, str]]:
        rows = [("failed action", f"{self.stage}/{self.action}"),
                ("summary", self.summary or "-")]
        if self.build_id:
            rows += [("build", f"{self.build_id} ({self.build_status or 'unknown'})"),
                     ("log group", self.log_group or "-"), ("log stream", self.log_stream or "-")]
        return rows


def failure_details(session: AwsSession, pipeline: str, execution_id: str
                    ) -> FailureDetails | None:
    """The first failed action with its build id, log group and stream; None if none failed."""
    failed = failed_action(session, pipeline, execution_id)
    if failed is None:
        return None
    details = FailureDetails(execution_id, failed.stage, failed.action, failed.summary)
    if failed.external_id and ":" in failed.external_id and "/" not in failed.external_id:
        details.build_id = failed.external_id  # CodeBuild ids read project:uuid
        try:
            builds = session.client("codebuild").batch_get_builds(
                ids=[failed.external_id]).get("builds") or []
        except ClientError as err:
            raise StepError(f"get build {failed.external_id}: {err}") from err
        if builds:
            logs = builds[0].get("logs") or {}
            details.build_status = builds[0].get("buildStatus", "")
            details.log_group = logs.get("groupName", "")
            details.log_stream = logs.get("streamName", "")
    return details


def latest_failure(session: AwsSession, pipeline: str, limit: int = 50) -> FailureDetails | None:
    """The newest failed execution's failure, or None when none of the last ``limit`` failed."""
    for summary in list_executions(session, pipeline, limit):
        if summary.status == "Failed":
            return failure_details(session, pipeline, summary.execution_id)
    return None


def executions_since(session: AwsSession, pipeline: str, since: datetime
                     ) -> list[ExecutionSummary]:
    """Executions started at or after ``since``, newest first; stops paging once past it."""
    out: list[ExecutionSummary] = []
    paginator = session.client("codepipeline").get_paginator("list_pipeline_executions")
    try:
        for page in paginator.paginate(pipelineName=pipeline, PaginationConfig={"PageSize": 50}):
            for item in page["pipelineExecutionSummaries"]:
                summary = _summary(item)
                if summary.start_time and summary.start_time < since:
                    return out
                out.append(summary)
    except ClientError as err:
        raise _pipeline_error(pipeline, "list executions", err) from err
    return out


def _pipeline_error(pipeline: str, what: str, err: ClientError) -> StepError:
    code = err.response["Error"]["Code"]
    if code == "PipelineNotFoundException":
        return StepError(f"pipeline {pipeline} not found. Fix: check the pipeline name and the "
                         "region (AWS_REGION), or create it with the pipeline notebook.")
    if code == "PipelineExecutionNotFoundException":
        return StepError(f"{what} of {pipeline}: no such execution. Fix: pick an id from "
                         "the pipeline's recent executions.")
    return StepError(f"{what} of {pipeline}: {err}")


def _started(item: dict) -> datetime:
    return item.get("startTime") or datetime.min.replace(tzinfo=UTC)


def _now() -> datetime:
    return datetime.now(UTC)


def _action_progress(stage: str, action: str, category: str, item: dict | None
                     ) -> ActionProgress:
    if item is None:
        return ActionProgress(stage, action, category)
    result = (item.get("output") or {}).get("executionResult") or {}
    return ActionProgress(stage, action, category, item.get("status", "InProgress"),
                          item.get("startTime"), item.get("lastUpdateTime"),
                          result.get("externalExecutionId", ""),
                          result.get("externalExecutionSummary", ""))
