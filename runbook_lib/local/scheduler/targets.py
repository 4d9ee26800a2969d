"""Invoking a schedule's target, as EventBridge Scheduler does: templated or universal.

- Universal targets, ``arn:aws:scheduler:::aws-sdk:<service>:<apiAction>``: ``Input`` is the
  API request as JSON; keys may be written as the API spells them (``projectName``) or in the
  PascalCase the Scheduler console uses (``ProjectName``).
- Templated targets, by the target's ARN: SQS ``SendMessage``, SNS ``Publish``, EventBridge
  ``PutEvents`` (``EventBridgeParameters``), CodeBuild ``StartBuild`` and CodePipeline
  ``StartPipelineExecution`` (``Input``, when JSON, adds to the request).

``Input`` may carry Scheduler's context attributes (``<aws.scheduler.schedule-arn>``,
``<aws.scheduler.scheduled-time>``, ``<aws.scheduler.execution-id>``,
``<aws.scheduler.attempt-number>``). The target's role must exist. A failed invocation is retried
as the target's ``RetryPolicy`` allows (only errors AWS would retry: throttling and server
errors), then sent to the ``DeadLetterConfig`` queue with Scheduler's error attributes.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore import xform_name
from botocore.exceptions import BotoCoreError, ClientError

from runbook_lib.core.text import iso_time
from runbook_lib.local import clock

log = logging.getLogger("runbook.local.scheduler")

UNIVERSAL_PREFIX = "arn:aws:scheduler:::aws-sdk:"
_RETRYABLE = {"ThrottlingException", "Throttling", "TooManyRequestsException",
              "ServiceUnavailable", "ServiceUnavailableException", "InternalFailure",
              "InternalServerError", "InternalServerException", "RequestLimitExceeded"}
_MAX_BACKOFF = 60.0


class InvocationError(Exception):
    """The target could not be invoked; ``code`` is the error code Scheduler reports."""

    def __init__(self, code: str, message: str, retryable: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.retryable = retryable


@dataclass(frozen=True)
class Invocation:
    """One firing of one schedule (or scheduled rule)."""

    schedule_arn: str
    scheduled_time: datetime
    execution_id: str
    target: dict[str, Any]
    region: str


@dataclass(frozen=True)
class Outcome:
    """How an invocation ended: ``succeeded``, or ``failed`` (``dead_lettered`` says whether
    the event reached the dead-letter queue)."""

    status: str
    attempts: int
    error_code: str = ""
    error: str = ""
    dead_lettered: bool = False


def invoke(aws, invocation: Invocation, stop: threading.Event | None = None) -> Outcome:
    """Invoke with retries and dead-lettering; ``stop`` ends the retries at shutdown."""
    policy = invocation.target.get("RetryPolicy") or {}
    max_retries = int(policy.get("MaximumRetryAttempts", 185))
    max_age = float(policy.get("MaximumEventAgeInSeconds", 86400))
    waited, attempt, backoff = 0.0, 0, 1.0
    while True:
        attempt += 1
        try:
            _call_target(aws, invocation, attempt)
            return Outcome("succeeded", attempt)
        except InvocationError as err:
            exhausted = ("MaximumRetryAttempts" if attempt > max_retries else
                         "MaximumEventAgeInSeconds" if waited + backoff > max_age else "")
            if not err.retryable or exhausted or (stop is not None and stop.is_set()):
                dead = _dead_letter(aws, invocation, err, attempt, exhausted)
                log.warning("schedule %s: target %s failed after %d attempt(s): %s %s%s",
                            invocation.schedule_arn, invocation.target.get("Arn"), attempt,
                            err.code, err, "; sent to the dead-letter queue" if dead else "")
                return Outcome("failed", attempt, err.code, str(err), dead)
        if stop is not None and stop.wait(clock.scaled(backoff)):
            continue  # stopping: the next pass dead-letters
        waited += backoff
        backoff = min(backoff * 2, _MAX_BACKOFF)


def _call_target(aws, invocation: Invocation, attempt: int) -> None:
    target = invocation.target
    region = invocation.region
    try:
        if target.get("RoleArn"):  # a schedule always has one; a rule's SNS target has none
            _require_role(aws, target["RoleArn"])
        payload = render_input(target.get("Input"), invocation, attempt)
        arn = target.get("Arn", "")
        if arn.startswith(UNIVERSAL_PREFIX):
            _universal(aws, region, arn, payload)
        else:
            _templated(aws, target, arn, payload)
    except ClientError as err:
        code = err.response["Error"].get("Code", "ClientError")
        status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400)
        raise InvocationError(code, str(err), code in _RETRYABLE or status >= 500) from err
    except BotoCoreError as err:
        raise InvocationError("InternalServerException", str(err), True) from err


def render_input(text: str | None, invocation: Invocation, attempt: int) -> str:
    """The target's input with Scheduler's context attributes filled in ("{}" when unset)."""
    values = {
        "<aws.scheduler.schedule-arn>": invocation.schedule_arn,
        "<aws.scheduler.scheduled-time>": iso_time(invocation.scheduled_time),
        "<aws.scheduler.execution-id>": invocation.execution_id,
        "<aws.scheduler.attempt-number>": str(attempt),
    }
    text = "{}" if text is None else text
    for key, value in values.items():
        text = text.replace(key, value)
    return text


def _require_role(aws, role_arn: str) -> None:
    name = role_arn.rpartition("/")[2]
    try:
        aws.client("iam").get_role(RoleName=name)
    except ClientError as err:
        if err.response["Error"]["Code"] != "NoSuchEntity":
            raise
        raise InvocationError("AccessDeniedException",
                              f"The execution role {role_arn} does not exist, so EventBridge "
                              "Scheduler cannot assume it") from err


def _universal(aws, region: str, arn: str, payload: str) -> None:
    service, _, action = arn[len(UNIVERSAL_PREFIX):].partition(":")
    client = aws.client(service, region)
    operation = action[:1].upper() + action[1:]
    try:
        shape = client.meta.service_model.operation_model(operation).input_shape
    except Exception as err:  # botocore raises OperationNotFoundError, a plain Exception
        raise InvocationError("ValidationException",
                              f"{service} has no API action {action!r}") from err
    request = _json_object(payload, arn)
    getattr(client, xform_name(operation))(**_match_members(request, shape))


def _templated(aws, target: dict[str, Any], arn: str, payload: str) -> None:
    parts = arn.split(":", 5)
    if len(parts) != 6:
        raise InvocationError("ValidationException", f"target ARN {arn!r} is not an ARN")
    service, region, account, resource = parts[2], parts[3], parts[4], parts[5]
    call = _TEMPLATED.get(service)
    if call is None:
        raise InvocationError("ValidationException",
                              f"{service} templated targets are not invoked by the local AWS; "
                              "use a universal target (arn:aws:scheduler:::aws-sdk:...)")
    call(aws.client(service, region), target, account, resource, payload)


def _sqs(client, target, account, resource, payload) -> None:
    url = client.get_queue_url(QueueName=resource, QueueOwnerAWSAccountId=account)["QueueUrl"]
    extra = {}
    group = (target.get("SqsParameters") or {}).get("MessageGroupId")
    if group:
        extra["MessageGroupId"] = group
    client.send_message(QueueUrl=url, MessageBody=payload, **extra)


def _sns(client, target, account, resource, payload) -> None:
    client.publish(TopicArn=target["Arn"], Message=payload)


def _events(client, target, account, resource, payload) -> None:
    params = target.get("EventBridgeParameters") or {}
    result = client.put_events(Entries=[{
        "EventBusName": target["Arn"], "Source": params.get("Source", "aws.scheduler"),
        "DetailType": params.get("DetailType", "Scheduled Event"), "Detail": payload}])
    if result.get("FailedEntryCount"):
        entry = result["Entries"][0]
        raise InvocationError(entry.get("ErrorCode", "PutEventsFailed"),
                              entry.get("ErrorMessage", "PutEvents failed"))


def _codebuild(client, target, account, resource, payload) -> None:
    request = _optional_object(payload)
    request["projectName"] = resource.partition("/")[2]
    client.start_build(**request)


def _codepipeline(client, target, account, resource, payload) -> None:
    request = _optional_object(payload)
    request["name"] = resource
    client.start_pipeline_execution(**request)


_TEMPLATED: dict[str, Callable[..., None]] = {
    "sqs": _sqs, "sns": _sns, "events": _events, "codebuild": _codebuild,
    "codepipeline": _codepipeline}


def _json_object(payload: str, arn: str) -> dict[str, Any]:
    try:
        value = json.loads(payload)
    except ValueError as err:
        raise InvocationError("ValidationException",
                              f"Input of universal target {arn} is not JSON") from err
    if not isinstance(value, dict):
        raise InvocationError("ValidationException",
                              f"Input of universal target {arn} is not a JSON object")
    return value


def _optional_object(payload: str) -> dict[str, Any]:
    try:
        value = json.loads(payload)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _match_members(value: Any, shape) -> Any:
    """Rename keys to the shape's own spelling, case-insensitively, all the way down."""
    if shape is None:
        return value
    if shape.type_name == "structure" and isinstance(value, dict):
        names = {name.lower(): name for name in shape.members}
        out = {}
        for key, item in value.items():
            name = names.get(str(key).lower(), key)
            out[name] = _match_members(item, shape.members.get(name))
        return out
    if shape.type_name == "list" and isinstance(value, list):
        return [_match_members(item, shape.member) for item in value]
    return value


