"""The pipeline execution state machine: stages in order, actions by runOrder, in threads.

moto records pipelines but never runs them; here an execution really runs. Each execution is
driven by its own thread: it enters each stage (waiting while the inbound transition is
disabled, while an older QUEUED execution runs, or while a SUPERSEDED stage is busy), runs the
stage's actions group by group (one thread per action, a group in parallel) through the
executors of :mod:`.actions`, and records every state change with real times.
All state is in one JSON document guarded by one lock; every waiter waits on one condition that
each change notifies, so nothing polls. The stage-level behaviours (stop, retry, rollback,
restart) are here too, as they change the same records under the same lock.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from runbook_lib.local.codepipeline import approvals
from runbook_lib.local.codepipeline.actions import (
    ActionContext,
    ActionOutcome,
    ArtifactRef,
    executor_for,
)
from runbook_lib.local.codepipeline.events import PipelineEvents
from runbook_lib.local.codepipeline.variables import UnresolvedVariable, resolve_configuration
from runbook_lib.local.server.store import JsonStore
from runbook_lib.local.server.wire import AwsError

if TYPE_CHECKING:
    from runbook_lib.local.server.context import LocalContext

log = logging.getLogger("runbook.local.pipelines")

ACCOUNT_ID = "123456789012"
ACTIVE = ("InProgress", "Stopping")
_EVENT_STATES = {"InProgress": "STARTED", "Succeeded": "SUCCEEDED", "Failed": "FAILED",
                 "Stopped": "STOPPED", "Stopping": "STOPPING", "Superseded": "SUPERSEDED",
                 "Abandoned": "ABANDONED", "Resumed": "RESUMED", "Cancelled": "CANCELED"}
RESTART_SUMMARY = "The local AWS restarted while this was in progress"


class PipelineEngine:
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
        self._superseded: set[str] = set()
        # SUPERSEDED mode: which execution is in, or waiting to enter, each stage.
        self._occupant: dict[tuple[str, str, str], str] = {}
        self._waiting: dict[tuple[str, str, str], str] = {}

    # -- records ------------------------------------------------------------------------------

    def book(self, region: str, pipeline: str) -> dict[str, Any]:
        """The executions and action executions of one pipeline (caller holds the lock)."""
        return self.store.data.setdefault(region, {}).setdefault(
            pipeline, {"executions": {}, "actions": {}, "seq": 0})

    def execution(self, region: str, pipeline: str, execution_id: str) -> dict[str, Any] | None:
        with self.lock:
            found = self.book(region, pipeline)["executions"].get(execution_id)
            return copy.deepcopy(found) if found else None

    def snapshot(self, region: str, pipeline: str) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(self.book(region, pipeline))

    def forget_pipeline(self, region: str, pipeline: str) -> None:
        """DeletePipeline: running executions are abandoned, history goes with the pipeline."""
        with self.lock:
            book = self.store.data.get(region, {}).pop(pipeline, None)
            for execution_id in (book or {}).get("executions", {}):
                self._stop_flag(execution_id).set()
            self.store.save()
            self.changed.notify_all()
        self.approvals.forget_pipeline(region, pipeline)
        self.approvals.wake()

    def _stop_flag(self, execution_id: str) -> threading.Event:
        return self._stops.setdefault(execution_id, threading.Event())

    # -- control: stop, retry, rollback, restart ----------------------------------------------

    def request_stop(self, region: str, pipeline: str, execution_id: str, abandon: bool,
                     reason: str) -> None:
        """StopPipelineExecution: ``abandon`` ends it now, else running actions finish first."""
        with self.lock:
            execution = self._existing(region, pipeline, execution_id)
            if execution["status"] not in ACTIVE:
                raise AwsError("PipelineExecutionNotStoppableException",
                               f"Execution {execution_id} is {execution['status']}; only an "
                               "execution in progress can be stopped")
            mode = execution.get("stopMode")
            if mode == "abandon" or (mode == "stop" and not abandon):
                raise AwsError("DuplicatedStopRequestException",
                               f"Execution {execution_id} is already being stopped")
            execution.update(stopMode="abandon" if abandon else "stop", status="Stopping",
                             lastUpdateTime=time.time())
            if reason:
                execution["stopTrigger"] = {"reason": reason}
            if abandon:
                self._stop_flag(execution_id).set()
            self.store.save()
            self.changed.notify_all()
            snap = copy.deepcopy(execution)
        self.events.pipeline(snap, "STOPPING")
        self.approvals.wake()

    def retry_stage(self, region: str, pipeline: str, execution_id: str, stage: str,
                    mode: str) -> None:
        """RetryStageExecution on the latest execution's failed (or stopped) stage."""
        if mode not in ("FAILED_ACTIONS", "ALL_ACTIONS"):
            raise AwsError("ValidationException", "retryMode must be FAILED_ACTIONS or "
                                                  "ALL_ACTIONS")
        with self.lock:
            execution = self._existing(region, pipeline, execution_id)
            if stage not in [s["name"] for s in execution["declaration"]["stages"]]:
                raise AwsError("StageNotFoundException", f"Stage {stage} not found")
            if execution["status"] in ACTIVE:
                raise AwsError("ConflictException",
                               f"Execution {execution_id} is still in progress")
            latest = max((e for e in self.book(region, pipeline)["executions"].values()
                          if e["executionType"] == "STANDARD"), key=lambda e: e["seq"])
            if latest["pipelineExecutionId"] != execution_id:
                raise AwsError("NotLatestPipelineExecutionException",
                               f"Execution {execution_id} is not the latest execution")
            if execution["stages"].get(stage, {}).get("status") not in ("Failed", "Stopped"):
                raise AwsError("StageNotRetryableException",
                               f"Stage {stage} of execution {execution_id} has not failed")
            execution.update(status="InProgress", attempt=execution["attempt"] + 1,
                             lastUpdateTime=time.time(), stopMode=None)
            for key in ("statusSummary", "stopTrigger"):
                execution.pop(key, None)
            self._stops.pop(execution_id, None)
            self.store.save()
            snap = copy.deepcopy(execution)
        self.events.pipeline(snap, "RESUMED")
        self.launch(snap, first_stage=stage, resumed=True,
                    rerun="failed" if mode == "FAILED_ACTIONS" else "all")

    def last_success_in(self, region: str, pipeline: str, stage: str,
                        exclude: str | None = None) -> str | None:
        """The execution that most recently succeeded in ``stage``: what a rollback re-runs."""
        with self.lock:
            done = [e for e in self.book(region, pipeline)["executions"].values()
                    if e["pipelineExecutionId"] != exclude
                    and e["stages"].get(stage, {}).get("status") == "Succeeded"]
            done.sort(key=lambda e: e["stages"][stage]["lastUpdateTime"])
            return done[-1]["pipelineExecutionId"] if done else None

    def start_rollback(self, region: str, pipeline: str, stage: str, target_id: str,
                       trigger: dict[str, str]) -> str:
        """A ROLLBACK execution: ``stage`` again, with the target execution's artifacts."""
        target = self.execution(region, pipeline, target_id)
        if target is None:
            raise AwsError("PipelineExecutionNotFoundException",
                           f"Execution {target_id} not found in pipeline {pipeline}")
        if target["stages"].get(stage, {}).get("status") != "Succeeded":
            raise AwsError("UnableToRollbackStageException",
                           f"Execution {target_id} did not succeed in stage {stage}")
        with self.lock:
            busy = [e for e in self.book(region, pipeline)["executions"].values()
                    if e["status"] in ACTIVE and e.get("currentStage") == stage]
        if busy:
            raise AwsError("ConflictException", f"Stage {stage} has an execution in progress: "
                                                f"{busy[0]['pipelineExecutionId']}")
        kept = {k: target[k] for k in ("artifacts", "outputVariables", "artifactRevisions",
                                       "sourceSummaries", "commitId")}
        execution = self.new_execution(
            region, target["declaration"], trigger=trigger, variables=target["variables"],
            source_revisions=target["sourceRevisions"], execution_type="ROLLBACK",
            rollbackMetadata={"rollbackTargetPipelineExecutionId": target_id},
            rollbackStage=stage, **kept)
        self.launch(execution)
        return execution["pipelineExecutionId"]

    def recover(self) -> None:
        """After a restart: nothing stays InProgress. Executions waiting only on a manual
        approval wait again (same token); anything else ends Failed (Stopped if a stop was
        requested), saying the local AWS restarted."""
        ended, resumed = [], []
        now = time.time()
        with self.lock:
            for books in self.store.data.values():
                for book in books.values():
                    for execution in book["executions"].values():
                        if execution["status"] not in ACTIVE:
                            continue
                        running = [a for a in book["actions"].values()
                                   if a["pipelineExecutionId"] == execution["pipelineExecutionId"]
                                   and a["status"] == "InProgress"]
                        if running and not execution.get("stopMode") and all(
                                (self.approvals.get(a["actionExecutionId"]) or {}).get("status")
                                == approvals.PENDING for a in running):
                            resumed.append(copy.deepcopy(execution))
                            continue
                        ended.append(_end_after_restart(execution, running, now))
            self.store.save()
        for execution in ended:
            self.events.pipeline(execution, _EVENT_STATES[execution["status"]])
        for execution in resumed:
            self.launch(execution, first_stage=execution["currentStage"], rerun="resume",
                        resumed=True)

    def _existing(self, region: str, pipeline: str, execution_id: str) -> dict[str, Any]:
        execution = self.book(region, pipeline)["executions"].get(execution_id)
        if execution is None:
            raise AwsError("PipelineExecutionNotFoundException",
                           f"Execution {execution_id} not found in pipeline {pipeline}")
        return execution

    # -- starting -----------------------------------------------------------------------------

    def new_execution(self, region: str, declaration: dict[str, Any], *, trigger: dict[str, str],
                      variables: dict[str, str], source_revisions: list[dict[str, str]],
                      execution_type: str = "STANDARD", **extra: Any) -> dict[str, Any]:
        """Record a new InProgress execution (the caller starts it with :meth:`launch`)."""
        now = time.time()
        with self.lock:
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
                "stages": {}, "currentStage": None, "waitingAt": None, "attempt": 1,
            }
            execution.update(extra)
            book["executions"][execution["pipelineExecutionId"]] = execution
            self.store.save()
            return copy.deepcopy(execution)

    def launch(self, execution: dict[str, Any], *, first_stage: str | None = None,
               rerun: str = "all", resumed: bool = False) -> None:
        """Drive the execution in its own thread, from ``first_stage`` (default: the start)."""
        if not resumed:
            self.events.pipeline(execution, "STARTED")
        self.spawn(self._drive, execution["region"], execution["pipelineName"],
                   execution["pipelineExecutionId"], first_stage, rerun)

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
            self.changed.notify_all()
            threads = list(self._threads)
        self.approvals.close()
        for thread in threads:
            thread.join(timeout=10)

    # -- driving an execution -----------------------------------------------------------------

    def _drive(self, region: str, pipeline: str, execution_id: str, first_stage: str | None,
               rerun: str) -> None:
        try:
            self._drive_stages(region, pipeline, execution_id, first_stage, rerun)
        except Exception as err:  # an engine bug must end the execution, not leave it running
            log.exception("execution %s of %s", execution_id, pipeline)
            self.finish(region, pipeline, execution_id, "Failed", f"local AWS error: {err}")
        finally:
            self._leave_all(region, pipeline, execution_id)

    def _drive_stages(self, region: str, pipeline: str, execution_id: str,
                      first_stage: str | None, rerun: str) -> None:
        execution = self.execution(region, pipeline, execution_id)
        if execution is None:
            return
        stages = execution["declaration"]["stages"]
        if execution["executionType"] == "ROLLBACK":
            stages = [s for s in stages if s["name"] == execution["rollbackStage"]]
        names = [s["name"] for s in stages]
        start = names.index(first_stage) if first_stage else 0
        if first_stage is None and execution["executionMode"] == "QUEUED":
            if not self._wait_turn(region, pipeline, execution_id):
                return self._end_waiting(region, pipeline, execution_id)
        for index, stage in enumerate(stages[start:], start):
            continuing = first_stage is not None and index == start
            if continuing:
                self._occupy(region, pipeline, execution_id, stage["name"])
            elif not self._enter(region, pipeline, execution_id, stage["name"]):
                return self._end_waiting(region, pipeline, execution_id)
            status = self.run_stage(region, pipeline, execution_id, stage,
                                    rerun if continuing else "all")
            self._release(region, pipeline, execution_id, stage["name"])
            if self.closing:
                return
            if status != "Succeeded":
                summary = self._failure_summary(region, pipeline, execution_id, stage["name"])
                ended = "Stopped" if status == "Stopped" else "Failed"
                self.finish(region, pipeline, execution_id, ended, summary)
                if ended == "Failed":
                    self._roll_back_on_failure(region, pipeline, execution_id, stage)
                return
        stopped = self._stop_mode(region, pipeline, execution_id)
        self.finish(region, pipeline, execution_id, "Stopped" if stopped else "Succeeded", "")

    def _roll_back_on_failure(self, region: str, pipeline: str, execution_id: str,
                              stage: dict[str, Any]) -> None:
        """Stage ``onFailure`` ROLLBACK: re-run the stage with the artifacts of the last
        execution that succeeded in it (none: nothing to roll back to, as on AWS)."""
        if (stage.get("onFailure") or {}).get("result") != "ROLLBACK":
            return
        with self.lock:
            failed = self.book(region, pipeline)["executions"][execution_id]
            if failed["executionType"] != "STANDARD" or failed["executionMode"] == "PARALLEL":
                return
            target = self.last_success_in(region, pipeline, stage["name"], exclude=execution_id)
        if target:
            self.start_rollback(region, pipeline, stage["name"], target,
                                {"triggerType": "AutomatedRollback",
                                 "triggerDetail": execution_id})

    def _wait_turn(self, region: str, pipeline: str, execution_id: str) -> bool:
        """QUEUED: run after every older execution has ended; False when stopped meanwhile."""
        with self.changed:
            while not self.closing and not self._stop_flag(execution_id).is_set():
                executions = self.book(region, pipeline)["executions"]
                mine = executions.get(execution_id)
                if mine is None:
                    return False
                if mine.get("stopMode"):
                    return False
                if not any(e["seq"] < mine["seq"] and e["status"] in ACTIVE
                           for e in executions.values()):
                    return True
                self.changed.wait()
        return False

    def _enter(self, region: str, pipeline: str, execution_id: str, stage: str) -> bool:
        """Wait at the stage boundary; False when stopped, superseded or shutting down."""
        key = (region, pipeline, stage)
        with self.changed:
            execution = self.book(region, pipeline)["executions"].get(execution_id)
            if execution is None:
                return False
            superseding = (execution["executionMode"] == "SUPERSEDED"
                           and execution["executionType"] == "STANDARD")
            if superseding:
                older = self._waiting.get(key)
                if older and older != execution_id:
                    self._superseded.add(older)  # a newer execution takes over the boundary
                self._waiting[key] = execution_id
            execution["waitingAt"] = stage
            self.changed.notify_all()
            saved = False
            while True:
                if self.closing or self._stop_flag(execution_id).is_set():
                    return False
                if execution.get("stopMode") or execution_id in self._superseded:
                    return False
                free = self._occupant.get(key) in (None, execution_id) or not superseding
                if free and self.transition_enabled(region, pipeline, stage):
                    break
                if not saved:  # a wait may last days; one that ends at once is not worth a save
                    self.store.save()
                    saved = True
                self.changed.wait()
            if self._waiting.get(key) == execution_id:
                del self._waiting[key]
            execution["waitingAt"] = None
            self._occupy(region, pipeline, execution_id, stage)
            return True

    def _occupy(self, region: str, pipeline: str, execution_id: str, stage: str) -> None:
        with self.lock:
            self._occupant[(region, pipeline, stage)] = execution_id

    def _release(self, region: str, pipeline: str, execution_id: str, stage: str) -> None:
        """A finished stage is free for the next execution (the finished one now waits at
        the next boundary, where a newer one may supersede it)."""
        with self.lock:
            if self._occupant.get((region, pipeline, stage)) == execution_id:
                del self._occupant[(region, pipeline, stage)]
            self.changed.notify_all()

    def _leave_all(self, region: str, pipeline: str, execution_id: str) -> None:
        with self.lock:
            for table in (self._occupant, self._waiting):
                for key, holder in list(table.items()):
                    if holder == execution_id:
                        del table[key]
            self._superseded.discard(execution_id)
            self.changed.notify_all()

    def _end_waiting(self, region: str, pipeline: str, execution_id: str) -> None:
        """An execution that never got past a boundary: superseded, stopped, or shutdown."""
        if self.closing:
            return
        with self.lock:
            superseded = execution_id in self._superseded
        if superseded:
            self.finish(region, pipeline, execution_id, "Superseded",
                        "A newer execution superseded this one at a stage boundary")
        else:
            self.finish(region, pipeline, execution_id, "Stopped", "")

    def finish(self, region: str, pipeline: str, execution_id: str, status: str,
               summary: str) -> None:
        with self.lock:
            execution = self.book(region, pipeline)["executions"].get(execution_id)
            if execution is None or execution["status"] not in ACTIVE:
                return
            execution.update(status=status, lastUpdateTime=time.time(), waitingAt=None)
            if summary:
                execution["statusSummary"] = summary[:2048]
            self.store.save()
            self.changed.notify_all()
            done = copy.deepcopy(execution)
        self.events.pipeline(done, _EVENT_STATES[status])

    def _failure_summary(self, region: str, pipeline: str, execution_id: str,
                         stage: str) -> str:
        with self.lock:
            book = self.book(region, pipeline)
            ids = book["executions"][execution_id]["stages"].get(stage, {}).get("actions", {})
            for action, action_id in ids.items():
                record = book["actions"].get(action_id, {})
                if record.get("status") in ("Failed", "Abandoned"):
                    return (f"Stage {stage}, action {action}: "
                            f"{record.get('_summary') or record['status']}")
        return ""

    # -- stages and actions -------------------------------------------------------------------

    def run_stage(self, region: str, pipeline: str, execution_id: str, stage: dict[str, Any],
                  rerun: str) -> str:
        """Run a stage's runOrder groups in order; ``rerun`` is ``all`` (a fresh run),
        ``failed`` (retry: succeeded actions are kept) or ``resume`` (after a restart: an
        action still waiting keeps its action execution id). Returns the stage's status."""
        name = stage["name"]
        now = time.time()
        with self.lock:
            execution = self.book(region, pipeline)["executions"][execution_id]
            record = execution["stages"].get(name)
            if rerun == "all" or record is None:
                record = {"status": "InProgress", "startTime": now, "actions": {}}
            record.update(status="InProgress", lastUpdateTime=now)
            execution["stages"][name] = record
            execution["currentStage"] = name
            execution["lastUpdateTime"] = now
            if rerun != "all" or not stage["actions"]:
                self.store.save()  # else the first action's record, saved next, carries it
            snap = copy.deepcopy(execution)
        if rerun != "resume":
            self.events.stage(snap, name, "RESUMED" if rerun == "failed" else "STARTED")
        status = "Succeeded"
        orders = sorted({a.get("runOrder", 1) for a in stage["actions"]})
        for position, order in enumerate(orders):
            group = [a for a in stage["actions"] if a.get("runOrder", 1) == order]
            status = self._run_group(region, pipeline, execution_id, name, group, rerun)
            if status != "Succeeded" or self.closing:
                break
            stopping = self._stop_flag(execution_id).is_set() or self._stop_mode(
                region, pipeline, execution_id)
            if stopping and position < len(orders) - 1:
                status = "Stopped"
                break
        if self.closing:
            return status
        with self.lock:
            execution = self.book(region, pipeline)["executions"].get(execution_id)
            if execution is None:
                return "Failed"
            execution["stages"][name].update(status=status, lastUpdateTime=time.time())
            self.store.save()
            snap = copy.deepcopy(execution)
        self.events.stage(snap, name, _EVENT_STATES[status])
        return status

    def _stop_mode(self, region: str, pipeline: str, execution_id: str) -> str | None:
        with self.lock:
            execution = self.book(region, pipeline)["executions"].get(execution_id) or {}
            return execution.get("stopMode")

    def _run_group(self, region: str, pipeline: str, execution_id: str, stage: str,
                   group: list[dict[str, Any]], rerun: str) -> str:
        """Start the group's actions in parallel; wait until all end or the run is abandoned."""
        started: list[str] = []
        for action in group:
            with self.lock:
                book = self.book(region, pipeline)
                ids = book["executions"][execution_id]["stages"][stage]["actions"]
                previous = book["actions"].get(ids.get(action["name"], ""))
            if rerun != "all" and previous and previous["status"] == "Succeeded":
                continue
            reuse = previous["actionExecutionId"] if (
                rerun == "resume" and previous and previous["status"] == "InProgress") else None
            action_id = self._open_action(region, pipeline, execution_id, stage, action, reuse)
            started.append(action_id)
            self.spawn(self._run_action, region, pipeline, execution_id, stage, action, action_id)
        with self.changed:
            while True:
                book = self.book(region, pipeline)
                statuses = [book["actions"][a]["status"] for a in started if a in book["actions"]]
                if len(statuses) < len(started):
                    return "Failed"  # the pipeline was deleted meanwhile
                if "InProgress" not in statuses:
                    return "Failed" if "Failed" in statuses else "Succeeded"
                if self.closing:
                    return "Stopped"
                if book["executions"][execution_id].get("stopMode") == "abandon":
                    break
                self.changed.wait()
        self._abandon(region, pipeline, started)
        return "Stopped"

    def _abandon(self, region: str, pipeline: str, action_ids: list[str]) -> None:
        abandoned = []
        with self.lock:
            book = self.book(region, pipeline)
            for action_id in action_ids:
                record = book["actions"][action_id]
                if record["status"] == "InProgress":
                    record.update(status="Abandoned", lastUpdateTime=time.time(),
                                  _summary="Abandoned by StopPipelineExecution")
                    self.approvals.cancel(action_id)
                    execution = book["executions"][record["pipelineExecutionId"]]
                    abandoned.append((copy.deepcopy(execution), copy.deepcopy(record)))
            self.store.save()
            self.changed.notify_all()
        for execution, record in abandoned:
            self.events.action(execution, record, "ABANDONED")

    def _open_action(self, region: str, pipeline: str, execution_id: str, stage: str,
                     action: dict[str, Any], reuse: str | None) -> str:
        now = time.time()
        with self.lock:
            book = self.book(region, pipeline)
            execution = book["executions"][execution_id]
            if reuse:
                book["actions"][reuse]["lastUpdateTime"] = now
                return reuse
            action_id = str(uuid.uuid4())
            store = execution["declaration"].get("artifactStore", {})
            inputs = [{"name": a["name"], "s3location": execution["artifacts"][a["name"]]}
                      for a in action.get("inputArtifacts", [])
                      if a["name"] in execution["artifacts"]]
            record = {
                "pipelineExecutionId": execution_id, "actionExecutionId": action_id,
                "pipelineVersion": execution["pipelineVersion"], "stageName": stage,
                "actionName": action["name"], "startTime": now, "lastUpdateTime": now,
                "status": "InProgress",
                "input": {"actionTypeId": action["actionTypeId"],
                          "configuration": action.get("configuration", {}),
                          "region": action.get("region", region), "inputArtifacts": inputs,
                          **({"roleArn": action["roleArn"]} if action.get("roleArn") else {}),
                          **({"namespace": action["namespace"]}
                             if action.get("namespace") else {})},
                "output": {}, "_bucket": store.get("location", ""),
            }
            book["actions"][action_id] = record
            execution["stages"][stage]["actions"][action["name"]] = action_id
            execution["lastUpdateTime"] = now
            self.store.save()
            snap, rec = copy.deepcopy(execution), copy.deepcopy(record)
        self.events.action(snap, rec, "STARTED")
        return action_id

    def _run_action(self, region: str, pipeline: str, execution_id: str, stage: str,
                    action: dict[str, Any], action_id: str) -> None:
        type_id = action["actionTypeId"]
        executor = executor_for(type_id["category"], type_id["provider"])
        if executor is None:
            outcome = ActionOutcome("Failed", f"The local AWS cannot run {type_id['category']} "
                                    f"actions of provider {type_id['provider']} (owner "
                                    f"{type_id.get('owner', 'AWS')}); no local executor exists")
        else:
            outcome = self._call_executor(region, pipeline, execution_id, stage, action,
                                          action_id, executor)
        self._complete_action(region, pipeline, execution_id, action, action_id, outcome)

    def _call_executor(self, region: str, pipeline: str, execution_id: str, stage: str,
                       action: dict[str, Any], action_id: str, executor) -> ActionOutcome:
        with self.lock:
            execution = copy.deepcopy(self.book(region, pipeline)["executions"][execution_id])
        scope = {ns: dict(values) for ns, values in execution["outputVariables"].items()}
        scope["variables"] = dict(execution["variables"])
        scope["codepipeline"] = {"PipelineExecutionId": execution_id}
        try:
            configuration = resolve_configuration(action.get("configuration", {}), scope)
        except UnresolvedVariable as err:
            return ActionOutcome("Failed", f"Unable to resolve variable {err} in the action "
                                 "configuration: no earlier action in this execution produced "
                                 "it (check the namespace and the variable name)")
        with self.lock:
            record = self.book(region, pipeline)["actions"].get(action_id)
            if record is not None:
                record["input"]["resolvedConfiguration"] = configuration
        missing = [a["name"] for a in action.get("inputArtifacts", [])
                   if a["name"] not in execution["artifacts"]]
        if missing:
            return ActionOutcome("Failed", f"Input artifact(s) {', '.join(missing)} were not "
                                 "produced by an earlier action of this execution")
        declaration = execution["declaration"]
        store = declaration.get("artifactStore") or {}
        pinned = [r for r in execution["sourceRevisions"] if r.get("actionName") == action["name"]]
        ctx = ActionContext(
            aws=self.ctx.aws, state_dir=self.ctx.state_dir, region=region, account_id=ACCOUNT_ID,
            pipeline_name=pipeline, pipeline_version=execution["pipelineVersion"],
            execution_id=execution_id, stage_name=stage, action_name=action["name"],
            action_execution_id=action_id, configuration=configuration,
            input_artifacts=[ArtifactRef(a["name"], execution["artifacts"][a["name"]]["bucket"],
                                         execution["artifacts"][a["name"]]["key"])
                             for a in action.get("inputArtifacts", [])],
            output_artifact_names=[a["name"] for a in action.get("outputArtifacts", [])],
            artifact_bucket=store.get("location", ""), namespace=action.get("namespace"),
            source_revision={r["revisionType"]: r["revisionValue"] for r in pinned} or None,
            commit_id=execution.get("commitId"), stop_requested=self._stop_flag(execution_id))
        try:
            return executor.run(ctx)
        except Exception as err:  # an executor crash fails its action, with the cause shown
            log.exception("action %s of %s", action["name"], pipeline)
            return ActionOutcome("Failed", f"{type(err).__name__}: {err}")

    def _complete_action(self, region: str, pipeline: str, execution_id: str,
                         action: dict[str, Any], action_id: str, outcome: ActionOutcome) -> None:
        with self.lock:
            if self.closing:
                return
            book = self.store.data.get(region, {}).get(pipeline)
            record = (book or {}).get("actions", {}).get(action_id)
            if record is None or record["status"] != "InProgress":
                return  # abandoned, or the pipeline was deleted
            execution = book["executions"][execution_id]
            if execution.get("stopMode") == "abandon":
                return  # the execution thread marks it Abandoned, whatever the executor said
            now = time.time()
            status = "Succeeded" if outcome.status == "Succeeded" else "Failed"
            record.update(status=status, lastUpdateTime=now, _summary=outcome.summary)
            record["output"] = _output(outcome, status)
            decided = self.approvals.get(action_id)
            if decided and decided.get("updatedBy"):
                record["updatedBy"] = decided["updatedBy"]
            if status == "Succeeded":
                _absorb_outputs(execution, action, outcome)
            execution["lastUpdateTime"] = now
            self.store.save()
            self.changed.notify_all()
            snap, rec = copy.deepcopy(execution), copy.deepcopy(record)
        self.events.action(snap, rec, _EVENT_STATES[status])


