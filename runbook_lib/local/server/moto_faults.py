"""What moto cannot answer, answered in AWS's words: never an HTML page, never a retried 500.

moto answers an operation it lacks by raising ``NotImplementedError``, a service it lacks or a
REST route it does not know with a crash or Flask's HTML 404/405, and a crash on odd input (an
unknown multipart upload id, say) with Flask's HTML "500 Internal Server Error". botocore
cannot parse those pages for query and REST-XML services, and retries every 500: the AWS CLI
spent about 12 s before printing HTML. Here every such answer becomes, in the called service's
protocol, either ``NotImplemented`` (the local AWS does not emulate it) or ``InternalFailure``
(moto crashed; the traceback goes to the local AWS's log), both with status 501, which no SDK
retries.

One destructive moto bug is guarded before moto sees the request: a ``DELETE /bucket?sub``
whose subresource moto does not know falls through to DeleteBucket and deletes an empty bucket.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import threading
import traceback
from typing import Any
from urllib.parse import parse_qs, unquote

import botocore.session
from flask import got_request_exception

from runbook_lib.local.server import moto_inputs
from runbook_lib.local.server.operations import rest_operation
from runbook_lib.local.server.refusals import (
    aws_error,
    internal_failure,
    not_emulated,
    protocol_of,
)
from runbook_lib.local.server.wire import Request, Response, call_wsgi, send

log = logging.getLogger("runbook.local")

# The bucket subresources moto's DELETE handler knows; any other one would delete the bucket.
MOTO_BUCKET_DELETE_SUBRESOURCES = frozenset({
    "policy", "tagging", "website", "cors", "lifecycle", "publicAccessBlock", "encryption",
    "replication", "ownershipControls"})

_seen = threading.local()
# Signing names moto has no backend for, learnt from its first failure: refused at once after.
_unknown_services: set[str] = set()


def _record(sender: Any, exception: BaseException, **_extra: Any) -> None:
    """Flask's signal for an unhandled exception in one of moto's apps, in this thread."""
    _seen.error = (exception, traceback.format_exc())


got_request_exception.connect(_record)


def answer(app, environ: dict[str, Any], request: Request, start_response) -> list[bytes]:
    """Call moto's WSGI ``app``; what it cannot answer comes back as an AWS error."""
    refused = _early(environ, request)
    if refused is not None:
        return send(start_response, refused)
    _seen.error = None
    try:
        answered = call_wsgi(app, environ)
    except Exception as err:  # moto raised out of its dispatcher (a service it lacks)
        return send(start_response, _classify(environ, request, err, traceback.format_exc()))
    status, body = answered.status, answered.body
    # An HTML page with an error status is moto's (werkzeug's) error page; a 200 may be an
    # object that is HTML (a report in S3).
    if (status >= 400 and _is_html(body)) or (status >= 500 and _seen.error is not None):
        error, trace = _seen.error or (None, "")
        _seen.error = None
        return send(start_response, _classify(environ, request, error, trace, status))
    return send(start_response, answered)


def _early(environ: dict[str, Any], request: Request) -> Response | None:
    """The answer given before moto sees the request, if any: a destructive bug guarded, an
    input moto would crash on (:mod:`moto_inputs`, which may rewrite it instead), a service
    moto already showed it lacks."""
    refused = _destructive(environ, request)
    if refused is not None:
        return refused
    operation = request.operation or rest_operation(
        moto_inputs.model_service(request), request.method, request.path, request.query,
        request.headers)
    early = moto_inputs.before(environ, request, operation)
    if isinstance(early, moto_inputs.Rewrite):
        moto_inputs.apply(environ, request, early)
    elif early is not None:
        return early
    if request.service in _unknown_services:
        return not_emulated(environ, request.service, operation, whole_service=True)
    return None


