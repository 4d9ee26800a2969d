"""The front WSGI app: routes each request to an extension or, by default, to moto.

Routing is by the credential scope (service, region) the guard verified, and the operation
named by the signed ``X-Amz-Target`` or ``Action``: before anything reads the request, the
``Authorization`` header is replaced by one naming only the verified scope, so neither an
extension, moto's router nor the journal can be steered by an unchecked header. An extension
registers the (service, operation) pairs it serves; everything else goes to moto untouched.
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from runbook_lib.core.local_endpoint import CONTROL_PREFIX
from runbook_lib.local.codebuild.batches import CodeBuildBatches
from runbook_lib.local.codebuild.build_admin import CodeBuildBuildAdmin
from runbook_lib.local.codebuild.builds import CodeBuildBuilds
from runbook_lib.local.codebuild.project_admin import CodeBuildProjectAdmin
from runbook_lib.local.codebuild.projects import CodeBuildProjects
from runbook_lib.local.codebuild.report_admin import CodeBuildReportAdmin
from runbook_lib.local.codebuild.reports import CodeBuildReports
from runbook_lib.local.codebuild.webhooks import CodeBuildWebhooks
from runbook_lib.local.codepipeline.action_types import ActionTypes
from runbook_lib.local.codepipeline.jobs_api import JobsApi
from runbook_lib.local.codepipeline.revisions_api import RevisionsApi
from runbook_lib.local.codepipeline.service import CodePipelineService
from runbook_lib.local.codepipeline.triggers import SourceTriggers
from runbook_lib.local.codepipeline.webhooks import Webhooks
from runbook_lib.local.events.bus import EventBus
from runbook_lib.local.events.patterns import EventPatterns
from runbook_lib.local.firehose.delivery import FirehoseDelivery
from runbook_lib.local.logs.events import CloudWatchLogEvents
from runbook_lib.local.logs.service import CloudWatchLogsFilter
from runbook_lib.local.s3.policies import S3BucketPolicies
from runbook_lib.local.scheduler.service import ScheduleRunner
from runbook_lib.local.server import build_credentials, control, moto_inputs, refusals, shapes
from runbook_lib.local.server.context import Extension, Handler, LocalContext
from runbook_lib.local.server.internal import INTERNAL_HEADER, InternalAws
from runbook_lib.local.server.journal import (
    Journal,
    JournalWriteError,
    is_mutating,
    should_journal,
)
from runbook_lib.local.server.moto_gateway import MotoGateway
from runbook_lib.local.server.operations import rest_operation
from runbook_lib.local.server.refusals import protocol_of
from runbook_lib.local.server.sigv4 import (
    VERIFIED_SCOPE,
    VerifiedScope,
    without_presign_parameters,
)
from runbook_lib.local.server.store import StoreWriteError
from runbook_lib.local.server.wire import (
    AwsError,
    Request,
    Response,
    json_error,
    read_request,
    send,
)

log = logging.getLogger("runbook.local")
_DIVERTED = (("logs", "PutLogEvents"),)


class LocalAwsApp:
    """WSGI application of the embedded local AWS."""

    def __init__(self, state_dir: Path, extensions: Iterable[Callable[..., Extension]] = ()):
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.moto = MotoGateway()
        self.moto.reset()  # moto's state is per process: start clean, then replay
        self.journal = Journal(self.state_dir)
        self.calls: Counter = Counter()
        self._calls_lock = threading.Lock()
        self.routes: dict[tuple[str, str], Handler] = {}
        self.paths: dict[str, Callable[..., Response]] = {}  # unsigned URLs (webhooks)
        self.extensions: list[Extension] = []
        self.context = LocalContext(self.moto, InternalAws(self), self.state_dir)
        for factory in extensions:
            ext = factory(self.context)
            self.extensions.append(ext)
            self.context.peers.add(ext)
            self.routes.update(ext.routes())
            self.paths.update(getattr(ext, "paths", dict)())
        # Only what moto serves goes back into moto: an operation an extension serves now (a
        # journal written by an older version may hold some) is not replayed.
        # Log events an older version journalled move to the log store, out of the journal.
        divert = {op: self.routes[op] for op in _DIVERTED if op in self.routes}
        self.journal.replay(self.moto.app, skip=set(self.routes), divert=divert)
        # Extensions that need to know what moto did (a deleted bucket, say).
        self._observers = [ext.after_forward for ext in self.extensions
                           if hasattr(ext, "after_forward")]
        for ext in self.extensions:
            start = getattr(ext, "start", None)
            if start:
                start()  # background work (engine, pollers) begins once every peer exists

    def __call__(self, environ: dict[str, Any], start_response) -> Any:
        if (environ.get("PATH_INFO") or "").startswith(CONTROL_PREFIX):
            return send(start_response, control.handle(self, environ))
        scope = environ.get(VERIFIED_SCOPE)
        if scope is not None:  # over HTTP: route by what the signature covered, nothing else
            environ["HTTP_AUTHORIZATION"] = scope.routing_authorization()
            if scope.presigned:
                environ["QUERY_STRING"] = without_presign_parameters(
                    environ.get("QUERY_STRING", ""))
        if shapes.applies(environ):  # RUNBOOK_LOCAL_SHAPES=minimal: see shapes.py
            return shapes.reshape(self, environ, start_response)
        request = read_request(environ)
        self._count(request, scope)
        serve_path = self.paths.get(request.path)  # it authenticates requests itself (guard)
        handler = self.routes.get((request.service or "", request.operation or ""))
        if handler is None and serve_path is None:
            return self._forward(environ, request, start_response)
        try:
            if serve_path is not None:
                response = serve_path(request, environ)
            else:
                assert handler is not None  # neither: forwarded to moto above
                response = handler(request)
        except StoreWriteError as err:
            log.error("%s", err.message)
            response = unavailable(environ, request.service, err.message)
        except AwsError as err:
            response = err.response()
        except Exception as err:  # never crash the server: answer as AWS does
            log.error("%s.%s failed:\n%s", request.service, request.operation,
                      traceback.format_exc())
            response = refusals.internal_failure(environ, request.service, request.operation,
                                                 f"{type(err).__name__}: {err}")
        return send(start_response, response)

    def _count(self, request: Request, scope: VerifiedScope | None) -> None:
        """Server-side call counts: a whole suite's mutations, across every kernel and CLI, by
        operation (a REST request named from its service model, as AWS's API reference names
        it) and caller (the operator, or temporary credentials: a build's role). The local
        AWS's own in-process calls (a build writing its log) are not counted."""
        if request.headers.get(INTERNAL_HEADER):
            return
        caller = ("temporary" if scope is not None and scope.access_key_id.startswith(
            build_credentials.ACCESS_KEY_PREFIX) else "operator")
        operation = (request.operation or rest_operation(
            moto_inputs.model_service(request), request.method, request.path, request.query,
            request.headers) or f"{request.method} {request.path.split('/')[1] or '/'}")
        with self._calls_lock:
            self.calls[(request.service or "?", operation, is_mutating(request), caller)] += 1

    def call_counts(self, reset: bool = False) -> list[dict[str, Any]]:
        """Rows of service, operation, mutating, caller, count; optionally cleared after
        reading."""
        with self._calls_lock:
            rows = [{"service": s, "operation": o, "mutating": m, "caller": c, "count": n}
                    for (s, o, m, c), n in sorted(self.calls.items())]
            if reset:
                self.calls.clear()
        return [] if reset else rows

    def _forward(self, environ: dict[str, Any], request: Request, start_response) -> Any:
        """To moto; a mutation is journalled first and acknowledged only once on disk."""
        moto_inputs.prepare(environ, request)  # journal what moto is given
        if not should_journal(request):
            return self.moto.forward(environ, request, start_response)
        seen: dict[str, Any] = {}
        written: list[bytes] = []

        def recording_start_response(status: str, headers: list, exc_info=None):
            seen.update(status=int(status.split()[0]), line=status, headers=headers)
            return written.append

        try:
            with self.journal.pending(environ, request) as entry:
                chunks = self.moto.forward(environ, request, recording_start_response)
                body = b"".join([*written, *chunks])
                if seen.get("status", 500) < 400:
                    entry.keep()
        except JournalWriteError as err:
            log.error("%s", err.strerror)
            return send(start_response,
                         unavailable(environ, request.service, err.strerror or str(err)))
        start_response(seen["line"], seen["headers"])
        for observe in self._observers:
            observe(request, seen.get("status", 500))
        return [body]


def unavailable(environ: dict[str, Any], service: str | None, message: str) -> Response:
    """AWS's ServiceUnavailable (503) in the called service's protocol: a state write failed
    and nothing was changed, so the caller may retry."""
    code = "ServiceUnavailable"
    if protocol_of(environ, service) in ("json", "rest-json"):
        return json_error(code, message, 503)
    body = (f"<ErrorResponse><Error><Type>Receiver</Type><Code>{code}</Code><Message>"
            f"{escape(message)}</Message></Error></ErrorResponse>")
    if protocol_of(environ, service) not in ("query", "ec2"):  # S3: a bare Error document
        body = f"<Error><Code>{code}</Code><Message>{escape(message)}</Message></Error>"
    return Response(503, [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))],
                    body.encode())




def default_extensions() -> list[Callable[..., Extension]]:
    """Extensions the local AWS runs with, in routing order (later ones win)."""
    return [CodeBuildProjects, CodeBuildReports, CodeBuildBatches, CodeBuildBuilds,
            EventPatterns, EventBus, CodePipelineService, SourceTriggers, S3BucketPolicies,
            CloudWatchLogEvents, CloudWatchLogsFilter, FirehoseDelivery, ActionTypes, JobsApi,
            RevisionsApi, Webhooks, CodeBuildProjectAdmin, CodeBuildReportAdmin, ScheduleRunner,
            CodeBuildBuildAdmin, CodeBuildWebhooks]
