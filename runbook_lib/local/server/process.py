"""Run the local AWS in the background: start, stop, status, with pid and port in the state dir."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from runbook_lib.core.errors import LocalAwsError
from runbook_lib.local.server.control import HEALTH_PATH

STATUS_FILE = "server.json"
KEPT_BY_RESET = ("repos.json", "repos.lock", "credentials.json", "server.lock")
LOG_FILE = "server.log"


def default_state_dir() -> Path:
    """``$RUNBOOK_STATE_DIR``, else ``~/.runbook/local``."""
    env = os.environ.get("RUNBOOK_STATE_DIR")
    return Path(env).expanduser() if env else Path.home() / ".runbook" / "local"


@dataclass
class ServerStatus:
    pid: int
    host: str
    port: int
    state_dir: str

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def alive(self) -> bool:
        return _pid_alive(self.pid) and is_healthy(self.endpoint_url)


def write_status(state_dir: Path, host: str, port: int) -> None:
    """Called by the serving process once it listens (and holds the state folder's lock)."""
    from runbook_lib.local.server.store import write_atomic

    write_atomic(Path(state_dir) / STATUS_FILE, json.dumps(
        {"pid": os.getpid(), "host": host, "port": port, "state_dir": str(state_dir)}).encode())


def clear_status(state_dir: Path, pid: int | None = None) -> None:
    """Remove server.json, only when it names ``pid`` (a server never removes another's)."""
    current = read_status(state_dir)
    if current is None or pid is None or current.pid == pid:
        (Path(state_dir) / STATUS_FILE).unlink(missing_ok=True)


def read_status(state_dir: Path) -> ServerStatus | None:
    path = Path(state_dir) / STATUS_FILE
    try:
        data = json.loads(path.read_text())
        return ServerStatus(int(data["pid"]), data["host"], int(data["port"]), data["state_dir"])
    except (OSError, ValueError, KeyError):
        return None


def is_healthy(endpoint_url: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(endpoint_url + HEALTH_PATH, timeout=timeout) as resp:
            return resp.status == 200
    except OSError:
        return False


def start(state_dir: Path | None = None, port: int = 0, host: str = "127.0.0.1",
          timeout: float = 60.0, allow_origins: tuple[str, ...] = (),
          allow_remote: bool = False) -> ServerStatus:
    """Start a background server, or return the one already running for this state dir."""
    from runbook_lib.local.server.lock import prepare_state_dir

    state_dir = Path(state_dir or default_state_dir())
    current = read_status(state_dir)
    if current and current.alive:
        return current
    prepare_state_dir(state_dir)
    log_fd = os.open(state_dir / LOG_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    cmd = [sys.executable, "-m", "runbook_lib.app.cli", "local", "serve", "--port", str(port),
           "--host", host, "--state-dir", str(state_dir)]
    cmd += [arg for origin in allow_origins for arg in ("--allow-origin", origin)]
    cmd += ["--allow-remote"] if allow_remote else []
    proc = subprocess.Popen(cmd, stdout=log_fd, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    os.close(log_fd)
    return _wait_until_serving(state_dir, proc, timeout)


def _wait_until_serving(state_dir: Path, proc: subprocess.Popen, timeout: float
                        ) -> ServerStatus:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = read_status(state_dir)
        if status and status.pid == proc.pid and is_healthy(status.endpoint_url):
            return status
        if proc.poll() is not None:
            raise LocalAwsError(
                f"the local AWS exited with code {proc.returncode} while starting: "
                f"{_last_log_line(state_dir)} (full log: {state_dir / LOG_FILE})"
            )
        time.sleep(0.1)
    proc.terminate()
    raise LocalAwsError(f"the local AWS did not answer within {timeout:.0f}s; see "
                        f"{state_dir / LOG_FILE}.")


def _last_log_line(state_dir: Path) -> str:
    """The server's own last words (its `runbook: ...` error line, when it refused to start)."""
    try:
        lines = (state_dir / LOG_FILE).read_text(errors="replace").strip().splitlines()
    except OSError:
        return "no log"
    said = [line for line in lines[-40:] if line.startswith("runbook: ")]
    return (said or lines[-1:] or ["no log"])[-1]


def stop(state_dir: Path | None = None, timeout: float = 15.0) -> bool:
    """Stop the background server; False when none was running."""
    state_dir = Path(state_dir or default_state_dir())
    status = read_status(state_dir)
    if not status or not _pid_alive(status.pid):
        if status:
            clear_status(state_dir, status.pid)
        return False
    os.kill(status.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _pid_alive(status.pid):
        time.sleep(0.1)
    if _pid_alive(status.pid):
        os.kill(status.pid, signal.SIGKILL)
    clear_status(state_dir, status.pid)
    return True


def reset(state_dir: Path | None = None) -> int:
    """Stop the server and remove what the local AWS keeps in its state directory.

    Only the local AWS's own files are removed (``*.json``, ``*.jsonl``, ``*.log`` and its
    ``builds`` and ``cache`` folders), so pointing --state-dir at the wrong folder loses nothing
    else. Git repositories and their registry stand in for GitHub, not AWS: they are kept.
    """
    import shutil

    state_dir = Path(state_dir or default_state_dir())
    stop(state_dir)
    removed = 0
    if not state_dir.is_dir():
        return 0
    for path in state_dir.iterdir():
        if path.name in KEPT_BY_RESET:
            continue
        if path.is_file() and path.suffix in (".json", ".jsonl", ".log", ".tmp", ".bak",
                                              ".torn"):
            path.unlink()
            removed += 1
        elif path.is_dir() and path.name in ("builds", "cache", "homes", "workspaces"):
            shutil.rmtree(path)
            removed += 1
    return removed


def _pid_alive(pid: int) -> bool:
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
    from runbook_lib.local.server.control import CALLS_PATH

    return _control(endpoint_url, CALLS_PATH, "DELETE" if reset else "GET")["calls"]


def server_info(endpoint_url: str) -> dict:
    """The state folder and endpoint of the local AWS at ``endpoint_url``."""
    from runbook_lib.local.server.control import INFO_PATH

    return _control(endpoint_url, INFO_PATH)


def register_repo(endpoint_url: str, repo_id: str, path: Path) -> dict:
    """Register a local git repository with the local AWS at ``endpoint_url``."""
    from runbook_lib.local.server.control import REPOS_PATH

    return _control(endpoint_url, REPOS_PATH, "POST", {"id": repo_id, "path": str(path)})


def list_repos(endpoint_url: str) -> list[dict]:
    """Repositories registered with the local AWS at ``endpoint_url`` (id and path)."""
    from runbook_lib.local.server.control import REPOS_PATH

    return _control(endpoint_url, REPOS_PATH)["repositories"]


def _control(endpoint_url: str, path: str, method: str = "GET", body: dict | None = None
             ) -> dict:
    """Call the control API with the bearer token of the server's own credentials."""
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
