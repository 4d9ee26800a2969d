"""The client of the local AWS's control API: call counts, server info, registered git
repositories. A leaf: operating functions and commands import it without pulling in the server.
Where a local AWS runs and its key pair are in :mod:`runbook_lib.core.local_endpoint` and
:mod:`runbook_lib.core.local_credentials`.

    GET    /_runbook/health     is it up, and its state folder (open: no credentials needed)
    GET    /_runbook/calls      server-side call counts (DELETE clears them)
    GET    /_runbook/info       state folder, endpoint, what was recovered at start

Every path but health needs ``Authorization: Bearer TOKEN`` (see :mod:`guard`).
    GET    /_runbook/repos      registered git repositories
    POST   /_runbook/repos      {"id": "OWNER/NAME", "path": "/abs/path"} registers one
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

from runbook_lib.core.errors import LocalAwsError
from runbook_lib.core.local_credentials import credentials_for_endpoint
from runbook_lib.core.local_endpoint import CONTROL_PREFIX

CALLS_PATH = CONTROL_PREFIX + "calls"
INFO_PATH = CONTROL_PREFIX + "info"
REPOS_PATH = CONTROL_PREFIX + "repos"


def fetch_calls(endpoint_url: str, reset: bool = False) -> list[dict]:
    """The local AWS's server-side call counts (every client, kernel and CLI), optionally
    clearing them; rows of service, operation, mutating, count."""
    return _control(endpoint_url, CALLS_PATH, "DELETE" if reset else "GET")["calls"]


def server_info(endpoint_url: str) -> dict:
    """The state folder and endpoint of the local AWS at ``endpoint_url``."""
    return _control(endpoint_url, INFO_PATH)


def register_repo(endpoint_url: str, repo_id: str, path: Path) -> dict:
    """Register a local git repository with the local AWS at ``endpoint_url``."""
    return _control(endpoint_url, REPOS_PATH, "POST", {"id": repo_id, "path": str(path)})


def list_repos(endpoint_url: str) -> list[dict]:
    """Repositories registered with the local AWS at ``endpoint_url`` (id and path)."""
    return _control(endpoint_url, REPOS_PATH)["repositories"]


def _control(endpoint_url: str, path: str, method: str = "GET", body: dict | None = None
             ) -> dict:
    """Call the control API with the bearer token of the server's own key pair."""
    creds = credentials_for_endpoint(endpoint_url)
    headers = {"Content-Type": "application/json"}
    if creds:
        headers["Authorization"] = "Bearer " + creds.control_token()
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(endpoint_url + path, method=method, data=data, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return _json_body(resp.read(), endpoint_url, path, resp.status)
    except urllib.error.HTTPError as err:
        body = _json_body(err.read(), endpoint_url, path, err.code)
        message = body.get("message", str(err)) if isinstance(body, dict) else str(err)
        raise LocalAwsError(f"local AWS at {endpoint_url}: {message}") from err


def _json_body(raw: bytes, endpoint_url: str, path: str, status: int) -> dict:
    """The control API answers JSON; anything else means something else answered (a proxy,
    another program on the port), which is said plainly instead of a JSONDecodeError."""
    try:
        return json.loads(raw)
    except ValueError:
        raise LocalAwsError(
            f"{endpoint_url}{path} answered HTTP {status} with a body that is not JSON, so it "
            "is not the local AWS's control API (a proxy in between, or another program on "
            "that port?). Fix: check AWS_ENDPOINT_URL and the HTTP_PROXY/NO_PROXY variables, "
            "or restart with `runbook local start`."
        ) from None
