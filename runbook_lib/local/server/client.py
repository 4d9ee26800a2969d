"""What a client of the local AWS knows of it: where it keeps state, whether it runs, its
control API. A leaf: the session, operating functions and commands import it without pulling
in the server.

    GET    /_runbook/health     is it up, and its state folder (open: no credentials needed)
    GET    /_runbook/calls      server-side call counts (DELETE clears them)
    GET    /_runbook/info       state folder, endpoint, what was recovered at start

Every path but health needs ``Authorization: Bearer TOKEN`` (see :mod:`auth` and :mod:`guard`).
    GET    /_runbook/repos      registered git repositories
    POST   /_runbook/repos      {"id": "OWNER/NAME", "path": "/abs/path"} registers one
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from runbook_lib.core.errors import LocalAwsError

STATE_DIR_ENV = "RUNBOOK_STATE_DIR"
STATUS_FILE = "server.json"

PREFIX = "/_runbook/"
HEALTH_PATH = PREFIX + "health"
CALLS_PATH = PREFIX + "calls"
INFO_PATH = PREFIX + "info"
REPOS_PATH = PREFIX + "repos"


def default_state_dir() -> Path:
    """``$RUNBOOK_STATE_DIR``, else ``~/.runbook/local``."""
    env = os.environ.get(STATE_DIR_ENV)
    return Path(env).expanduser() if env else Path.home() / ".runbook" / "local"


@dataclass
class ServerStatus:
    """What a running server wrote into its state folder: its process and where it listens."""

    pid: int
    host: str
    port: int
    state_dir: str

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def alive(self) -> bool:
        return pid_alive(self.pid) and is_healthy(self.endpoint_url)


def read_status(state_dir: Path) -> ServerStatus | None:
    """The status a server left in ``state_dir``, or None (never started, or unreadable)."""
    path = Path(state_dir) / STATUS_FILE
    try:
        data = json.loads(path.read_text())
        return ServerStatus(int(data["pid"]), data["host"], int(data["port"]), data["state_dir"])
    except (OSError, ValueError, KeyError):
        return None


def running_endpoint(state_dir: Path | None = None) -> str | None:
    """Endpoint of a local AWS that `runbook local start` left running, if any."""
    status = read_status(state_dir or default_state_dir())
    return status.endpoint_url if status and status.alive else None


def is_healthy(endpoint_url: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(endpoint_url + HEALTH_PATH, timeout=timeout) as resp:
            return resp.status == 200
    except OSError:
        return False


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still answers kill(0); treat it as gone.
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] != "Z"
    except OSError:
        return True


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
    """Call the control API with the bearer token of the server's own key pair (see auth)."""
    from runbook_lib.local.server.auth import credentials_for_endpoint

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
