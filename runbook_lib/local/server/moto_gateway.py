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

from runbook_lib.local.server import moto_faults
from runbook_lib.local.server.wire import AwsError, Request, Response, call_wsgi, make_environ

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


# Distinct hosts whose backend the dispatcher remembers: one per service and region in use; a
# bound, since an unsigned request's host is the client's to choose.
_REMEMBERED_HOSTS = 512


class _RememberingDispatcher(DomainDispatcherApplication):
    """moto's domain dispatcher, remembering which backend answers a host.

    moto finds the backend for every request by listing its package folder (a ``stat`` per
    service) and then trying every service's URL patterns: a tenth of the local AWS's CPU,
    for an answer that never changes while the process lives.
    """

    def __init__(self, create_app: Any) -> None:
        super().__init__(create_app)
        self._backend_by_host: dict[str, Any] = {}

    def get_backend_for_host(self, host: str | None) -> Any:
        if host is None:  # "try the request's headers next": nothing to remember
            return None
        try:
            return self._backend_by_host[host]
        except KeyError:
            backend = super().get_backend_for_host(host)
        if backend is not None and len(self._backend_by_host) < _REMEMBERED_HOSTS:
            self._backend_by_host[host] = backend
        return backend


class MotoGateway:
    """A WSGI app wrapping moto's domain dispatcher, plus internal wire calls into it."""

    def __init__(self) -> None:
        self.app = _RememberingDispatcher(create_backend_app)

    def forward(self, environ: dict[str, Any], request: Request, start_response) -> Any:
        """Hand a request to moto with its body restored; what moto cannot answer comes back
        as an AWS error in the service's protocol (:mod:`moto_faults`)."""
        environ["wsgi.input"] = io.BytesIO(request.body)
        environ["CONTENT_LENGTH"] = str(len(request.body))
        return moto_faults.answer(self.app, environ, request, start_response)

    def reset(self) -> None:
        """Clear moto's in-memory state through its public reset endpoint."""
        call_wsgi(self.app, make_environ("POST", "/moto-api/reset", "", {}, b""))

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
        headers = {
            "content-type": "application/x-amz-json-1.1",
            "x-amz-target": JSON_TARGETS[service] + "." + operation,
            "authorization": ("AWS4-HMAC-SHA256 Credential=testing/20260101/"
                              f"{region}/{service}/aws4_request, SignedHeaders=host;x-amz-target, "
                              "Signature=0"),
        }
        return call_wsgi(self.app, make_environ("POST", "/", "", headers, body))