def _end_after_restart(execution: dict[str, Any], running: list[dict[str, Any]],
                       now: float) -> dict[str, Any]:
    stopped = bool(execution.get("stopMode"))
    for record in running:
        record.update(status="Abandoned" if stopped else "Failed", lastUpdateTime=now,
                      _summary=RESTART_SUMMARY)
        record["output"] = _output(ActionOutcome("Failed", RESTART_SUMMARY), "Failed")
    stage = execution["stages"].get(execution.get("currentStage") or "")
    if stage and stage["status"] == "InProgress":
        stage.update(status="Stopped" if stopped else "Failed", lastUpdateTime=now)
    execution.update(status="Stopped" if stopped else "Failed", statusSummary=RESTART_SUMMARY,
                     lastUpdateTime=now, waitingAt=None)
    return copy.deepcopy(execution)


def _output(outcome: ActionOutcome, status: str) -> dict[str, Any]:
    result: dict[str, Any] = {"externalExecutionSummary": outcome.summary[:2048]}
    if outcome.external_execution_id:
        result["externalExecutionId"] = outcome.external_execution_id
    if outcome.external_execution_url:
        result["externalExecutionUrl"] = outcome.external_execution_url
    if status == "Failed":
        result["errorDetails"] = {"code": outcome.error_code, "message": outcome.summary[:5000]}
    out: dict[str, Any] = {"executionResult": result,
                           "outputArtifacts": [{"name": a.name, "s3location": {
                               "bucket": a.bucket, "key": a.key}}
                               for a in outcome.output_artifacts]}
    if outcome.output_variables:
        out["outputVariables"] = {k: str(v) for k, v in outcome.output_variables.items()}
    return out


