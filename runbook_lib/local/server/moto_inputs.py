"""Inputs moto crashes on, answered the way AWS answers them.

moto assumes members AWS treats as optional (``ecs put-attributes`` without a cluster),
parses documents AWS accepts empty (an empty ``TagSet``), and looks identifiers up without
checking they exist (``ecs delete-capacity-provider`` of an unknown name). Each such input,
found by the census (``tools/census.py``), is answered here instead of with an
``InternalFailure``:

- **before moto** (:func:`before`): an input AWS refuses gets AWS's validation error; an
  input AWS accepts is completed with AWS's default (the ``default`` cluster, the ``WINDOWS``
  operating system) or rewritten into what it means (an empty ``TagSet`` removes the tags);
  what moto cannot serve at all is refused as not emulated;
- **after moto failed** (:func:`after_crash`): the lookup moto failed names an identifier the
  request gave, so the answer is the service's not-found error, or success where AWS deletes
  idempotently.

Every rule names the operation and the moto failure it answers; anything else moto crashes
on stays an ``InternalFailure`` (:mod:`moto_faults`).
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from runbook_lib.local.server.operations import rest_operation
from runbook_lib.local.server.refusals import _request_id, aws_error, not_emulated, protocol_of
from runbook_lib.local.server.wire import Request, Response

# S3 operations moto routes to the wrong handler (a POST-object upload or none).
_S3_NOT_EMULATED = frozenset({
    "CreateBucketMetadataConfiguration", "CreateBucketMetadataTableConfiguration",
    "WriteGetObjectResponse"})
_NO_PROVIDER = ("ClientException", "The specified capacity provider does not exist. Specify a "
                "valid name or ARN and try again.", 400)


@dataclass
class Rewrite:
    """Forward the request to moto changed: another method, body or both."""

    method: str | None = None
    body: bytes | None = None


def before(environ: dict[str, Any], request: Request, operation: str | None
           ) -> Response | Rewrite | None:
    """AWS's answer to an input moto would crash on, a rewrite moto can serve, or None."""
    check = _BEFORE.get((model_service(request), operation or ""))
    if check is None:
        return None
    outcome = check(request)
    if outcome is None or isinstance(outcome, Rewrite):
        return outcome
    if outcome == "not emulated":
        return not_emulated(environ, model_service(request), operation)
    code, message, status = outcome
    return aws_error(code, message, status, protocol_of(environ, request.service))


def prepare(environ: dict[str, Any], request: Request) -> None:
    """Apply a rewrite before the request is journalled, so a replay after a restart feeds
    moto the request it can serve (the dispatcher calls this first; refusals come later, in
    :func:`before`, which finds nothing left to rewrite)."""
    operation = request.operation or rest_operation(
        model_service(request), request.method, request.path, request.query, request.headers)
    check = _BEFORE.get((model_service(request), operation or ""))
    outcome = check(request) if check else None
    if isinstance(outcome, Rewrite):
        apply(environ, request, outcome)


def apply(environ: dict[str, Any], request: Request, rewrite: Rewrite) -> None:
    """Make ``environ`` (and the request seen by the journal) carry the rewrite."""
    if rewrite.method:
        environ["REQUEST_METHOD"] = request.method = rewrite.method
    if rewrite.body is not None:
        request.body = rewrite.body
        environ["wsgi.input"] = io.BytesIO(rewrite.body)
        environ["CONTENT_LENGTH"] = str(len(rewrite.body))


def after_crash(environ: dict[str, Any], request: Request, operation: str | None,
                err: BaseException | None) -> Response | None:
    """AWS's answer when moto failed looking up what the request named; None otherwise."""
    rule = _AFTER.get((request.service or "", operation or ""))
    if rule is None or err is None or not re.fullmatch(rule[0], type(err).__name__):
        return None
    if rule[1] and not re.search(rule[1], str(err)):
        return None
    answer = rule[2](request) if callable(rule[2]) else rule[2]
    if isinstance(answer, Response):
        return answer
    code, message, status = answer
    return aws_error(code, message, status, protocol_of(environ, request.service))


def model_service(request: Request) -> str:
    """S3 Object Lambda's WriteGetObjectResponse is signed ``s3-object-lambda``, modelled in s3."""
    return "s3" if request.service == "s3-object-lambda" else request.service or ""


