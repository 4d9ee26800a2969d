"""The AWS wire protocol as the dispatcher sees it: who is called, and how to answer.

Only what the dispatcher needs: identify (service, operation, region) from a signed request,
and write JSON-protocol responses and errors the way AWS does, so that botocore and the AWS CLI
raise ``ClientError`` with AWS's own error codes.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs

_SCOPE_RE = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request")


@dataclass
class Request:
    """A request read off the wire: body kept so it can be forwarded unchanged."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    service: str | None
    operation: str | None
    region: str

    def json(self) -> dict[str, Any]:
        return json.loads(self.body or b"{}")


def read_request(environ: dict[str, Any]) -> Request:
    """Read a WSGI environ once; the body is kept for forwarding."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(length) if length else b""
    headers = {
        key[5:].replace("_", "-").lower(): value
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = environ["CONTENT_TYPE"]
    service, region = None, "us-east-1"
    match = _SCOPE_RE.search(headers.get("authorization", ""))
    if match:
        region, service = match.group(1), match.group(2)
    operation = None
    target = headers.get("x-amz-target")
    if target:
        operation = target.rsplit(".", 1)[-1]
    elif headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        operation = (parse_qs(body.decode("utf-8", "replace")).get("Action") or [None])[0]
    if operation is None and environ.get("QUERY_STRING"):
        operation = (parse_qs(environ["QUERY_STRING"]).get("Action") or [None])[0]
    if operation is None and service == "s3":
        operation = _s3_bucket_operation(environ)
    return Request(
        method=environ.get("REQUEST_METHOD", "GET"),
        path=environ.get("PATH_INFO", "/"),
        query=environ.get("QUERY_STRING", ""),
        headers=headers,
        body=body,
        service=service,
        operation=operation,
        region=region,
    )


# The S3 bucket-level REST operations the local AWS serves or observes, by method and subresource.
_S3_BUCKET_OPERATIONS = {
    ("PUT", "policy"): "PutBucketPolicy",
    ("GET", "policy"): "GetBucketPolicy",
    ("DELETE", "policy"): "DeleteBucketPolicy",
    ("GET", "policyStatus"): "GetBucketPolicyStatus",
    ("DELETE", ""): "DeleteBucket",
}


def _s3_bucket_operation(environ: dict[str, Any]) -> str | None:
    """Name a path-style S3 bucket request (``/bucket?policy``); None for anything else."""
    parts = [p for p in (environ.get("PATH_INFO") or "/").split("/") if p]
    if len(parts) != 1:
        return None
    query = parse_qs(environ.get("QUERY_STRING") or "", keep_blank_values=True)
    sub = next(iter(query), "")
    return _S3_BUCKET_OPERATIONS.get((environ.get("REQUEST_METHOD", "GET"), sub))


def s3_bucket_name(request: Request) -> str:
    return request.path.strip("/").split("/")[0]


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def make_environ(method: str, path: str, query: str, headers: Mapping[str, str], body: bytes,
                 raw_uri: str | None = None) -> dict[str, Any]:
    """A WSGI environ for an in-process request (internal calls, journal replay, moto)."""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "RAW_URI": raw_uri or (path + (f"?{query}" if query else "")),
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in headers.items():
        key = name.lower()
        if key == "content-type":
            environ["CONTENT_TYPE"] = value
        elif key != "content-length":
            environ["HTTP_" + key.upper().replace("-", "_")] = value
    environ.setdefault("HTTP_HOST", "127.0.0.1")
    return environ


def call_wsgi(app, environ: dict[str, Any]) -> Response:
    """Run a WSGI app on ``environ`` in process and collect its whole response."""
    captured: dict[str, Any] = {"status": 500, "headers": []}

    def start_response(status: str, headers: list, exc_info=None):
        captured["status"] = int(status.split()[0])
        captured["headers"] = headers
        return lambda _data: None

    chunks = app(environ, start_response)
    try:
        data = b"".join(chunks)
    finally:
        if hasattr(chunks, "close"):
            chunks.close()
    return Response(captured["status"], captured["headers"], data)


def status_line(status: int) -> str:
    """The WSGI status line of a status code: ``"404 Not Found"``."""
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:  # a code HTTP does not name
        return f"{status} Unknown"


def send(start_response, response: Response) -> list[bytes]:
    """Answer a WSGI call with ``response``."""
    start_response(status_line(response.status), response.headers)
    return [response.body]


def json_response(payload: dict[str, Any], status: int = 200) -> Response:
    body = json.dumps(payload, default=_json_default).encode()
    return Response(status, [("Content-Type", "application/x-amz-json-1.1"),
                             ("Content-Length", str(len(body)))], body)


def json_error(code: str, message: str, status: int = 400) -> Response:
    body = json.dumps({"__type": code, "message": message}).encode()
    return Response(status, [("Content-Type", "application/x-amz-json-1.1"),
                             ("x-amzn-ErrorType", code),
                             ("Content-Length", str(len(body)))], body)


class AwsError(Exception):
    """An error to answer in AWS's words: the code is AWS's own, as botocore expects it."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status

    def response(self) -> Response:
        return json_error(self.code, self.message, self.status)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(f"cannot serialise {type(value).__name__}")
