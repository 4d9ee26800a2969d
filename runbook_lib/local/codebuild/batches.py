"""CodeBuild batch builds, served by the local AWS: build-list, build-graph and build-matrix.

StartBuildBatch reads the project's buildspec (DOWNLOAD_BATCHSPEC), takes its ``batch``
section (validated by :mod:`runbook_lib.buildspec.batch`: a matrix is already one task per
combination) and starts one real build per task through the builds service, with the task's
``buildspec``, variables and image overrides. A list and a matrix start every task at once;
a graph starts a task when the tasks it ``depend-on`` have succeeded, and never starts one
whose dependency failed. ``fast-fail`` stops the running builds at the first failure; a task
with ``ignore-failure`` does not fail the batch. BatchGetBuildBatches, ListBuildBatches,
ListBuildBatchesForProject, StopBuildBatch and RetryBuildBatch (RETRY_ALL_BUILDS or
RETRY_FAILED_BUILDS, same batch id, earlier builds kept in ``priorBuildSummaryList``) read and
steer it, in botocore's ``BuildBatch`` shape. Batch records persist in the state directory.
"""

from __future__ import annotations

import copy
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runbook_lib.buildspec.model import Batch, BatchTask
from runbook_lib.local.codebuild.batch_run import BatchRun
from runbook_lib.local.codebuild.failures import PhaseFailed
from runbook_lib.local.codebuild.projects import ACCOUNT_ID, CodeBuildProjects
from runbook_lib.local.codebuild.source import fetch_source, read_buildspec
from runbook_lib.local.server.paging import CODEBUILD, PageRule, batch_members, page
from runbook_lib.local.server.store import JsonStore
from runbook_lib.local.server.wire import AwsError, Request, Response, json_response

if TYPE_CHECKING:
    from runbook_lib.local.server.context import LocalContext

LIST_BUILD_BATCHES = PageRule("ListBuildBatches", "ids", CODEBUILD)
LIST_BUILD_BATCHES_FOR_PROJECT = PageRule("ListBuildBatchesForProject", "ids", CODEBUILD)
_START_KEYS = ("sourceVersion", "sourceTypeOverride", "sourceLocationOverride",
               "buildspecOverride", "environmentVariablesOverride", "imageOverride",
               "computeTypeOverride", "environmentTypeOverride", "privilegedModeOverride",
               "artifactsOverride", "secondarySourcesOverride",
               "secondarySourcesVersionOverride", "secondaryArtifactsOverride",
               "buildTimeoutInMinutesOverride", "serviceRoleOverride")


