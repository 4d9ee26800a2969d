"""The job worker API of CodePipeline: custom jobs and third-party jobs, over :mod:`jobs`.

Custom jobs: ``PollForJobs`` (with ``queryParam`` matched against the action's configuration),
``AcknowledgeJob`` (the job's nonce), ``GetJobDetails``, ``PutJobSuccessResult`` and
``PutJobFailureResult``. Third-party jobs: the same with a client token, which the local AWS
hands out as the job's ``clientId`` in ``PollForThirdPartyJobs`` (on AWS, a partner's client
token comes from its onboarding). Job data carry artifact credentials, as on AWS: locally they
are the state folder's own key pair, which the caller already signs with.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from runbook_lib.core.local_credentials import read_credentials
from runbook_lib.local.codepipeline.action_types import ActionTypes, describe
from runbook_lib.local.codepipeline.jobs import book_for
from runbook_lib.local.server.wire import AwsError, Request, Response, json_response

if TYPE_CHECKING:
    from runbook_lib.local.server.context import LocalContext

OPERATIONS = ("PollForJobs", "AcknowledgeJob", "GetJobDetails", "PutJobSuccessResult",
              "PutJobFailureResult", "PollForThirdPartyJobs", "AcknowledgeThirdPartyJob",
              "GetThirdPartyJobDetails", "PutThirdPartyJobSuccessResult",
              "PutThirdPartyJobFailureResult")
_MAX_OUTPUT_VARIABLES_BYTES = 122880  # AWS's limit on a job's output variables


class JobsApi:
    """Job worker operations; the action that opened a job waits for its result."""

    def __init__(self, ctx: LocalContext) -> None:
        self.ctx = ctx
        self.book = book_for(ctx.state_dir)

    def routes(self):
        return {("codepipeline", op): getattr(self, _snake(op)) for op in OPERATIONS}

    # -- custom jobs --------------------------------------------------------------------------

    def poll_for_jobs(self, request: Request) -> Response:
        body = request.json()
        type_id = self._known_type(request.region, body.get("actionTypeId") or {}, "Custom")
        jobs = self.book.poll(request.region, "Custom", type_id, _batch(body),
                              dict(body.get("queryParam") or {}))
        return json_response({"jobs": [{"id": j["id"], "data": self._data(j),
                                        "nonce": j["nonce"], "accountId": j["accountId"]}
                                       for j in jobs]})

    def acknowledge_job(self, request: Request) -> Response:
        body = request.json()
        return json_response({"status": self.book.acknowledge(body.get("jobId", ""),
                                                              body.get("nonce", ""))})

    def get_job_details(self, request: Request) -> Response:
        job = self.book.get(request.json().get("jobId", ""))
        return json_response({"jobDetails": {"id": job["id"], "data": self._data(job),
                                             "accountId": job["accountId"]}})

    def put_job_success_result(self, request: Request) -> Response:
        body = request.json()
        self.book.finish(body.get("jobId", ""), _success(body))
        return json_response({})

    def put_job_failure_result(self, request: Request) -> Response:
        body = request.json()
        self.book.finish(body.get("jobId", ""), _failure(body))
        return json_response({})

    # -- third-party jobs ---------------------------------------------------------------------

    def poll_for_third_party_jobs(self, request: Request) -> Response:
        body = request.json()
        type_id = self._known_type(request.region, body.get("actionTypeId") or {}, "ThirdParty")
        jobs = self.book.poll(request.region, "ThirdParty", type_id, _batch(body), {})
        return json_response({"jobs": [{"clientId": j["clientId"], "jobId": j["id"]}
                                       for j in jobs]})

    def acknowledge_third_party_job(self, request: Request) -> Response:
        body = request.json()
        return json_response({"status": self.book.acknowledge(
            body.get("jobId", ""), body.get("nonce", ""), body.get("clientToken", ""))})

    def get_third_party_job_details(self, request: Request) -> Response:
        body = request.json()
        job = self.book.check_client(body.get("jobId", ""), body.get("clientToken", ""))
        return json_response({"jobDetails": {"id": job["id"], "data": self._data(job),
                                             "nonce": job["nonce"]}})

    def put_third_party_job_success_result(self, request: Request) -> Response:
        body = request.json()
        body.pop("outputVariables", None)  # not part of the third-party API
        self.book.finish(body.get("jobId", ""), _success(body), body.get("clientToken", ""))
        return json_response({})

    def put_third_party_job_failure_result(self, request: Request) -> Response:
        body = request.json()
        self.book.finish(body.get("jobId", ""), _failure(body), body.get("clientToken", ""))
        return json_response({})

    # -- helpers ------------------------------------------------------------------------------

    def _known_type(self, region: str, type_id: dict[str, Any], owner: str) -> dict[str, Any]:
        """The polled type must exist (``ActionTypeNotFoundException``, AWS's wording)."""
        if type_id.get("owner") != owner:
            raise AwsError("ValidationException", f"actionTypeId.owner must be {owner}")
        registry = self.ctx.peers.find(ActionTypes)
        if registry is not None and registry.find(region, type_id) is None:
            raise AwsError("ActionTypeNotFoundException", f"{describe(type_id)} is not "
                                                          "available")
        return {k: type_id[k] for k in ("category", "owner", "provider", "version")}

    def _data(self, job: dict[str, Any]) -> dict[str, Any]:
        data = dict(job["data"])
        creds = read_credentials(self.ctx.state_dir)
        if creds is not None:
            data["artifactCredentials"] = {"accessKeyId": creds.access_key_id,
                                           "secretAccessKey": creds.secret_access_key,
                                           "sessionToken": "local"}
        return data


def _batch(body: dict[str, Any]) -> int:
    size = body.get("maxBatchSize", 1)
    if not isinstance(size, int) or size < 1:
        raise AwsError("ValidationException", "maxBatchSize must be at least 1")
    return size


def _success(body: dict[str, Any]) -> dict[str, Any]:
    variables = body.get("outputVariables") or {}
    if len(str(variables)) > _MAX_OUTPUT_VARIABLES_BYTES:
        raise AwsError("OutputVariablesSizeExceededException", "The output variables exceed "
                                                               "122880 bytes")
    if body.get("continuationToken"):
        if variables:
            raise AwsError("ValidationException", "outputVariables can only be given with the "
                                                  "final result, not with a continuationToken")
        return {"kind": "continue", "continuationToken": body["continuationToken"]}
    return {"kind": "success", "outputVariables": variables,
            "executionDetails": body.get("executionDetails") or {},
            "currentRevision": body.get("currentRevision")}


def _failure(body: dict[str, Any]) -> dict[str, Any]:
    details = body.get("failureDetails") or {}
    if not details.get("type") or not details.get("message"):
        raise AwsError("ValidationException", "failureDetails needs a type and a message")
    return {"kind": "failure", "failureDetails": details}


def _snake(op: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", op).lower()