def _body(request: Request) -> dict[str, Any]:
    try:
        found = json.loads(request.body or b"{}")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _form(request: Request) -> dict[str, str]:
    source = request.body.decode("utf-8", "replace") + "&" + request.query
    return {key: values[0] for key, values in parse_qs(source).items()}


def _json(body: dict[str, Any]) -> Rewrite:
    return Rewrite(body=json.dumps(body).encode())


# ---- before moto: one function per operation --------------------------------------------

def _ownership_controls(request: Request):
    if b"<Rule>" not in request.body:
        return ("MalformedXML", "The XML you provided was not well-formed or did not validate "
                "against our published schema: OwnershipControls needs one Rule", 400)
    return None


def _object_tagging(request: Request):
    """An empty TagSet removes the object's tags on AWS; moto parses only a non-empty one."""
    return Rewrite(method="DELETE", body=b"") if b"<Tag>" not in request.body else None


def _select(request: Request):
    text = request.body.decode("utf-8", "replace")
    given = re.search(r"<InputSerialization>(.*?)</InputSerialization>", text, re.S)
    wanted = re.search(r"<OutputSerialization>(.*?)</OutputSerialization>", text, re.S)
    if not (given and re.search(r"<(CSV|JSON|Parquet)\b", given.group(1))) or not (
            wanted and re.search(r"<(CSV|JSON)\b", wanted.group(1))):
        return ("MissingRequiredParameter", "The SelectRequest entity is missing a required "
                "parameter: InputSerialization needs CSV, JSON or Parquet and "
                "OutputSerialization CSV or JSON", 400)
    return None


def _upload_part_copy(request: Request):
    source = request.headers.get("x-amz-copy-source", "").split("?")[0].lstrip("/")
    if "/" not in source or not source.split("/", 1)[1]:
        return ("InvalidArgument", f"Invalid copy source object key: x-amz-copy-source "
                f"{source!r} must be <bucket>/<key>", 400)
    return None


def _service_linked_role(request: Request):
    name = _form(request).get("AWSServiceName", "")
    if len(name.split(".")) < 3:
        return ("InvalidInput", f"Invalid AWSServiceName {name!r}: give the service's "
                "principal, for example elasticbeanstalk.amazonaws.com", 400)
    return None


def _delivery_destination(request: Request):
    body = _body(request)
    if body.get("deliveryDestinationConfiguration"):
        return None
    if body.get("deliveryDestinationType") == "XRAY":
        return "not emulated"
    return ("ValidationException", "deliveryDestinationConfiguration (with "
            "destinationResourceArn) is required unless deliveryDestinationType is XRAY", 400)


def _start_query(request: Request):
    body = _body(request)
    if body.get("logGroupName") or body.get("logGroupNames"):
        return None
    identifiers = body.pop("logGroupIdentifiers", None)
    if not identifiers:
        return ("InvalidParameterException", "Give the log groups to query: logGroupName, "
                "logGroupNames or logGroupIdentifiers", 400)
    body["logGroupNames"] = [re.sub(r"^arn:[^:]+:logs:[^:]*:[^:]*:log-group:|:\*$", "", i)
                             for i in identifiers]
    return _json(body)


def _partner_events(request: Request):
    return _each_needs(_body(request), "Entries", "Source", "ValidationException",
                       "the partner event source the event comes from")


def _publish(request: Request):
    form = _form(request)
    if not any(form.get(k) for k in ("TopicArn", "TargetArn", "PhoneNumber")):
        return ("InvalidParameter", "Invalid parameter: TopicArn or TargetArn Reason: no value "
                "for required parameter", 400)
    return None


def _patch_group_baseline(request: Request):
    body = _body(request)
    return None if body.get("OperatingSystem") else _json({**body, "OperatingSystem": "WINDOWS"})


def _replicate_secret(request: Request):
    return _each_needs(_body(request), "AddReplicaRegions", "Region",
                       "InvalidParameterException", "the Region to replicate the secret to")


def _each_needs(body: dict[str, Any], members: str, field: str, code: str, meaning: str):
    """AWS's refusal of the first item of the list ``members`` that lacks ``field`` (moto
    crashes on it), or None when every item has it."""
    for index, item in enumerate(body.get(members) or []):
        if not item.get(field):
            return (code, f"{members}[{index}].{field} is required: {meaning}", 400)
    return None


