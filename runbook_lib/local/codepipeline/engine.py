"""The pipeline execution state machine: stages in order, actions by runOrder, in threads.

moto records pipelines but never runs them; here an execution really runs. Each execution is
driven by its own thread: it waits at each stage boundary (:mod:`.engine_boundaries`), passes
the stage's ``beforeEntry`` condition (:mod:`.conditions`), runs the stage's actions group by
group (:mod:`.engine_actions`), holds the stage InProgress while ``onSuccess`` is evaluated, and
on failure applies ``onFailure`` (one automatic retry, a rollback, or conditions first).
Operator control (stop, retry, rollback, restart recovery) is in :mod:`.engine_control`.
All state is in one JSON document guarded by one lock; every waiter waits on one condition that
each change notifies, so nothing polls.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from runbook_lib.local.codepipeline import approvals
from runbook_lib.local.codepipeline.commands_runner import clear_leftovers
from runbook_lib.local.codepipeline.conditions import PASSED, StageGates
from runbook_lib.local.codepipeline.engine_actions import ActionRunner
from runbook_lib.local.codepipeline.engine_boundaries import StageBoundaries
from runbook_lib.local.codepipeline.engine_control import EngineControl, record_retry
from runbook_lib.local.codepipeline.events import PipelineEvents
from runbook_lib.local.codepipeline.records import (
    ACCOUNT_ID,
    ACTIVE,
    EVENT_STATES,
    ExecutionKey,
)
from runbook_lib.local.server.store import JsonStore

if TYPE_CHECKING:
    from runbook_lib.local.server.context import LocalContext

log = logging.getLogger("runbook.local.pipelines")


class PipelineEngine(StageBoundaries, ActionRunner, StageGates, EngineControl):
    """Runs executions; the API layer (:mod:`.service`) reads its records.

    ``transition_enabled(region, pipeline, stage)`` is asked at every stage boundary.
    """

    def __init__(self, ctx: LocalContext,
                 transition_enabled: Callable[[str, str, str], bool]) -> None:
        self.ctx = ctx
        self.store = JsonStore(ctx.state_dir / "codepipeline-executions.json", {})
        self.lock = self.store.lock
        self.changed = threading.Condition(self.lock)
        self.events = PipelineEvents(ctx.aws, ACCOUNT_ID)
        self.approvals = approvals.book_for(ctx.state_dir)
        self.transition_enabled = transition_enabled
        self.closing = False
        self._threads: set[threading.Thread] = set()
        self._stops: dict[str, threading.Event] = {}  # execution id -> executors' stop flag
        self._gate_flags: dict[tuple[str, str, str], threading.Event] = {}
        self._superseded: set[str] = set()
        # SUPERSEDED mode: which execution is in, or waiting to enter, each stage.
        self._occupant: dict[tuple[str, str, str], str] = {}
        self._waiting: dict[tuple[str, str, str], str] = {}
        clear_leftovers(ctx.state_dir)

    # -- records ------------------------------------------------------------------------------

    @contextmanager
    def changing(self) -> Iterator[dict[str, Any]]:
        """Lock the records, yield them; save and wake every waiter when the block ends."""
        with self.store.transaction() as data:
            yield data
            self.changed.notify_all()

    def book(self, region: str, pipeline: str) -> dict[str, Any]:
        """The executions, action and rule runs of one pipeline (caller holds the lock)."""
        return self.store.data.setdefault(region, {}).setdefault(
            pipeline, {"executions": {}, "actions": {}, "rules": {}, "seq": 0})

    def execution(self, key: ExecutionKey) -> dict[str, Any] | None:
        with self.lock:
            found = self.book(key.region, key.pipeline)["executions"].get(key.execution_id)
            return copy.deepcopy(found) if found else None

    def snapshot(self, region: str, pipeline: str) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(self.book(region, pipeline))

    def forget_pipeline(self, region: str, pipeline: str) -> None:
        """DeletePipeline: running executions are abandoned, history goes with the pipeline."""
        with self.changing():
            book = self.store.data.get(region, {}).pop(pipeline, None)
            for execution_id in (book or {}).get("executions", {}):
                self._stop_flag(execution_id).set()
                self.cancel_gates(execution_id)
        self.approvals.forget_pipeline(region, pipeline)
        self.approvals.wake()

    def _stop_flag(self, execution_id: str) -> threading.Event:
        return self._stops.setdefault(execution_id, threading.Event())

    def stop_mode(self, key: ExecutionKey) -> str | None:
        with self.lock:
            execution = self.book(key.region, key.pipeline)["executions"].get(key.execution_id)
            return (execution or {}).get("stopMode")

    # -- starting -----------------------------------------------------------------------------

    def new_execution(self, region: str, declaration: dict[str, Any], *, trigger: dict[str, str],
                      variables: dict[str, str], source_revisions: list[dict[str, str]],
                      execution_type: str = "STANDARD", **extra: Any) -> dict[str, Any]:
        """Record a new InProgress execution (the caller starts it with :meth:`launch`)."""
        now = time.time()
        with self.changing():
            book = self.book(region, declaration["name"])
            book["seq"] += 1
            execution = {
                "pipelineExecutionId": str(uuid.uuid4()), "pipelineName": declaration["name"],
                "pipelineVersion": declaration.get("version", 1), "region": region,
                "seq": book["seq"], "status": "InProgress", "startTime": now,
                "lastUpdateTime": now, "trigger": trigger,
                "executionMode": declaration.get("executionMode", "SUPERSEDED"),
                "executionType": execution_type, "declaration": copy.deepcopy(declaration),
                "variables": variables, "sourceRevisions": source_revisions,
                "artifactRevisions": [], "sourceSummaries": [], "artifacts": {},
                "outputVariables": {}, "commitId": _commit_from(source_revisions),
                "stages": {}, "conditions": {}, "currentStage": None, "waitingAt": None,
                "attempt": 1,
            }
            execution.update(extra)
            book["executions"][execution["pipelineExecutionId"]] = execution
            return copy.deepcopy(execution)

    def launch(self, execution: dict[str, Any], *, first_stage: str | None = None,
               rerun: str = "all", resumed: bool = False) -> None:
        """Drive the execution in its own thread, from ``first_stage`` (default: the start)."""
        if not resumed:
            self.events.pipeline(execution, "STARTED")
        self.spawn(self._drive, ExecutionKey.of(execution), first_stage, rerun)

    def spawn(self, target: Callable[..., None], *args: Any) -> None:
        def run() -> None:
            try:
                target(*args)
            finally:
                with self.lock:
                    self._threads.discard(threading.current_thread())

        thread = threading.Thread(target=run, daemon=True, name=f"pipeline-{target.__name__}")
        with self.lock:
            self._threads.add(thread)
        thread.start()

    def close(self) -> None:
        """Stop every thread: waits return, executors are asked to stop, results are not
        recorded (the next start marks them, and re-arms waiting approvals)."""
        with self.lock:
            self.closing = True
            for flag in self._stops.values():
                flag.set()
            self.cancel_gates()
            self.changed.notify_all()
            threads = list(self._threads)
        self.approvals.close()
        for thread in threads:
            thread.join(timeout=10)

    # -- driving an execution -----------------------------------------------------------------

    def _drive(self, key: ExecutionKey, first_stage: str | None, rerun: str) -> None:
        try:
            self._drive_stages(key, first_stage, rerun)
        except Exception as err:  # an engine bug must end the execution, not leave it running
            log.exception("execution %s of %s", key.execution_id, key.pipeline)
            self.finish(key, "Failed", f"local AWS error: {err}")
        finally:
            self.leave_all(key)

    def _drive_stages(self, key: ExecutionKey, first_stage: str | None, rerun: str) -> None:
        execution = self.execution(key)
        if execution is None:
            return
        stages = execution["declaration"]["stages"]
        if execution["executionType"] == "ROLLBACK":
            stages = [s for s in stages if s["name"] == execution["rollbackStage"]]
        names = [s["name"] for s in stages]
        start = names.index(first_stage) if first_stage else 0
        if first_stage is None and execution["executionMode"] == "QUEUED":
            if not self.wait_turn(key):
                return self.end_waiting(key)
        gated = execution["executionType"] == "STANDARD"
        for index, stage in enumerate(stages[start:], start):
            continuing = first_stage is not None and index == start
            if continuing:
                self.occupy(key, stage["name"])
            elif not self.enter(key, stage["name"]):
                return self.end_waiting(key)
            # A retried stage that its beforeEntry gate failed meets the gate again.
            blocked = continuing and execution["stages"].get(stage["name"], {}).get(
                "failedBy") == "beforeEntry"
            checked = gated and (blocked or not continuing)
            verdict = self._before_entry(key, stage) if checked else "enter"
            if verdict == "enter":
                status = self.run_stage(key, stage, rerun if continuing else "all", gated)
            else:
                status = verdict
            self.release(key, stage["name"])
            if self.closing:
                return
            if status not in ("Succeeded", "Skipped"):
                return self._end_on_stage(key, stage, status)
        self.finish(key, "Stopped" if self.stop_mode(key) else "Succeeded", "")

    def _end_on_stage(self, key: ExecutionKey, stage: dict[str, Any], status: str) -> None:
        """The execution ends where a stage did not succeed; onFailure decides what follows."""
        rollback = status == "Failed" and self._failure_wants_rollback(key, stage)
        summary = self._failure_summary(key, stage["name"])
        self.finish(key, "Stopped" if status == "Stopped" else "Failed", summary)
        if rollback:
            self.roll_back_automatically(key, stage["name"])

    def _before_entry(self, key: ExecutionKey, stage: dict[str, Any]) -> str:
        """``enter``, or the stage's end when its beforeEntry condition engages."""
        if not stage.get("beforeEntry"):
            return "enter"
        verdict = self.evaluate_condition(key, stage, "beforeEntry")
        if verdict in PASSED:
            return "enter"
        if verdict == "Cancelled":
            return "Stopped"
        result = stage["beforeEntry"]["conditions"][0].get("result")
        return self._mark_gated_stage(key, stage["name"],
                                      "Skipped" if result == "SKIP" else "Failed", "beforeEntry")

    def _mark_gated_stage(self, key: ExecutionKey, name: str, status: str, cause: str) -> str:
        """A stage a condition ended before its actions ran: Failed or Skipped."""
        now = time.time()
        with self.changing():
            execution = self.existing(key)
            kept = execution["stages"].get(name, {}).get("retry")
            execution["stages"][name] = {"status": status, "startTime": now,
                                         "lastUpdateTime": now, "actions": {},
                                         "failedBy": cause, **({"retry": kept} if kept else {})}
            execution["currentStage"] = name
            snap = copy.deepcopy(execution)
        self.events.stage(snap, name, EVENT_STATES[status])
        return status

    def run_stage(self, key: ExecutionKey, stage: dict[str, Any], rerun: str,
                  gated: bool = True) -> str:
        """Run a stage's actions, then its onSuccess gate; retry once if onFailure says so.

        ``rerun`` is ``all`` (a fresh run), ``failed`` (retry: succeeded actions are kept) or
        ``resume`` (after a restart: an action still waiting keeps its action execution id).
        Returns the stage's status."""
        self._open_stage(key, stage, rerun)
        status = self.run_actions(key, stage, rerun)
        if self.closing:
            return status
        cause = "actions"
        if status == "Succeeded" and gated and stage.get("onSuccess"):
            verdict = self.evaluate_condition(key, stage, "onSuccess")
            if verdict not in PASSED:
                status, cause = ("Stopped" if verdict == "Cancelled" else "Failed"), "onSuccess"
        retry = self._automatic_retry_mode(key, stage) if (
            status == "Failed" and cause == "actions" and gated) else None
        self._close_stage(key, stage["name"], status, cause,
                          "AutomatedStageRetry" if retry else None)
        if retry:
            return self.run_stage(key, stage, retry, gated)
        return status

    def _open_stage(self, key: ExecutionKey, stage: dict[str, Any], rerun: str) -> None:
        name = stage["name"]
        now = time.time()
        with self.changing():
            execution = self.existing(key)
            record = execution["stages"].get(name)
            if rerun == "all" or record is None:
                kept = (record or {}).get("retry")
                record = {"status": "InProgress", "startTime": now, "actions": {}}
                if kept:
                    record["retry"] = kept
            record.update(status="InProgress", lastUpdateTime=now)
            record.pop("failedBy", None)
            execution["stages"][name] = record
            execution["currentStage"] = name
            execution["lastUpdateTime"] = now
            snap = copy.deepcopy(execution)
        if rerun != "resume":
            self.events.stage(snap, name, "RESUMED" if rerun == "failed" else "STARTED")

    def _close_stage(self, key: ExecutionKey, name: str, status: str, cause: str,
                     retry_trigger: str | None) -> None:
        with self.lock:
            if self.book(key.region, key.pipeline)["executions"].get(key.execution_id) is None:
                return
            with self.changing():
                record = self.existing(key)["stages"][name]
                record.update(status=status, lastUpdateTime=time.time())
                if status == "Failed":
                    record["failedBy"] = cause
                if retry_trigger:
                    record_retry(record, retry_trigger)
                snap = copy.deepcopy(self.existing(key))
        self.events.stage(snap, name, EVENT_STATES[status])

    def _automatic_retry_mode(self, key: ExecutionKey, stage: dict[str, Any]) -> str | None:
        """onFailure RETRY: the rerun mode of the one automatic retry, if one is still due."""
        on_failure = stage.get("onFailure") or {}
        if on_failure.get("result") != "RETRY" or self.stop_mode(key):
            return None
        with self.lock:
            record = self.existing(key)["stages"][stage["name"]]
            if record.get("retry", {}).get("autoStageRetryAttempt", 0) >= 1:
                return None
        mode = (on_failure.get("retryConfiguration") or {}).get("retryMode", "FAILED_ACTIONS")
        return "all" if mode == "ALL_ACTIONS" else "failed"

    def _failure_wants_rollback(self, key: ExecutionKey, stage: dict[str, Any]) -> bool:
        """onSuccess ROLLBACK after a failed watch; onFailure ROLLBACK (after its condition
        fails, when it has one)."""
        with self.lock:
            record = self.existing(key)
            cause = record["stages"].get(stage["name"], {}).get("failedBy")
            if record["executionType"] != "STANDARD":
                return False
        if cause == "onSuccess":
            return stage["onSuccess"]["conditions"][0].get("result") == "ROLLBACK"
        on_failure = stage.get("onFailure") or {}
        if cause != "actions" or not on_failure:
            return False
        conditions = on_failure.get("conditions")
        if not conditions:
            return on_failure.get("result") == "ROLLBACK"
        verdict = self.evaluate_condition(key, stage, "onFailure")
        return verdict == "Failed" and conditions[0].get("result") == "ROLLBACK"

    def finish(self, key: ExecutionKey, status: str, summary: str) -> None:
        with self.lock:
            execution = self.book(key.region, key.pipeline)["executions"].get(key.execution_id)
            if execution is None or execution["status"] not in ACTIVE:
                return
            with self.changing():
                execution.update(status=status, lastUpdateTime=time.time(), waitingAt=None)
                if summary:
                    execution["statusSummary"] = summary[:2048]
                done = copy.deepcopy(execution)
        self.events.pipeline(done, EVENT_STATES[status])

    def _failure_summary(self, key: ExecutionKey, stage: str) -> str:
        with self.lock:
            book = self.book(key.region, key.pipeline)
            execution = book["executions"][key.execution_id]
            cause = execution["stages"].get(stage, {}).get("failedBy")
            if cause in ("beforeEntry", "onSuccess"):
                state = execution.get("conditions", {}).get(stage, {}).get(cause, {})
                return f"Stage {stage}, {cause} condition: {state.get('summary', '')}"
            ids = execution["stages"].get(stage, {}).get("actions", {})
            for action, action_id in ids.items():
                record = book["actions"].get(action_id, {})
                if record.get("status") in ("Failed", "Abandoned"):
                    return (f"Stage {stage}, action {action}: "
                            f"{record.get('_summary') or record['status']}")
        return ""


def _commit_from(source_revisions: list[dict[str, str]]) -> str | None:
    for wanted in ("COMMIT_ID", "S3_OBJECT_VERSION_ID", "IMAGE_DIGEST"):
        for revision in source_revisions:
            if revision.get("revisionType") == wanted:
                return revision.get("revisionValue")
    return None
