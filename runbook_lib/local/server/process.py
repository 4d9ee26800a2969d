"""Run the local AWS in the background: start, stop, status, with pid and port in the state dir."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from runbook_lib.core.errors import LocalAwsError
from runbook_lib.core.local_endpoint import (
    STATUS_FILE,
    ServerStatus,
    default_state_dir,
    is_healthy,
    pid_alive,
    read_status,
)

KEPT_BY_RESET = ("repos.json", "repos.lock", "credentials.json", "server.lock")
LOG_FILE = "server.log"

# What the background server inherits from whoever starts it: what Python, git, the build tools
# and the local AWS's own settings need, and nothing else. Credentials (AWS_ACCESS_KEY_ID,
# RUNBOOK_SECRET_*, GITHUB_TOKEN, NPM_TOKEN, ...) stay with the caller: a build, or anyone who
# can read /proc/<pid>/environ of the server, must not find them there.
_KEPT_NAMES = frozenset((
    "PATH HOME USER LOGNAME SHELL LANG LANGUAGE TZ TMPDIR TERM VIRTUAL_ENV PYTHONPATH "
    "PYTHONHASHSEED PYTHONDONTWRITEBYTECODE PYTHONUNBUFFERED PYTHONIOENCODING PYENV_ROOT "
    "DOCKER_HOST AWS_REGION AWS_DEFAULT_REGION DEBIAN_FRONTEND HTTP_PROXY HTTPS_PROXY NO_PROXY "
    "http_proxy https_proxy no_proxy RUNBOOK_DEBUG RUNBOOK_STATE_DIR").split())
_KEPT_PREFIXES = ("LC_", "RUNBOOK_LOCAL_", "COVERAGE_", "PIP_", "UV_", "npm_config_",
                  "NPM_CONFIG_")
_KEPT_PARTS = ("CA_BUNDLE", "CA_CERTS", "CAINFO", "SSL_CERT")  # where to find CA certificates
_URL_PASSWORD = re.compile(r"://[^/\s:@]+:[^/\s@]+@")  # an index URL with user:password@
_SECRET_PARTS = ("TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "AUTH", "ACCESS_KEY",
                 "SESSION", "PRIVATE", "APIKEY", "API_KEY")


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


def start(state_dir: Path | None = None, port: int = 0, host: str = "127.0.0.1",
          timeout: float = 60.0, allow_origins: tuple[str, ...] = (),
          allow_remote: bool = False, unsandboxed_builds: bool = False,
          time_factor: float | None = None) -> ServerStatus:
    """Start a background server, or return the one already running for this state dir.

    ``time_factor``: the rehearsal clock's factor (:mod:`runbook_lib.local.clock`); None keeps
    ``$RUNBOOK_LOCAL_TIME_FACTOR`` (or real time)."""
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
    cmd += ["--unsandboxed-builds"] if unsandboxed_builds else []
    cmd += ["--time-factor", f"{time_factor:g}"] if time_factor else []
    proc = subprocess.Popen(cmd, stdout=log_fd, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True,
                            env=server_environment(os.environ))
    os.close(log_fd)
    return _wait_until_serving(state_dir, proc, timeout)


def server_environment(environ: dict[str, str] | os._Environ) -> dict[str, str]:
    """The background server's environment: the caller's, minus anything not on the list.

    An allow-list, not a deny-list: a token under a name nobody thought of stays out too."""
    def kept(name: str) -> bool:
        upper = name.upper()
        if any(part in upper for part in _SECRET_PARTS):
            return False
        return (name in _KEPT_NAMES or name.startswith(_KEPT_PREFIXES)
                or any(part in upper for part in _KEPT_PARTS))

    return {k: v for k, v in environ.items() if kept(k) and not _URL_PASSWORD.search(v)}


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
    if not status or not pid_alive(status.pid):
        if status:
            clear_status(state_dir, status.pid)
        return False
    os.kill(status.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and pid_alive(status.pid):
        time.sleep(0.1)
    if pid_alive(status.pid):
        os.kill(status.pid, signal.SIGKILL)
    clear_status(state_dir, status.pid)
    return True


# The local AWS's own folders: build work folders and records, caches, log events, and the
# pipeline's Commands runs (a server killed mid-run leaves theirs).
RESET_FOLDERS = ("builds", "codebuild-builds", "cache", "homes", "workspaces", "logs",
                 "commands", "rules")


def reset(state_dir: Path | None = None) -> int:
    """Stop the server and remove what the local AWS keeps in its state directory.

    Only the local AWS's own files are removed (``*.json``, ``*.jsonl``, ``*.log`` and the
    folders of ``RESET_FOLDERS``), so pointing --state-dir at the wrong folder
    loses nothing else. Git repositories and their registry stand in for GitHub, not AWS: they
    are kept.
    """
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
        elif path.is_dir() and path.name in RESET_FOLDERS:
            shutil.rmtree(path)
            removed += 1
    return removed