class CodeBuildBatches:
    """StartBuildBatch, BatchGetBuildBatches, ListBuildBatches(ForProject), StopBuildBatch,
    RetryBuildBatch."""

    def __init__(self, ctx: LocalContext) -> None:
        self.ctx = ctx
        self.store = JsonStore(ctx.state_dir / "codebuild-batches.json",
                               {"batches": {}, "numbers": {}})
        self._runs: dict[str, BatchRun] = {}
        self._lock = threading.Lock()
        self._fail_interrupted()

    def routes(self):
        ops = {"StartBuildBatch": self.start_build_batch,
               "BatchGetBuildBatches": self.batch_get_build_batches,
               "ListBuildBatches": self.list_build_batches,
               "ListBuildBatchesForProject": self.list_build_batches_for_project,
               "StopBuildBatch": self.stop_build_batch,
               "RetryBuildBatch": self.retry_build_batch}
        return {("codebuild", op): handler for op, handler in ops.items()}

    def close(self) -> None:
        with self._lock:
            runs = list(self._runs.values())
        for run in runs:
            run.stop()

    # -- operations -----------------------------------------------------------------------

    def start_build_batch(self, request: Request) -> Response:
        body = request.json()
        region = request.region
        project = self.ctx.peers.get(CodeBuildProjects).get(region, body.get(
            "projectName", ""))
        if project is None:
            raise AwsError("ResourceNotFoundException", f"Project cannot be found: "
                           f"{body.get('projectName')}")
        batch_id = f"{project['name']}:{uuid.uuid4()}"
        record = self._new_record(region, project, body, batch_id)
        try:
            batch = self._read_batchspec(region, project, body, batch_id)
        except PhaseFailed as failure:
            _end(record, "FAILED", failure.status_code, failure.message)
            self._save(region, record)
            return json_response({"buildBatch": record})
        self._launch(region, record, batch, [t.identifier for t in batch.tasks])
        return json_response({"buildBatch": self.get(region, batch_id)})

    def batch_get_build_batches(self, request: Request) -> Response:
        ids = batch_members(request.json(), "ids", "batch ids")
        found = [b for b in (self.get(request.region, i) for i in ids) if b]
        known = {b["id"] for b in found} | {b["arn"] for b in found}
        return json_response({"buildBatches": found,
                              "buildBatchesNotFound": [i for i in ids if i not in known]})

    def list_build_batches(self, request: Request) -> Response:
        return json_response(self._page(request, None))

    def list_build_batches_for_project(self, request: Request) -> Response:
        name = request.json().get("projectName", "")
        if self.ctx.peers.get(CodeBuildProjects).get(request.region, name) is None:
            raise AwsError("ResourceNotFoundException", f"Project {name} does not exist")
        return json_response(self._page(request, name))

    def stop_build_batch(self, request: Request) -> Response:
        record = self._require(request.region, request.json().get("id"))
        with self._lock:
            run = self._runs.get(record["id"])
        if run is not None:
            run.stop()
            run.wait(timeout=10)
        return json_response({"buildBatch": self.get(request.region, record["id"])})

    def retry_build_batch(self, request: Request) -> Response:
        body = request.json()
        self._require(request.region, body.get("id"))
        record = self._record(request.region, body["id"])
        if record is None:  # deleted since
            raise AwsError("ResourceNotFoundException", f"Build batch {body['id']} not found")
        if not record["complete"]:
            raise AwsError("InvalidInputException", "Only a completed batch can be retried")
        retry = body.get("retryType", "RETRY_ALL_BUILDS")
        if retry not in ("RETRY_ALL_BUILDS", "RETRY_FAILED_BUILDS"):
            raise AwsError("InvalidInputException", f"Invalid retryType {retry}")
        batch = _batch_from(record["_local"]["batchspec"])
        identifiers = [g["identifier"] for g in record["buildGroups"]
                       if retry == "RETRY_ALL_BUILDS" or _group_status(g) != "SUCCEEDED"]
        record = copy.deepcopy(record)
        record.update(complete=False, buildBatchStatus="IN_PROGRESS",
                      currentPhase="IN_PROGRESS")
        record.pop("endTime", None)
        self._launch(request.region, record, batch, identifiers)
        return json_response({"buildBatch": self.get(request.region, record["id"])})

    # -- lookups and records --------------------------------------------------------------

    def get(self, region: str, id_or_arn: str) -> dict[str, Any] | None:
        """The batch as BatchGetBuildBatches shows it (without the local bookkeeping)."""
        record = self._record(region, id_or_arn)
        if record is not None:
            record.pop("_local", None)
        return record

    def _record(self, region: str, id_or_arn: str) -> dict[str, Any] | None:
        batch_id = id_or_arn.rsplit(":build-batch/", 1)[-1]
        with self.store.lock:
            record = self.store.data["batches"].get(region, {}).get(batch_id)
            return copy.deepcopy(record) if record else None

    def _require(self, region: str, id_or_arn: str | None) -> dict[str, Any]:
        record = self.get(region, id_or_arn or "")
        if record is None:
            raise AwsError("ResourceNotFoundException", f"Build batch {id_or_arn} not found")
        return record

    def _save(self, region: str, record: dict) -> None:
        with self.store.lock:
            self.store.data["batches"].setdefault(region, {})[record["id"]] = \
                copy.deepcopy(record)
            self.store.save()

    def _new_record(self, region: str, project: dict, body: dict, batch_id: str) -> dict:
        now = time.time()
        with self.store.lock:
            numbers = self.store.data["numbers"].setdefault(region, {})
            numbers[project["name"]] = numbers.get(project["name"], 0) + 1
            number = numbers[project["name"]]
        return {
            "id": batch_id, "buildBatchNumber": number,
            "arn": f"arn:aws:codebuild:{region}:{ACCOUNT_ID}:build-batch/{batch_id}",
            "startTime": now, "currentPhase": "DOWNLOAD_BATCHSPEC",
            "buildBatchStatus": "IN_PROGRESS", "projectName": project["name"],
            "phases": [{"phaseType": "SUBMITTED", "phaseStatus": "SUCCEEDED", "startTime": now,
                        "endTime": now, "durationInSeconds": 0},
                       {"phaseType": "DOWNLOAD_BATCHSPEC", "startTime": now}],
            "source": copy.deepcopy(project["source"]),
            "secondarySources": copy.deepcopy(project.get("secondarySources") or []),
            "artifacts": {"location": ""}, "environment": copy.deepcopy(project["environment"]),
            "serviceRole": body.get("serviceRoleOverride") or project["serviceRole"],
            "buildTimeoutInMinutes": int(body.get("buildTimeoutInMinutesOverride")
                                         or project.get("timeoutInMinutes", 60)),
            "complete": False, "initiator": "root", "buildGroups": [],
            "buildBatchConfig": copy.deepcopy(project.get("buildBatchConfig") or {}),
            "_local": {"start": {k: copy.deepcopy(body[k]) for k in _START_KEYS if k in body}},
            **({"sourceVersion": body["sourceVersion"]} if body.get("sourceVersion") else {}),
        }

    def _read_batchspec(self, region: str, project: dict, body: dict, batch_id: str) -> Batch:
        """DOWNLOAD_BATCHSPEC: the buildspec's batch section (inline, or from the S3 source)."""
        source = project["source"]
        buildspec = body.get("buildspecOverride") or source.get("buildspec") or ""
        with tempfile.TemporaryDirectory(dir=self.ctx.state_dir) as scratch:
            location = body.get("sourceLocationOverride") or source.get("location")
            if source.get("type") == "S3" and location and "\n" not in buildspec:
                fetch_source(self.ctx.aws.client("s3", region), location,
                             body.get("sourceVersion"), Path(scratch))
            spec, _where = read_buildspec(buildspec, Path(scratch))
        if spec.batch is None:
            raise PhaseFailed("YAML_FILE_ERROR", "the buildspec has no batch section: add "
                              "batch: with build-list, build-graph or build-matrix")
        return spec.batch

    def _launch(self, region: str, record: dict, batch: Batch, identifiers: list[str]) -> None:
        record.setdefault("_local", {})["batchspec"] = _batch_to_json(batch)
        run = BatchRun(self.ctx, region, record, batch, identifiers,
                       lambda r: self._save(region, r))
        with self._lock:
            self._runs[record["id"]] = run
        self._save(region, record)
        thread = threading.Thread(target=self._run, args=(record["id"], run), daemon=True,
                                  name=f"batch-{record['id'][-8:]}")
        thread.start()

    def _run(self, batch_id: str, run: BatchRun) -> None:
        try:
            run.run()
        finally:
            with self._lock:
                self._runs.pop(batch_id, None)

    def _page(self, request: Request, project: str | None) -> dict[str, Any]:
        body = request.json()
        wanted = (body.get("filter") or {}).get("status")
        with self.store.lock:
            batches = [b for b in self.store.data["batches"].get(request.region, {}).values()
                       if (project is None or b["projectName"] == project)
                       and (not wanted or b["buildBatchStatus"] == wanted)]
        order = body.get("sortOrder", "DESCENDING")
        batches.sort(key=lambda b: (b["startTime"], b["id"]), reverse=order != "ASCENDING")
        rule = LIST_BUILD_BATCHES if project is None else LIST_BUILD_BATCHES_FOR_PROJECT
        return page([b["id"] for b in batches], body, rule)

    def _fail_interrupted(self) -> None:
        with self.store.lock:
            for batches in self.store.data["batches"].values():
                for record in batches.values():
                    if not record["complete"]:
                        _end(record, "FAILED", "CLIENT_ERROR",
                             "The local AWS restarted while this batch was running")
            self.store.save()