def _classify(environ: dict[str, Any], request: Request, err: BaseException | None,
              trace: str, status: int = 500) -> Response:
    """Not emulated (an unknown operation, service or route) or a crash of moto."""
    operation = request.operation or rest_operation(
        request.service, request.method, request.path, request.query, request.headers)
    if isinstance(err, NotImplementedError) or (err is None and status in (404, 405)):
        log.info("not emulated: %s %s (%s %s)", request.service, operation, request.method,
                 request.path[:200])
        return not_emulated(environ, request.service, operation)
    if err is not None and _unknown_service(err, trace):
        _unknown_services.add(request.service or "")
        return not_emulated(environ, request.service, operation, whole_service=True)
    answered = moto_inputs.after_crash(environ, request, operation, err)
    if answered is not None:
        log.info("moto raised %s on %s.%s: answered as AWS does", type(err).__name__,
                 request.service, operation)
        return answered
    known = _known_error(request, operation, err)
    if known is not None:
        log.info("moto raised %s on %s.%s: answered %s", type(err).__name__, request.service,
                 operation, known[0])
        return aws_error(known[0], known[1], known[2], protocol_of(environ, request.service))
    log.error("moto failed on %s.%s (%s %s):\n%s", request.service, operation, request.method,
              request.path[:200], trace or "(no traceback: moto answered an HTML error page)")
    detail = f"{type(err).__name__}: {err}" if err is not None else f"HTTP {status}"
    return internal_failure(environ, request.service, operation, detail)


def _known_error(request: Request, operation: str | None,
                 err: BaseException | None) -> tuple[str, str, int] | None:
    """AWS's answer where moto's crash says plainly what AWS would have answered.

    - S3 could not parse the request's XML (moto raises ExpatError): ``MalformedXML``;
    - moto looked up an identifier the request gave and it was not there (a KeyError on that
      very value): the operation's own not-found error from botocore's model (NoSuchUpload for
      a multipart upload id). Anything else stays an InternalFailure."""
    if request.service == "s3" and type(err).__name__ == "ExpatError":
        return ("MalformedXML", "The XML you provided was not well-formed or did not validate "
                "against our published schema", 400)
    if not isinstance(err, KeyError) or not err.args or not isinstance(err.args[0], str):
        return None
    value = err.args[0]
    if value not in _given_values(request):
        return None
    if request.service == "s3" and "uploadId" in parse_qs(request.query):
        return ("NoSuchUpload", "The specified multipart upload does not exist. The upload ID "
                "may be invalid, or the upload may have been aborted or completed.", 404)
    code = _not_found_code(request.service, operation)
    return (code, f"{value} was not found", 400) if code else None


def _given_values(request: Request) -> set[str]:
    """Every value the request gave: path segments, query and form values, JSON strings."""
    values = {unquote(part) for part in request.path.split("/") if part}
    for source in (request.query, request.body.decode("utf-8", "replace")):
        values.update(v for vs in parse_qs(source).values() for v in vs)
    try:
        document = json.loads(request.body or b"null")
    except ValueError:
        return values
    stack = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            values.add(item)
    return values


@functools.cache
def _not_found_code(service: str | None, operation: str | None) -> str | None:
    """The operation's not-found error: the one naming what the operation is about, else the
    only one, else ResourceNotFoundException when the model lists it."""
    try:
        model = botocore.session.get_session().get_service_model(service or "")
        errors = [e.name for e in model.operation_model(operation or "").error_shapes]
    except Exception:  # an unknown service or operation: no model to read
        return None
    found = [e for e in errors if re.search(r"NotFound|NoSuch|DoesNotExist", e)]
    specific = [e for e in found if re.split(r"NotFound|DoesNotExist", e)[0] in (operation or "")]
    if specific:
        return specific[0]
    if len(found) == 1:
        return found[0]
    return "ResourceNotFoundException" if "ResourceNotFoundException" in found else None


def _unknown_service(err: BaseException, trace: str) -> bool:
    """moto has no backend for the signed service: it fails creating an app for ``None``."""
    return "create_app" in trace and "get_application" in trace


def _destructive(environ: dict[str, Any], request: Request) -> Response | None:
    """Refuse a bucket DELETE whose subresource moto would take for DeleteBucket, and
    CreateSession (S3 Express), whose answer from moto lacks the credentials AWS returns."""
    if request.service != "s3":
        return None
    if request.method == "GET" and "session" in parse_qs(request.query, keep_blank_values=True):
        return not_emulated(environ, "s3", "CreateSession")
    if request.method != "DELETE":
        return None
    if len([p for p in request.path.split("/") if p]) != 1 or not request.query:
        return None
    keys = set(parse_qs(request.query, keep_blank_values=True)) - {"x-id"}
    if not keys or keys & MOTO_BUCKET_DELETE_SUBRESOURCES:
        return None
    operation = rest_operation("s3", "DELETE", request.path, request.query, request.headers)
    return not_emulated(environ, "s3", operation or f"DELETE ?{sorted(keys)[0]}")


def _is_html(body: bytes) -> bool:
    """An HTML page (Flask's error pages); moto labels JSON answers text/html too, so the body
    is what tells."""
    return body.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html"))
