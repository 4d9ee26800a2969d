"""Shape chaos: answer the operating reads with as little as AWS's model allows, in any order.

With ``RUNBOOK_LOCAL_SHAPES=minimal``, responses of the reads an operator's notebooks make
(pipeline state, executions, action executions, builds, log events) keep only:

- the members botocore's output shape marks required;
- identifiers (names, ids, ARNs, tokens), statuses, kinds (``...Type``), timestamps, and a log
  event's ``message`` and ``timestamp``: what a run's record consists of;
- optional structures and lists only when they are the records the operation is about
  (:data:`RECORD_SHAPES`); every other optional structure, list and map (``sourceRevisions``,
  ``trigger``, a stage's ``latestExecution``, output variables, phase contexts, ...) is absent.

List results (executions, action executions, builds) come back shuffled inside each page, so
pagination stays valid. Setup reads and every mutation are untouched, and so are the local AWS's
own in-process calls: the suite can run whole under it. Tests use it to prove that the library
relies on no optional field and no list order.
"""

from __future__ import annotations

import functools
import json
import os
import random
import re
import zlib
from typing import Any

import botocore.session

ENV = "RUNBOOK_LOCAL_SHAPES"
MODES = ("", "minimal")
_DONE = "runbook.shapes"
_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[a-z0-9-]+/([a-z0-9-]+)/aws4_request")

# (signing name, operation) -> the list member shuffled within each page ('' for none)
OPERATIONS: dict[tuple[str, str], str] = {
    ("codepipeline", "GetPipelineState"): "",
    ("codepipeline", "GetPipelineExecution"): "",
    ("codepipeline", "ListPipelineExecutions"): "pipelineExecutionSummaries",
    ("codepipeline", "ListActionExecutions"): "actionExecutionDetails",
    ("codebuild", "BatchGetBuilds"): "builds",
    ("logs", "GetLogEvents"): "",
    ("logs", "FilterLogEvents"): "",
}
RECORD_SHAPES = frozenset({
    "StageState", "ActionState", "ActionExecution", "PipelineExecutionSummary",
    "PipelineExecution", "ActionExecutionDetail", "ActionExecutionInput",
    "ActionExecutionOutput", "ActionExecutionResult", "ActionTypeId",
    "Build", "BuildPhase", "LogsLocation", "OutputLogEvent", "FilteredLogEvent",
})
_IDENTIFIER = re.compile(r"(?:^|[a-z])(?:Id|Name|Arn|Token)$|^(?:id|arn|name|token)$")
_KEPT_SCALAR = re.compile(r"(?:^s|S)tatus$|Type$|^(?:message|timestamp)$")


def mode() -> str:
    """The mode asked for in the environment; an unknown value is refused loudly."""
    value = os.environ.get(ENV, "").strip().lower()
    if value not in MODES:
        raise ValueError(f"{ENV}={value!r}: use 'minimal' or leave it unset")
    return value


def applies(environ: dict[str, Any]) -> bool:
    """Whether this request's answer is reshaped: the mode is on, the caller is not the local
    AWS itself, and the operation is one of :data:`OPERATIONS`."""
    if environ.get(_DONE) or not mode() or environ.get("HTTP_X_RUNBOOK_INTERNAL"):
        return False
    return _operation(environ) in OPERATIONS


def reshape(app, environ: dict[str, Any], start_response) -> list[bytes]:
    """Call ``app`` for this request and answer with the minimal, shuffled body."""
    environ[_DONE] = True
    seen: dict[str, Any] = {}

    def keep_start(status: str, headers: list, exc_info=None):
        seen.update(status=status, headers=headers)
        return lambda _data: None

    body = b"".join(app(environ, keep_start))
    if seen.get("status", "").startswith("200"):
        service, operation = _operation(environ)
        body = minimal_body(service, operation, body)
    headers = [(k, v) for k, v in seen.get("headers", []) if k.lower() != "content-length"]
    start_response(seen.get("status", "500 Internal Server Error"),
                   headers + [("Content-Length", str(len(body)))])
    return [body]


def minimal_body(service: str, operation: str, body: bytes) -> bytes:
    """The JSON body reduced to its minimal shape, its list result shuffled."""
    data = json.loads(body or b"{}")
    output = _output_shape(service, operation)
    if output is not None:
        data = minimal(output, data)
    shuffled = OPERATIONS.get((service, operation))
    if shuffled and isinstance(data.get(shuffled), list):
        random.Random(zlib.crc32(body)).shuffle(data[shuffled])
    return json.dumps(data, separators=(",", ":")).encode()


def minimal(shape, value):
    """``value`` with every optional member the rules above do not keep removed."""
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        required = set(shape.required_members)
        return {name: minimal(shape.members[name], item) for name, item in value.items()
                if name in shape.members and (name in required or
                                              _kept(name, shape.members[name]))}
    if kind == "list" and isinstance(value, list):
        return [minimal(shape.member, item) for item in value]
    if kind == "map" and isinstance(value, dict):
        return {key: minimal(shape.value, item) for key, item in value.items()}
    return value


def _kept(name: str, shape) -> bool:
    kind = shape.type_name
    if kind == "list":
        return shape.member.type_name == "structure" and shape.member.name in RECORD_SHAPES
    if kind == "structure":
        return shape.name in RECORD_SHAPES
    if kind == "map":
        return False
    return bool(kind == "timestamp" or _IDENTIFIER.search(name) or _KEPT_SCALAR.search(name))


def _operation(environ: dict[str, Any]) -> tuple[str, str]:
    target = environ.get("HTTP_X_AMZ_TARGET") or ""
    scope = _SCOPE.search(environ.get("HTTP_AUTHORIZATION") or "")
    return (scope.group(1) if scope else "", target.rsplit(".", 1)[-1])


@functools.cache
def _output_shape(service: str, operation: str):
    model = _models().get_service_model(service)
    return model.operation_model(operation).output_shape


@functools.cache
def _models():
    return botocore.session.get_session()
