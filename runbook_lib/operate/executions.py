"""Start, find and wait for pipeline executions; point at what failed.

CodePipeline has no waiters, so :func:`wait_for_execution` is the one polling helper: an explicit
timeout, and on timeout an error that reports the last status it saw. Reading summaries is in
:mod:`.summaries`, pipeline state and approvals in :mod:`.pipeline_state`, following one run in
:mod:`.watch`: import those names from their own modules.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from botocore.exceptions import ClientError

from runbook_lib.core.errors import ParameterError, StepError
from runbook_lib.core.session import AwsSession
from runbook_lib.operate.build_status import status_meaning
from runbook_lib.operate.new_runs import NewRuns
from runbook_lib.operate.pipeline_state import pending_in, read_state, rule_items, stages_of
from runbook_lib.operate.summaries import (
    ExecutionSummary,
    WaitTimeout,
    fill_source_commits,
    get_execution,
    list_executions,
    pipeline_error,
    require_id,
    start_execution,
)
from runbook_lib.operate.watch import ExecutionProgress, watch_execution


def wait_for_new_execution(session: AwsSession, pipeline: str, known: set[str],
                           timeout: float = 60, poll: float = 0.5) -> ExecutionSummary:
    """Wait for a run that is not in ``known`` (one a push started) and started after them;
    the newest such. Pages are read as :class:`.new_runs.NewRuns` says: all of them now and
    then, and between those only while they hold something new."""
    deadline = time.monotonic() + timeout
    watch = NewRuns(session, pipeline, known)
    while time.monotonic() < deadline:
        new, _ = watch.poll()
        if new:
            fill_source_commits(session, pipeline, new[:1])
            return new[0]
        time.sleep(poll)
    raise WaitTimeout(f"no new execution of {pipeline} started within {timeout:.0f}s "
                      f"({len(known)} executions known). Check that the commit is on the "
                      "watched branch and that the repository is registered.")


def wait_for_execution(session: AwsSession, pipeline: str, execution_id: str,
                       timeout: float = 600, poll: float = 0.5, stop_at_approval: bool = False,
                       on_progress: Callable[[list[tuple[str, str]]], None] | None = None
                       ) -> ExecutionSummary:
    """Poll until the execution ends (or waits for approval); report progress on change.

    ``on_progress`` gets [(stage, status)] for this execution whenever it changes.
    """
    deadline = time.monotonic() + timeout
    last_stages: list[tuple[str, str]] = []
    while True:
        summary = get_execution(session, pipeline, execution_id, with_commit=False)
        state = read_state(session, pipeline)  # one read serves both checks below
        stages = stages_of(session, pipeline, state, execution_id)
        if on_progress and stages != last_stages:
            on_progress(stages)
        last_stages = stages
        if summary.finished or (stop_at_approval and any(
                a.execution_id == execution_id for a in pending_in(session, pipeline, state))):
            fill_source_commits(session, pipeline, [summary])
            return summary
        if time.monotonic() >= deadline:
            raise WaitTimeout(
                f"execution {execution_id} of {pipeline} still {summary.status or 'unknown'} "
                f"after {timeout:.0f}s; stages: {', '.join(f'{s} {st}' for s, st in stages)}")
        time.sleep(poll)


@dataclass
class FailedAction:
    stage: str
    action: str
    summary: str
    external_id: str = ""  # a build id for CodeBuild actions


def failed_action(session: AwsSession, pipeline: str, execution_id: str) -> FailedAction | None:
    """The first failed action of an execution (by start time), with its summary and id."""
    require_id("execution_id", execution_id)
    paginator = session.client("codepipeline").get_paginator("list_action_executions")
    failed = []
    for page in paginator.paginate(pipelineName=pipeline,
                                   filter={"pipelineExecutionId": execution_id}):
        for item in page.get("actionExecutionDetails") or []:
            if item.get("status") == "Failed":
                result = (item.get("output") or {}).get("executionResult") or {}
                failed.append((item.get("startTime"), FailedAction(
                    item.get("stageName", ""), item.get("actionName", ""),
                    result.get("externalExecutionSummary") or "",
                    result.get("externalExecutionId") or "")))
    failed.sort(key=lambda pair: pair[0].timestamp() if pair[0] else float("inf"))
    return failed[0][1] if failed else None


EXECUTION_HEADERS = ("execution", "status", "trigger", "commit")


def execution_rows(session: AwsSession, pipeline: str, limit: int = 10
                   ) -> list[tuple[str, str, str, str]]:
    """Recent executions, newest first, as table rows (an absent trigger reads unknown)."""
    return [(e.execution_id, e.status or "-", e.trigger_text, e.commit_id[:7] or "-")
            for e in list_executions(session, pipeline, limit)]


WATCH_MODES = ("latest", "start", "push")


class NoExecutionError(StepError):
    """The pipeline has not run yet: there is nothing to follow."""


def is_automated_rollback(summary: ExecutionSummary) -> bool:
    """A run CodePipeline started itself to roll a stage back (not one an operator started)."""
    return summary.execution_type == "ROLLBACK" or summary.trigger == "AutomatedRollback"


def choose_execution(session: AwsSession, pipeline: str, mode: str = "latest",
                     timeout: float = 600) -> str:
    """The execution to follow: the newest one an operator or a push started (an automated
    rollback only when nothing else ran), one started now, or the one the next push starts."""
    if mode not in WATCH_MODES:
        raise ParameterError("watch", mode, f"must be one of {', '.join(WATCH_MODES)}", "latest")
    try:
        if mode == "start":
            return start_execution(session, pipeline)
        known = list_executions(session, pipeline, limit=50)
    except ClientError as err:
        raise pipeline_error(pipeline, "list executions", err) from err
    if mode == "push":
        return wait_for_new_execution(session, pipeline, {e.execution_id for e in known},
                                      timeout=timeout).execution_id
    if not known:
        raise NoExecutionError(f"{pipeline} has not run yet. Next: pass watch='start' to start "
                               "a run now, or push a commit to the watched branch.")
    started = [e for e in known if not is_automated_rollback(e)]
    return require_id("execution_id", (started or known)[0].execution_id)


@dataclass
class FollowedRun:
    """The run a notebook followed, or why none was (with the next step)."""

    execution_id: str
    progress: ExecutionProgress | None = None
    note: str = ""


def follow_run(session: AwsSession, pipeline: str, mode: str, timeout: float,
               report: Callable[[ExecutionProgress], None]) -> FollowedRun:
    """Choose the run (:func:`choose_execution`) and watch it until it ends or waits for an
    approval; a pipeline that has not run yet is a state to report, not an error."""
    try:
        execution_id = choose_execution(session, pipeline, mode, timeout)
    except NoExecutionError as err:
        return FollowedRun("", note=str(err))
    final = watch_execution(session, pipeline, execution_id, report, timeout,
                            stop_at_approval=True)
    return FollowedRun(execution_id, final)


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
            rows += [("build", f"{self.build_id} ({status_meaning(self.build_status)})"),
                     ("log group", self.log_group or "-"), ("log stream", self.log_stream or "-")]
        return rows


def failure_details(session: AwsSession, pipeline: str, execution_id: str
                    ) -> FailureDetails | None:
    """The first failed action with its build id, log group and stream; None if none failed
    (or no run was followed: ``execution_id`` empty)."""
    if not execution_id:
        return None
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
    """The newest failed execution's failure, or None when none of the last ``limit`` failed.

    "Newest" and "the last ``limit``" are by start time over every page of the history
    (:func:`.summaries.list_executions`), never by the order AWS listed them in. A failed
    action (a build, a deploy) wins over a run a release gate stopped, which has no failed
    action: that one is reported with its status summary at the stage it stopped in.
    """
    failed = [s for s in list_executions(session, pipeline, limit) if s.status == "Failed"]
    for summary in failed:
        found = failed_action(session, pipeline, summary.execution_id)
        if found is not None:
            return failure_details(session, pipeline, summary.execution_id)
    return stopped_by_condition(session, pipeline, failed[0].execution_id) if failed else None


def run_failure(session: AwsSession, pipeline: str, execution_id: str) -> FailureDetails | None:
    """Why a run failed: its failed action (:func:`failure_details`), else the release gate
    that failed it (:func:`stopped_by_condition`); None when it did not fail."""
    if not execution_id:
        return None
    return (failure_details(session, pipeline, execution_id)
            or stopped_by_condition(session, pipeline, execution_id))


STAGE_CONDITION = "(stage condition)"  # the "action" of a run a release gate failed


def stopped_by_condition(session: AwsSession, pipeline: str, execution_id: str
                         ) -> FailureDetails | None:
    """A failed run with no failed action: a release gate (stage condition) failed it; the
    stage it stopped in and CodePipeline's summary. None when the run did not fail."""
    summary = get_execution(session, pipeline, execution_id, with_commit=False)
    if summary.status != "Failed":
        return None
    stopped = [item.get("stageName", "-")
               for item in rule_items(session.client("codepipeline"), pipeline, execution_id)
               if item.get("status") == "Failed"]
    return FailureDetails(execution_id, stopped[0] if stopped else "-", STAGE_CONDITION,
                          summary.status_summary or "the run failed without a failed action")
