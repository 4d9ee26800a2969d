"""Where a local AWS runs, as its clients find it: its state folder, the status file a running
server leaves there, and its open health answer.

The client side of the embedded local AWS (``runbook_lib/local/``) that the session needs, kept
in ``core`` so that the ground floor never imports the local AWS. The server writes what these
functions read (``local/server/process.py``); the two agree on the file and the path here.
"""

from __future__ import annotations

import json
import os
import urllib.request
from dataclasses import dataclass
from pathlib import Path

STATE_DIR_ENV = "RUNBOOK_STATE_DIR"
STATUS_FILE = "server.json"

CONTROL_PREFIX = "/_runbook/"  # the local AWS's own control API (local/server/control.py)
HEALTH_PATH = CONTROL_PREFIX + "health"  # open: names the state folder, needs no credentials


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
            return bool(resp.status == 200)
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