def _absorb_outputs(execution: dict[str, Any], action: dict[str, Any],
                    outcome: ActionOutcome) -> None:
    """What later actions see: artifacts by name, variables by namespace, the revision."""
    for artifact in outcome.output_artifacts:
        execution["artifacts"][artifact.name] = {"bucket": artifact.bucket, "key": artifact.key}
    if action.get("namespace"):
        execution["outputVariables"][action["namespace"]] = {
            k: str(v) for k, v in outcome.output_variables.items()}
    revision = outcome.revision
    if action["actionTypeId"]["category"] == "Source" and revision:
        names = [a["name"] for a in action.get("outputArtifacts", [])] or [action["name"]]
        entry = {k: revision[k] for k in ("revisionId", "revisionSummary", "revisionUrl",
                                          "created", "revisionChangeIdentifier")
                 if revision.get(k) is not None}
        execution["artifactRevisions"].append({"name": names[0], **entry})
        execution["sourceSummaries"].append(
            {"actionName": action["name"], **{k: entry[k] for k in
                                              ("revisionId", "revisionSummary", "revisionUrl")
                                              if k in entry}})
        if not execution.get("commitId") and revision.get("revisionId"):
            execution["commitId"] = revision["revisionId"]


def _commit_from(source_revisions: list[dict[str, str]]) -> str | None:
    for wanted in ("COMMIT_ID", "S3_OBJECT_VERSION_ID", "IMAGE_DIGEST"):
        for revision in source_revisions:
            if revision.get("revisionType") == wanted:
                return revision.get("revisionValue")
    return None
