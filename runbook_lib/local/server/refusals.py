"""Refusals in AWS's own words, shaped for the protocol of the service that was called.

botocore and the AWS CLI parse errors per protocol: JSON services read ``__type``, query
services (SNS, SQS's old protocol, IAM, STS) an ``ErrorResponse`` XML document, S3 a bare
``Error`` document. A refusal in the wrong shape would surface as an unparseable response
instead of ``UnrecognizedClientException`` or ``SignatureDoesNotMatch``.
"""

from __future__ import annotations

import json
import uuid
from functools import lru_cache
from typing import Any
from xml.sax.saxutils import escape

from runbook_lib.local.server.wire import Response

# kind -> (JSON code, status), (query code, status), (S3 code, status)
_CODES: dict[str, tuple[tuple[str, int], tuple[str, int], tuple[str, int]]] = {
    "missing": (("MissingAuthenticationTokenException", 403), ("MissingAuthenticationToken", 403),
                ("AccessDenied", 403)),
    "unknown_key": (("UnrecognizedClientException", 400), ("InvalidClientTokenId", 403),
                    ("InvalidAccessKeyId", 403)),
    "mismatch": (("InvalidSignatureException", 400), ("SignatureDoesNotMatch", 403),
                 ("SignatureDoesNotMatch", 403)),
    "expired": (("InvalidSignatureException", 400), ("SignatureDoesNotMatch", 403),
                ("RequestTimeTooSkewed", 403)),
    "forbidden": (("AccessDeniedException", 403), ("AccessDenied", 403),
                  ("AccessDenied", 403)),
}


def refusal(kind: str, message: str, environ: dict[str, Any], service: str | None) -> Response:
    """AWS's error for ``kind`` in the shape of the called service's protocol."""
    json_code, query_code, s3_code = _CODES[kind]
    protocol = protocol_of(environ, service)
    code, status = (json_code if protocol in ("json", "rest-json")
                    else query_code if protocol in ("query", "ec2") else s3_code)
    return aws_error(code, message, status, protocol)


# Neither the project nor moto serves it. 501 and a code no SDK retries: the AWS CLI answers at
# once (a 500 would be retried four times, about 12 s, for the same answer).
NOT_EMULATED = ("NotImplemented", 501)
# moto crashed on this input. AWS says InternalFailure with 500, which every SDK retries; a crash
# of the emulator is deterministic, so the local AWS answers 501 and the retry never happens.
CRASHED = ("InternalFailure", 501)


def not_emulated(environ: dict[str, Any], service: str | None, operation: str | None,
                 whole_service: bool = False) -> Response:
    """The refusal for an operation, or a whole service, the local AWS does not emulate."""
    if whole_service:
        what = f"the service {service or '(unsigned)'}" + (f" ({operation})" if operation else "")
    else:
        what = f"the operation {service or '?'}:{operation or '(unrecognised request)'}"
    message = (f"The local AWS does not emulate {what}; only real AWS serves it. "
               "See 'What the local AWS emulates' in the README.")
    code, status = NOT_EMULATED
    return aws_error(code, message, status, protocol_of(environ, service))


def internal_failure(environ: dict[str, Any], service: str | None, operation: str | None,
                     detail: str) -> Response:
    """The answer when the emulator itself failed on a request (traceback in the server log)."""
    message = (f"The local AWS failed on {service or '?'}:{operation or '?'} ({detail[:200]}); "
               "the traceback is in the local AWS's log. This is a fault of the emulator, "
               "not of the request: retrying gives the same answer.")
    code, status = CRASHED
    return aws_error(code, message, status, protocol_of(environ, service))


def aws_error(code: str, message: str, status: int, protocol: str) -> Response:
    """An error document as the protocol's botocore parser reads it."""
    if protocol in ("json", "rest-json"):
        body = json.dumps({"__type": code, "message": message}).encode()
        return Response(status, [("Content-Type", "application/x-amz-json-1.1"),
                                 ("x-amzn-ErrorType", code),
                                 ("x-amzn-RequestId", _request_id()),
                                 ("Content-Length", str(len(body)))], body)
    if protocol in ("query", "ec2"):
        kind = "Receiver" if status >= 500 else "Sender"
        body = (f'<ErrorResponse><Error><Type>{kind}</Type><Code>{code}</Code>'
                f'<Message>{escape(message)}</Message></Error>'
                f'<RequestId>{_request_id()}</RequestId></ErrorResponse>').encode()
    else:
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
                f'<Message>{escape(message)}</Message>'
                f'<RequestId>{_request_id()}</RequestId></Error>').encode()
    return Response(status, [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))],
                    body)


def control_refusal(message: str, status: int = 403) -> Response:
    """The control API's own JSON error shape (``{"message": ...}``)."""
    body = json.dumps({"message": message}).encode()
    return Response(status, [("Content-Type", "application/json"),
                             ("Content-Length", str(len(body)))], body)


def protocol_of(environ: dict[str, Any], service: str | None) -> str:
    """The wire protocol of the request: from its shape, else from the signed service's model."""
    if environ.get("HTTP_X_AMZ_TARGET") or "amz-json" in environ.get("CONTENT_TYPE", ""):
        return "json"
    form = environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded")
    if form or "Action=" in environ.get("QUERY_STRING", ""):
        return "query"
    known = _model_protocol(service) if service else None
    if known and ("json" in known or "cbor" in known):
        return "json"
    return known or "rest-xml"


@lru_cache(maxsize=64)
def _model_protocol(service: str) -> str | None:
    import botocore.session
    from botocore.exceptions import UnknownServiceError

    try:
        # The protocol botocore really speaks (codebuild's model lists CBOR first, yet
        # botocore prefers JSON when both are offered).
        return botocore.session.get_session().get_service_model(service).resolved_protocol
    except (UnknownServiceError, KeyError, ValueError, AttributeError):
        return None


def _request_id() -> str:
    return str(uuid.uuid4())
