"""moto's server app, reached only through its public entry point and the wire protocol.

The dispatcher forwards requests here unchanged; extensions that need moto's state ask for it
with :meth:`MotoGateway.call`, a signed-looking JSON request through the same WSGI app that
boto3's requests reach. Nothing imports moto's models, so a moto upgrade cannot break the
extensions silently (``tests/local_aws/test_moto_boundary.py`` keeps it that way).
"""

from __future__ import annotations

import io
import json
from typing import Any

from moto.server import DomainDispatcherApplication, create_backend_app

from runbook_lib.local.wire import AwsError, Request, Response

# X-Amz-Target prefixes of the JSON-protocol services the extensions call.
JSON_TARGETS = {
    "codebuild": "CodeBuild_20161006",
    "codepipeline": "CodePipeline_20150709",
    "logs": "Logs_20140328",
    "events": "AWSEvents",
    "ssm": "AmazonSSM",
    "secretsmanager": "secretsmanager",
    "ecs": "AmazonEC2ContainerServiceV20141113",
}


class MotoGateway:
    """A WSGI app wrapping moto's domain dispatcher, plus internal wire calls into it."""

    def __init__(self) -> None:
        self.app = DomainDispatcherApplication(create_backend_app)

    def forward(self, environ: dict[str, Any], request: Request, start_response) -> Any:
        """Hand a request to moto with its body restored."""
        environ["wsgi.input"] = io.BytesIO(request.body)
        environ["CONTENT_LENGTH"] = str(len(request.body))
        return self.app(environ, start_response)

    def reset(self) -> None:
        """Clear moto's in-memory state through its public reset endpoint."""
        environ = _environ("s3", "", b"", "us-east-1")
        environ["PATH_INFO"] = "/moto-api/reset"
        environ.pop("HTTP_X_AMZ_TARGET")
        environ.pop("HTTP_AUTHORIZATION")
        chunks = self.app(environ, lambda status, headers, exc_info=None: None)
        b"".join(chunks)

    def call(self, service: str, operation: str, payload: dict[str, Any],
             region: str = "us-east-1") -> dict[str, Any]:
        """Call a JSON-protocol operation on moto; AWS errors come back as :class:`AwsError`."""
        response = self.raw_call(service, operation, payload, region)
        data = json.loads(response.body or b"{}")
        if response.status >= 400:
            code = data.get("__type", "InternalFailure").rsplit("#", 1)[-1]
            raise AwsError(code, data.get("message") or data.get("Message") or "", response.status)
        return data

    def raw_call(self, service: str, operation: str, payload: dict[str, Any],
                 region: str = "us-east-1") -> Response:
        body = json.dumps(payload).encode()
        environ = _environ(service, JSON_TARGETS[service] + "." + operation, body, region)
        captured: dict[str, Any] = {}

        def start_response(status: str, headers: list, exc_info=None):
            captured["status"] = int(status.split()[0])
            captured["headers"] = headers
            return lambda _data: None

        chunks = self.app(environ, start_response)
        try:
            data = b"".join(chunks)
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
        return Response(captured["status"], captured["headers"], data)


def _environ(service: str, target: str, body: bytes, region: str) -> dict[str, Any]:
    auth = (
        "AWS4-HMAC-SHA256 Credential=testing/20260101/"
        f"{region}/{service}/aws4_request, SignedHeaders=host;x-amz-target, Signature=0"
    )
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1",
        "CONTENT_TYPE": "application/x-amz-json-1.1",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_X_AMZ_TARGET": target,
        "HTTP_AUTHORIZATION": auth,
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
