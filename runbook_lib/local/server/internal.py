"""boto3 clients whose HTTP goes in-process to the local AWS itself.

Extensions (the pipeline engine, the build runner, event delivery) need other services: write a
log line, put an artifact, publish to SNS, start a build. They use real boto3 clients, so every
protocol (JSON, query, REST-XML) is serialised and parsed by botocore exactly as for an operator,
but the request is handed to the dispatcher in process instead of crossing a socket. Going
through the dispatcher (not straight to moto) keeps one path for everything: extensions answer
their own operations, moto's mutations are journalled and survive a restart.
"""

from __future__ import annotations

import io
import threading
from typing import Any
from urllib.parse import unquote, urlsplit

import boto3
from botocore.awsrequest import AWSResponse
from botocore.config import Config

from runbook_lib.local.server.wire import call_wsgi, make_environ

INTERNAL_HOST = "127.0.0.1"  # what moto expects of a path-style local endpoint; no socket opens
INTERNAL_HEADER = "x-runbook-internal"

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 1}, s3={"addressing_style": "path"},
                 connect_timeout=5, read_timeout=300)


class _Raw:
    """The minimal raw body botocore reads: ``stream()`` for parsing, ``read()`` for streams."""

    def __init__(self, data: bytes) -> None:
        self._buffer = io.BytesIO(data)

    def stream(self, **_kwargs):
        yield self._buffer.read()

    def read(self, amt: int | None = None) -> bytes:
        return self._buffer.read() if amt is None else self._buffer.read(amt)

    def close(self) -> None:
        self._buffer.close()


class InternalAws:
    """Clients for the local AWS's own use; thread-safe, cached per (service, region)."""

    def __init__(self, app) -> None:
        self.app = app
        self._session = boto3.session.Session(aws_access_key_id="testing",
                                              aws_secret_access_key="testing")
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def client(self, service: str, region: str = "us-east-1"):
        with self._lock:
            key = (service, region)
            if key not in self._clients:
                client = self._session.client(service, region_name=region, config=_CONFIG,
                                              endpoint_url=f"http://{INTERNAL_HOST}")
                client.meta.events.register("before-send", self._send)
                self._clients[key] = client
            return self._clients[key]

    def _send(self, request, **_kwargs) -> AWSResponse:
        """Hand a prepared request to the dispatcher; return what botocore expects back."""
        url = urlsplit(request.url)
        body = request.body or b""
        if hasattr(body, "read"):
            body = body.read()
        if isinstance(body, str):
            body = body.encode()
        headers = {name: value.decode() if isinstance(value, bytes) else value
                   for name, value in request.headers.items()}
        headers[INTERNAL_HEADER] = "1"
        environ = make_environ(request.method, unquote(url.path or "/"), url.query,
                               headers, body)
        response = call_wsgi(self.app, environ)
        return AWSResponse(request.url, response.status, dict(response.headers),
                           _Raw(response.body))