def _end(record: dict, status: str, code: str = "", message: str = "") -> None:
    now = time.time()
    phase = record["phases"][-1]
    phase.update(phaseStatus="SUCCEEDED" if status == "SUCCEEDED" else "FAILED", endTime=now,
                 durationInSeconds=int(now - phase["startTime"]),
                 contexts=[{"statusCode": code, "message": message}])
    record["phases"].append({"phaseType": status, "startTime": now})
    record.update(currentPhase=status, buildBatchStatus=status, endTime=now, complete=True)


def _group_status(group: dict) -> str:
    return (group.get("currentBuildSummary") or {}).get("buildStatus", "NOT_STARTED")


def _batch_to_json(batch: Batch) -> dict:
    return {"kind": batch.kind, "fastFail": batch.fast_fail, "tasks": [
        {"identifier": t.identifier, "buildspec": t.buildspec, "variables": dict(t.variables),
         "environment": dict(t.environment), "ignoreFailure": t.ignore_failure,
         "dependOn": list(t.depend_on)} for t in batch.tasks]}


def _batch_from(spec: dict) -> Batch:
    return Batch(spec["kind"], tuple(BatchTask(
        t["identifier"], t["buildspec"], t["variables"], t["environment"], t["ignoreFailure"],
        tuple(t["dependOn"])) for t in spec["tasks"]), spec["fastFail"])