def _create_capacity_provider(request: Request):
    body = _body(request)
    if body.get("autoScalingGroupProvider"):
        return None
    if body.get("managedInstancesProvider"):
        return "not emulated"
    return ("InvalidParameterException", "autoScalingGroupProvider (with autoScalingGroupArn) "
            "is required", 400)


def _describe_capacity_providers(request: Request):
    """Listing every provider needs the list moto does not expose: name them instead."""
    return None if _body(request).get("capacityProviders") else "not emulated"


def _default_cluster(request: Request):
    body = _body(request)
    return None if body.get("cluster") else _json({**body, "cluster": "default"})


def _register_container_instance(request: Request):
    if not _body(request).get("instanceIdentityDocument"):
        return ("InvalidParameterException", "instanceIdentityDocument is required: the "
                "local AWS registers EC2 instances by their identity document", 400)
    return None


def _s3_refused(request: Request):
    return "not emulated"


_BEFORE = {
    **{("s3", op): _s3_refused for op in _S3_NOT_EMULATED},
    ("s3", "PutBucketOwnershipControls"): _ownership_controls,
    ("s3", "PutObjectTagging"): _object_tagging,
    ("s3", "SelectObjectContent"): _select,
    ("s3", "UploadPartCopy"): _upload_part_copy,
    ("iam", "CreateServiceLinkedRole"): _service_linked_role,
    ("logs", "PutDeliveryDestination"): _delivery_destination,
    ("logs", "StartQuery"): _start_query,
    ("events", "PutPartnerEvents"): _partner_events,
    ("sns", "Publish"): _publish,
    ("ssm", "GetPatchBaselineForPatchGroup"): _patch_group_baseline,
    ("secretsmanager", "ReplicateSecretToRegions"): _replicate_secret,
    ("ecs", "CreateCapacityProvider"): _create_capacity_provider,
    ("ecs", "DescribeCapacityProviders"): _describe_capacity_providers,
    ("ecs", "PutAttributes"): _default_cluster,
    ("ecs", "RegisterContainerInstance"): _register_container_instance,
}


# ---- after moto failed: (exception type, message pattern, answer) per operation ----------

def _platform_application_deleted(request: Request) -> Response:
    """SNS deletes idempotently: an unknown platform application is already gone."""
    body = (f'<DeletePlatformApplicationResponse xmlns="http://sns.amazonaws.com/doc/'
            f'2010-03-31/"><ResponseMetadata><RequestId>{_request_id()}</RequestId>'
            f'</ResponseMetadata></DeletePlatformApplicationResponse>').encode()
    return Response(200, [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))],
                    body)


def _patch_baseline_deleted(request: Request) -> Response:
    """SSM deletes idempotently: the answer names the baseline either way."""
    body = json.dumps({"BaselineId": _body(request).get("BaselineId", "")}).encode()
    return Response(200, [("Content-Type", "application/x-amz-json-1.1"),
                          ("Content-Length", str(len(body)))], body)


def _unknown_source(request: Request):
    sources = sorted({e.get("Source", "") for e in _body(request).get("Entries") or []})
    return ("ResourceNotFoundException", f"Partner event source {', '.join(sources)} does not "
            "exist in this account", 400)


_AFTER: dict[tuple[str, str], tuple[str, str, Any]] = {
    ("ecs", "DeleteCapacityProvider"): ("AttributeError", "'name'", _NO_PROVIDER),
    ("ecs", "UpdateCapacityProvider"): ("AttributeError", "'update'", _NO_PROVIDER),
    ("ecs", "DeleteTaskSet"): ("KeyError", "", (
        "ServiceNotFoundException", "Service not found.", 400)),
    ("ecs", "DeregisterContainerInstance"): ("KeyError|Exception", "", (
        "InvalidParameterException", "The referenced container instance was not found.", 400)),
    ("ecs", "RunTask"): ("Exception", "^No instances found", (
        "InvalidParameterException", "No Container Instances were found in your cluster.",
        400)),
    ("ecs", "StopTask"): ("Exception", "has no registered tasks", (
        "InvalidParameterException", "The referenced task was not found.", 400)),
    ("events", "PutPartnerEvents"): ("KeyError", "", _unknown_source),
    ("sns", "DeletePlatformApplication"): ("KeyError", "", _platform_application_deleted),
    ("ssm", "DeletePatchBaseline"): ("KeyError", "", _patch_baseline_deleted),
}
