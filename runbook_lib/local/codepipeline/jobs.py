"""Custom and third-party actions run by job workers: each run of such an action is a job.

On AWS, an action whose type is custom (owner ``Custom``) or a partner's (``ThirdParty``) is
not run by CodePipeline: it becomes a job that a worker polls for (``PollForJobs``),
acknowledges with the job's nonce, works on, and ends with ``PutJobSuccessResult`` or
``PutJobFailureResult``. The local AWS does the same: :class:`JobWorkerAction` opens a job in
the :class:`JobBook` and waits. A success with a ``continuationToken`` opens a new job for the
same action (carrying the token), as AWS does for long-running work. A job nobody finishes
times out (``RUNBOOK_LOCAL_JOB_TIMEOUT_SECONDS``, default one hour) and fails its action.

Job states follow AWS: Created (open), Dispatched (handed to a poller), InProgress
(acknowledged), then Succeeded, Failed or TimedOut.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from runbook_lib.local.codepipeline.actions import (
    ActionContext,
    ActionOutcome,
    ArtifactRef,
    register_job_worker,
)
from runbook_lib.local.server.store import JsonStore, PerStateDir
from runbook_lib.local.server.wire import AwsError

TIMEOUT_ENV = "RUNBOOK_LOCAL_JOB_TIMEOUT_SECONDS"
DEFAULT_TIMEOUT_SECONDS = 3600.0
OPEN = ("Created", "Dispatched", "InProgress")



def job_timeout_seconds() -> float:
    """Read when a job opens, so a test (or an operator) can shorten it per run."""
    return float(os.environ.get(TIMEOUT_ENV) or DEFAULT_TIMEOUT_SECONDS)


class JobBook:
    """Jobs by id, kept in the state folder; executors wait on them, the API ends them."""

    def __init__(self, state_dir: Path) -> None:
        self.store = JsonStore(state_dir / "codepipeline-jobs.json", {})
        self.changed = threading.Condition(self.store.lock)

    def open(self, ctx: ActionContext, token: str | None) -> dict[str, Any]:
        """A new job for this run of the action (``token``: a continuation's)."""
        type_id = dict(ctx.action_type_id or {})
        job_id = str(uuid.uuid4())
        outputs = [{"name": name, "location": {"type": "S3", "s3Location": {
            "bucketName": ctx.artifact_bucket, "objectKey": ctx.new_artifact_key(name)}}}
            for name in ctx.output_artifact_names]
        data: dict[str, Any] = {
            "actionTypeId": type_id,
            "actionConfiguration": {"configuration": dict(ctx.configuration)},
            "pipelineContext": {
                "pipelineName": ctx.pipeline_name, "stage": {"name": ctx.stage_name},
                "action": {"name": ctx.action_name,
                           "actionExecutionId": ctx.action_execution_id},
                "pipelineArn": f"arn:aws:codepipeline:{ctx.region}:{ctx.account_id}:"
                               f"{ctx.pipeline_name}",
                "pipelineExecutionId": ctx.execution_id},
            "inputArtifacts": [{"name": a.name, "location": {"type": "S3", "s3Location": {
                "bucketName": a.bucket, "objectKey": a.key}}} for a in ctx.input_artifacts],
            "outputArtifacts": outputs}
        if token:
            data["continuationToken"] = token
        job = {"id": job_id, "nonce": uuid.uuid4().hex, "status": "Created",
               "owner": type_id.get("owner", "Custom"), "clientId": str(uuid.uuid4()),
               "region": ctx.region, "accountId": ctx.account_id, "data": data,
               "created": time.time(), "deadline": time.time() + job_timeout_seconds()}
        with self.store.transaction():
            self.store.data[job_id] = job
        return dict(job)

    def get(self, job_id: str) -> dict[str, Any]:
        with self.store.lock:
            job = self.store.data.get(job_id)
            if job is None:
                raise AwsError("JobNotFoundException", f"The job {job_id} was not found")
            return dict(job)

    def poll(self, region: str, owner: str, type_id: dict[str, Any], limit: int,
             query: dict[str, str]) -> list[dict[str, Any]]:
        """Open jobs of this type not yet handed out, now Dispatched (at most ``limit``)."""
        handed: list[dict[str, Any]] = []
        with self.store.transaction():
            for job in self.store.data.values():
                if len(handed) >= limit:
                    break
                config = job["data"]["actionConfiguration"]["configuration"]
                if (job["status"] == "Created" and job["region"] == region
                        and job["owner"] == owner
                        and job["data"]["actionTypeId"] == type_id
                        and all(config.get(k) == v for k, v in query.items())):
                    job["status"] = "Dispatched"
                    handed.append(dict(job))
        return handed

    def acknowledge(self, job_id: str, nonce: str, client_token: str | None = None) -> str:
        with self.store.transaction():
            job = self._open_job(job_id, client_token)
            if nonce != job["nonce"]:
                raise AwsError("InvalidNonceException", f"The nonce for job {job_id} is not "
                                                        "valid")
            if job["status"] in ("Created", "Dispatched"):
                job["status"] = "InProgress"
            return job["status"]

    def finish(self, job_id: str, result: dict[str, Any],
               client_token: str | None = None) -> None:
        """End a job with ``result`` (kind: success, continue or failure); wakes its action."""
        with self.store.transaction():
            job = self._open_job(job_id, client_token)
            job["status"] = "Failed" if result["kind"] == "failure" else "Succeeded"
            job["result"] = result
            self.changed.notify_all()

    def check_client(self, job_id: str, client_token: str) -> dict[str, Any]:
        with self.store.lock:
            job = self.get(job_id)
            if client_token != job["clientId"]:
                raise AwsError("InvalidClientTokenException", f"The client token for job "
                                                              f"{job_id} is not valid")
            return job

    def wait(self, job_id: str, stop: threading.Event) -> dict[str, Any] | None:
        """The job's result once it ends; None when it timed out or the run was stopped."""
        with self.changed:
            while True:
                job = self.store.data[job_id]
                if job["status"] not in OPEN:
                    return job.get("result")
                left = job["deadline"] - time.time()
                if left <= 0 or stop.is_set():
                    job["status"] = "TimedOut" if left <= 0 else "Failed"
                    self.store.save()
                    return None
                self.changed.wait(min(left, 1.0))

    def _open_job(self, job_id: str, client_token: str | None) -> dict[str, Any]:
        job = self.store.data.get(job_id)
        if job is None:
            raise AwsError("JobNotFoundException", f"The job {job_id} was not found")
        if client_token is not None and client_token != job["clientId"]:
            raise AwsError("InvalidClientTokenException", f"The client token for job {job_id} "
                                                          "is not valid")
        if job["status"] not in OPEN:
            raise AwsError("InvalidJobStateException", f"The job {job_id} is {job['status']}; "
                                                       "its result was already given")
        return job


# The job book of the local AWS serving a state folder (the API and the executor share it).
book_for = PerStateDir(JobBook)


@register_job_worker
class JobWorkerAction:
    """Executor of any custom or third-party action: a job for a worker, then its result."""

    def run(self, ctx: ActionContext) -> ActionOutcome:
        book = book_for(ctx.state_dir)
        token: str | None = None
        while True:
            job = book.open(ctx, token)
            result = book.wait(job["id"], ctx.stop_requested)
            if result is None:
                return ActionOutcome("Failed", f"Job {job['id']} was not completed by a job "
                                     f"worker within {job_timeout_seconds():.0f} seconds "
                                     "(PollForJobs, AcknowledgeJob, then PutJobSuccessResult "
                                     "or PutJobFailureResult)", error_code="JobFailed")
            if result["kind"] != "continue":
                return _outcome(job, result)
            token = result["continuationToken"]


def _outcome(job: dict[str, Any], result: dict[str, Any]) -> ActionOutcome:
    details = result.get("executionDetails") or {}
    if result["kind"] == "failure":
        failure = result["failureDetails"]
        return ActionOutcome("Failed", failure.get("message", ""),
                             external_execution_id=failure.get("externalExecutionId"),
                             error_code=failure.get("type", "JobFailed"))
    outputs = [ArtifactRef(a["name"], a["location"]["s3Location"]["bucketName"],
                           a["location"]["s3Location"]["objectKey"])
               for a in job["data"]["outputArtifacts"]]
    revision = result.get("currentRevision")
    return ActionOutcome(
        "Succeeded", details.get("summary", ""), output_artifacts=outputs,
        output_variables=dict(result.get("outputVariables") or {}),
        external_execution_id=details.get("externalExecutionId"),
        revision={"revisionId": revision["revision"],
                  "revisionChangeIdentifier": revision.get("changeIdentifier"),
                  "revisionSummary": revision.get("revisionSummary")} if revision else None)
