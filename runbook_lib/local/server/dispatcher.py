"""The front WSGI app: routes each request to an extension or, by default, to moto.

Routing is by the SigV4 credential scope (service, region) and the operation named by
``X-Amz-Target`` or ``Action``. An extension registers the (service, operation) pairs it serves;
everything else goes to moto untouched.
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from runbook_lib.local.codebuild.batches import CodeBuildBatches
from runbook_lib.local.codebuild.builds import CodeBuildBuilds
from runbook_lib.local.codebuild.projects import CodeBuildProjects
from runbook_lib.local.codebuild.reports import CodeBuildReports
from runbook_lib.local.codepipeline.service import CodePipelineService
from runbook_lib.local.codepipeline.triggers import SourceTriggers
from runbook_lib.local.events.bus import EventBus
from runbook_lib.local.events.patterns import EventPatterns
from runbook_lib.local.logs.service import CloudWatchLogsFilter
from runbook_lib.local.s3.policies import S3BucketPolicies
from runbook_lib.local.scheduler.service import ScheduleRunner
from runbook_lib.local.server import control, shapes
from runbook_lib.local.server.client import PREFIX as CONTROL_PREFIX
from runbook_lib.local.server.context import Extension, Handler, LocalContext
from runbook_lib.local.server.internal import INTERNAL_HEADER, InternalAws
from runbook_lib.local.server.journal import Journal, is_mutating, should_journal
from runbook_lib.local.server.moto_gateway import MotoGateway
from runbook_lib.local.server.wire import AwsError, Request, Response, json_error, read_request

log = logging.getLogger("runbook.local")


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
        self.extensions: list[Extension] = []
        self.context = LocalContext(self.moto, InternalAws(self), self.state_dir)
        for factory in extensions:
            ext = factory(self.context)
            self.extensions.append(ext)
            self.context.extensions[type(ext).__name__] = ext
            self.routes.update(ext.routes())
        # Only what moto serves goes back into moto: an operation an extension serves now (a
        # journal written by an older version may hold some) is not replayed.
        self.journal.replay(self.moto.app, skip=set(self.routes))
        # Extensions that need to know what moto did (a deleted bucket, say).
        self._observers = [ext.after_forward for ext in self.extensions
                           if hasattr(ext, "after_forward")]
        for ext in self.extensions:
            start = getattr(ext, "start", None)
            if start:
                start()  # background work (engine, pollers) begins once every peer exists

    def __call__(self, environ: dict[str, Any], start_response) -> Any:
        if (environ.get("PATH_INFO") or "").startswith(CONTROL_PREFIX):
            return _send(start_response, control.handle(self, environ))
        if shapes.applies(environ):  # RUNBOOK_LOCAL_SHAPES=minimal: see shapes.py
            return shapes.reshape(self, environ, start_response)
        request = read_request(environ)
        self._count(request)
        handler = self.routes.get((request.service or "", request.operation or ""))
        if handler is None:
            return self._forward(environ, request, start_response)
        try:
            response = handler(request)
        except AwsError as err:
            response = err.response()
        except Exception as err:  # never crash the server: answer as AWS does
            log.error("%s.%s failed:\n%s", request.service, request.operation,
                      traceback.format_exc())
            response = json_error("InternalFailure", f"local AWS error: {err}", 500)
        return _send(start_response, response)

    def _count(self, request: Request) -> None:
        """Server-side call counts: a whole suite's mutations, across every kernel and CLI.

        The local AWS's own in-process calls (a build writing its log) are not counted."""
        if request.headers.get(INTERNAL_HEADER):
            return
        operation = request.operation or f"{request.method} {request.path.split('/')[1] or '/'}"
        with self._calls_lock:
            self.calls[(request.service or "?", operation, is_mutating(request))] += 1

    def call_counts(self, reset: bool = False) -> list[dict[str, Any]]:
        """Rows of service, operation, mutating, count; optionally cleared after reading."""
        with self._calls_lock:
            rows = [{"service": s, "operation": o, "mutating": m, "count": n}
                    for (s, o, m), n in sorted(self.calls.items())]
            if reset:
                self.calls.clear()
        return [] if reset else rows

    def _forward(self, environ: dict[str, Any], request: Request, start_response) -> Any:
        """To moto; successful mutations are journalled so a restart keeps them."""
        if not should_journal(request):
            return self.moto.forward(environ, request, start_response)
        seen: dict[str, int] = {}

        def recording_start_response(status: str, headers: list, exc_info=None):
            seen["status"] = int(status.split()[0])
            return start_response(status, headers, exc_info)

        body = b"".join(self.moto.forward(environ, request, recording_start_response))
        if seen.get("status", 500) < 400:
            self.journal.append(environ, request)
        for observe in self._observers:
            observe(request, seen.get("status", 500))
        return [body]


def _send(start_response, response: Response) -> list[bytes]:
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 500: "Internal Server Error"}
    start_response(f"{response.status} {reason.get(response.status, 'Status')}", response.headers)
    return [response.body]


def default_extensions() -> list[Callable[..., Extension]]:
    """Extensions the local AWS runs with, in routing order (later ones win)."""
    return [CodeBuildProjects, CodeBuildReports, CodeBuildBatches, CodeBuildBuilds,
            EventPatterns, EventBus, CodePipelineService, SourceTriggers, S3BucketPolicies,
            CloudWatchLogsFilter, ScheduleRunner]
