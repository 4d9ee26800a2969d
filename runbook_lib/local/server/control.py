"""The local AWS's own small control API under ``/_runbook/``, beside the AWS wire protocol.

The paths and their client are in :mod:`runbook_lib.local.server.client`.

Clients (a notebook kernel, a test) reach the server by its endpoint alone, without knowing
its state folder; this is how they register the sample repository with the server they use.
Every path but ``health`` needs the bearer token derived from the state folder's credentials
(see :mod:`guard` and :mod:`runbook_lib.core.local_credentials`); health names the state
folder so that a client of the same user can read those credentials from it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from runbook_lib.core.local_endpoint import HEALTH_PATH
from runbook_lib.local import clock
from runbook_lib.local.server import build_credentials
from runbook_lib.local.server.client import CALLS_PATH, INFO_PATH, REPOS_PATH
from runbook_lib.local.server.store import StoreWriteError
from runbook_lib.local.server.wire import Response

if TYPE_CHECKING:
    from runbook_lib.local.server.context import LocalContext
    from runbook_lib.local.server.journal import Journal


class ControlledApp(Protocol):
    """What the control API reads of the server it belongs to (the dispatcher's
    ``LocalAwsApp``), named here so that this module need not import the dispatcher."""

    state_dir: Path
    context: LocalContext
    journal: Journal

    def call_counts(self, reset: bool = False) -> list[dict[str, Any]]: ...


def handle(app: ControlledApp, environ: dict[str, Any]) -> Response:
    path, method = environ.get("PATH_INFO") or "", environ.get("REQUEST_METHOD", "GET")
    if path == HEALTH_PATH:
        return _json({"status": "ok", "state_dir": str(app.state_dir)})
    if path == CALLS_PATH:
        return _json({"calls": app.call_counts(reset=method == "DELETE")})
    if path == INFO_PATH:
        return _json({"state_dir": str(app.state_dir), "endpoint_url": app.context.endpoint_url,
                      "recovered": app.journal.recovery_note(),
                      "time_factor": clock.time_factor()})
    if path == REPOS_PATH:
        return _repos(app, environ, method)
    if path.startswith(build_credentials.PATH_PREFIX):
        return build_credentials.serve(environ)
    return _json({"message": f"no such control path {path}"}, 404)


def _repos(app: ControlledApp, environ: dict[str, Any], method: str) -> Response:
    from runbook_lib.local.codepipeline.repos import RepoRegistry, RepositoryError

    registry = RepoRegistry(app.state_dir)
    if method == "POST":
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = json.loads(environ["wsgi.input"].read(length) or b"{}")
            entry, replaced = registry.add(body.get("id", ""), Path(body.get("path", "")))
        except (ValueError, RepositoryError) as err:
            return _json({"message": str(err)}, 400)
        except StoreWriteError as err:  # a full disk: nothing registered, retry after freeing
            return _json({"code": err.code, "message": err.message}, err.status)
        return _json({"id": entry.repo_id, "path": entry.path, "replaced": replaced})
    return _json({"repositories": [{"id": r.repo_id, "path": r.path} for r in registry.all()]})


def _json(payload: dict, status: int = 200) -> Response:
    return Response(status, [("Content-Type", "application/json")], json.dumps(payload).encode())