def _dead_letter(aws, invocation: Invocation, err: InvocationError, attempts: int,
                 exhausted: str) -> bool:
    arn = (invocation.target.get("DeadLetterConfig") or {}).get("Arn")
    if not arn:
        return False
    parts = arn.split(":")
    attributes = {"ERROR_CODE": err.code, "ERROR_MESSAGE": str(err)[:1000],
                  "RETRY_ATTEMPTS": str(attempts - 1),
                  "TARGET_ARN": invocation.target.get("Arn", ""),
                  "EXHAUSTED_RETRY_CONDITION": exhausted or "NotRetryable"}
    try:
        sqs = aws.client("sqs", parts[3])
        url = sqs.get_queue_url(QueueName=parts[5], QueueOwnerAWSAccountId=parts[4])["QueueUrl"]
        sqs.send_message(
            QueueUrl=url, MessageBody=render_input(invocation.target.get("Input"), invocation,
                                                   attempts),
            MessageAttributes={k: {"DataType": "String", "StringValue": v or "-"}
                               for k, v in attributes.items()})
    except (ClientError, BotoCoreError, IndexError) as dlq_err:
        log.warning("schedule %s: dead-letter queue %s unreachable: %s",
                    invocation.schedule_arn, arn, dlq_err)
        return False
    return True
