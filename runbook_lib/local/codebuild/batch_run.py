"""One batch build running: its tasks started as builds, in graph order, until all are done.

Used by :mod:`.batches`; runs in a thread of its own. A task's build group records its
current build (``currentBuildSummary``) and, after a retry, the earlier ones
(``priorBuildSummaryList``). The batch ends SUCCEEDED when every task that may not fail
succeeded, STOPPED after StopBuildBatch, FAILED otherwise; a graph task whose dependency did
not succeed is never started, as in CodeBuild.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from runbook_lib.buildspec.model import Batch, BatchTask
from runbook_lib.local.codebuild.builds import CodeBuildBuilds

if TYPE_CHECKING:
    from runbook_lib.local.server.context import LocalContext

_ENV_OVERRIDES = {"image": "imageOverride", "compute-type": "computeTypeOverride",
                  "type": "environmentTypeOverride", "privileged-mode": "privilegedModeOverride"}
_POLL_SECONDS = 0.5


class BatchRun:
    """Starts and follows the builds of ``identifiers`` (all tasks, or those retried)."""

    def __init__(self, ctx: LocalContext, region: str, record: dict, batch: Batch,
                 identifiers: list[str], save: Callable[[dict], None]) -> None:
        self.ctx, self.region, self.record, self.batch = ctx, region, record, batch
        self.save = save
        self.tasks = {t.identifier: t for t in batch.tasks}
        self.pending = list(identifiers)
        self.running: dict[str, str] = {}  # identifier -> build id
        self._stopped = threading.Event()  # fast-fail or StopBuildBatch
        self._stop_requested = False  # StopBuildBatch: the batch ends STOPPED
        self._done = threading.Event()
        self._prepare_groups()

    def stop(self) -> None:
        self._stop_requested = True
        self._stopped.set()

    def wait(self, timeout: float) -> bool:
        return self._done.wait(timeout)

    def run(self) -> None:
        try:
            self._enter("IN_PROGRESS")
            while (self.pending or self.running) and not self._stopped.is_set():
                self._start_ready()
                self._follow_running()
            if self._stopped.is_set():
                self._stop_running()
            self._finish()
        finally:
            self._done.set()

    # -- internals ------------------------------------------------------------------------

    def _prepare_groups(self) -> None:
        groups = {g["identifier"]: g for g in self.record["buildGroups"]}
        for task in self.batch.tasks:
            group = groups.setdefault(task.identifier, {
                "identifier": task.identifier, "dependsOn": list(task.depend_on),
                "ignoreFailure": task.ignore_failure, "priorBuildSummaryList": []})
            if task.identifier in self.pending and group.get("currentBuildSummary"):
                group["priorBuildSummaryList"].append(group.pop("currentBuildSummary"))
        self.record["buildGroups"] = [groups[t.identifier] for t in self.batch.tasks]

    def _group(self, identifier: str) -> dict:
        return next(g for g in self.record["buildGroups"] if g["identifier"] == identifier)

    def _status(self, identifier: str) -> str:
        return (self._group(identifier).get("currentBuildSummary") or {}).get(
            "buildStatus", "NOT_STARTED")

    def _start_ready(self) -> None:
        """Start pending tasks whose dependencies succeeded; drop those that can never run."""
        for identifier in list(self.pending):
            deps = self.tasks[identifier].depend_on
            if any(d in self.pending or d in self.running for d in deps):
                continue
            self.pending.remove(identifier)
            if all(self._status(d) == "SUCCEEDED" for d in deps):
                self._start(self.tasks[identifier])

    def _start(self, task: BatchTask) -> None:
        start = dict(self.record.get("_local", {}).get("start") or {})
        body = {**start, "projectName": self.record["projectName"]}
        if task.buildspec:
            body["buildspecOverride"] = task.buildspec
        variables = {v["name"]: v for v in start.get("environmentVariablesOverride") or []}
        variables.update({name: {"name": name, "value": value, "type": "PLAINTEXT"}
                          for name, value in task.variables.items()})
        if variables:
            body["environmentVariablesOverride"] = list(variables.values())
        for key, override in _ENV_OVERRIDES.items():
            if key in task.environment:
                value = task.environment[key]
                body[override] = value.lower() in ("true", "yes") \
                    if key == "privileged-mode" else value
        build = self.ctx.peers.get(CodeBuildBuilds).start_for_batch(
            self.region, body, self.record["arn"])
        self.running[task.identifier] = build["id"]
        self._summarise(task.identifier, build)

    def _follow_running(self) -> None:
        builds = self.ctx.peers.get(CodeBuildBuilds)
        for identifier, build_id in list(self.running.items()):
            builds.wait_until_complete(self.region, build_id, _POLL_SECONDS / max(
                1, len(self.running)))
            build = builds.get(self.region, build_id)
            if build is None:  # deleted (BatchDeleteBuilds) while the batch ran
                del self.running[identifier]
                continue
            self._summarise(identifier, build)
            if build["buildComplete"]:
                del self.running[identifier]
                failed = build["buildStatus"] != "SUCCEEDED"
                if failed and not self.tasks[identifier].ignore_failure and \
                        self.batch.fast_fail:
                    self._stopped.set()

    def _summarise(self, identifier: str, build: dict) -> None:
        self._group(identifier)["currentBuildSummary"] = {
            "arn": build["arn"], "requestedOn": build["startTime"],
            "buildStatus": build["buildStatus"],
            "primaryArtifact": {"location": build["artifacts"].get("location", ""),
                                "identifier": identifier},
            "secondaryArtifacts": build.get("secondaryArtifacts") or []}
        self.save(self.record)

    def _stop_running(self) -> None:
        client = self.ctx.aws.client("codebuild", self.region)
        for build_id in self.running.values():
            client.stop_build(id=build_id)
        builds = self.ctx.peers.get(CodeBuildBuilds)
        for identifier, build_id in self.running.items():
            builds.wait_until_complete(self.region, build_id, 30)
            build = builds.get(self.region, build_id)
            if build is not None:
                self._summarise(identifier, build)
        self.running.clear()

    def _enter(self, phase_type: str, status: str = "SUCCEEDED") -> None:
        now = time.time()
        phase = self.record["phases"][-1]
        phase.update(phaseStatus=status, endTime=now,
                     durationInSeconds=int(now - phase["startTime"]))
        self.record["phases"].append({"phaseType": phase_type, "startTime": now})
        self.record["currentPhase"] = phase_type
        self.save(self.record)

    def _finish(self) -> None:
        must_pass = [t.identifier for t in self.batch.tasks if not t.ignore_failure]
        if self._stop_requested:
            status = "STOPPED"
        else:
            status = "FAILED" if self._failed(must_pass) else "SUCCEEDED"
        self._enter(status, "SUCCEEDED" if status == "SUCCEEDED" else "FAILED")
        now = time.time()
        self.record["phases"][-1].update(endTime=now, durationInSeconds=0)
        self.record.update(buildBatchStatus=status, endTime=now, complete=True)
        self.save(self.record)

    def _failed(self, identifiers: list[str]) -> bool:
        return any(self._status(i) != "SUCCEEDED" for i in identifiers)
