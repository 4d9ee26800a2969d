"""The local AWS's own small control API under ``/_runbook/``, beside the AWS wire protocol.

    GET    /_runbook/health     is it up, and its state folder (open: no credentials needed)
    GET    /_runbook/calls      server-side call counts (DELETE clears them)
    GET    /_runbook/info       state folder, endpoint, what was recovered at start
    GET    /_runbook/repos      registered git repositories
    POST   /_runbook/repos      {"id": "OWNER/NAME", "path": "/abs/path"} registers one

Clients (a notebook kernel, a test) reach the server by its endpoint alone, without knowing
its state folder; this is how they register the sample repository with the server they use.
Every path but ``health`` needs the bearer token derived from the state folder's credentials
(see :mod:`guard` and :mod:`auth`); health names the state folder so that a client of the same
user can read those credentials from it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runbook_lib.local.server.wire import Response

if TYPE_CHECKING:
    from runbook_lib.local.server.dispatcher import LocalAwsApp

PREFIX = "/_runbook/"
HEALTH_PATH = PREFIX + "health"
CALLS_PATH = PREFIX + "calls"
INFO_PATH = PREFIX + "info"
REPOS_PATH = PREFIX + "repos"


def handle(app: LocalAwsApp, environ: dict[str, Any]) -> Response:
    path, method = environ.get("PATH_INFO"), environ.get("REQUEST_METHOD", "GET")
    if path == HEALTH_PATH:
        return _json({"status": "ok", "state_dir": str(app.state_dir)})
    if path == CALLS_PATH:
        return _json({"calls": app.call_counts(reset=method == "DELETE")})
    if path == INFO_PATH:
        return _json({"state_dir": str(app.state_dir), "endpoint_url": app.context.endpoint_url,
                      "recovered": app.journal.recovery_note()})
    if path == REPOS_PATH:
        return _repos(app, environ, method)
    return _json({"message": f"no such control path {path}"}, 404)


def _repos(app: LocalAwsApp, environ: dict[str, Any], method: str) -> Response:
    from runbook_lib.local.codepipeline.repos import RepoRegistry, RepositoryError

    registry = RepoRegistry(app.state_dir)
    if method == "POST":
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = json.loads(environ["wsgi.input"].read(length) or b"{}")
            entry, replaced = registry.add(body.get("id", ""), Path(body.get("path", "")))
        except (ValueError, RepositoryError) as err:
            return _json({"message": str(err)}, 400)
        return _json({"id": entry.repo_id, "path": entry.path, "replaced": replaced})
    return _json({"repositories": [{"id": r.repo_id, "path": r.path} for r in registry.all()]})


def _json(payload: dict, status: int = 200) -> Response:
    return Response(status, [("Content-Type", "application/json")], json.dumps(payload).encode())
