"""Run the local AWS in the background: start, stop, status, with pid and port in the state dir."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from runbook_lib.core.errors import LocalAwsError
from runbook_lib.local.server.client import (
    STATUS_FILE,
    ServerStatus,
    default_state_dir,
    is_healthy,
    pid_alive,
    read_status,
)

KEPT_BY_RESET = ("repos.json", "repos.lock")
LOG_FILE = "server.log"


def write_status(state_dir: Path, host: str, port: int) -> None:
    """Called by the serving process once it listens."""
    state_dir.mkdir(parents=True, exist_ok=True)
    tmp = state_dir / (STATUS_FILE + ".tmp")
    tmp.write_text(json.dumps({"pid": os.getpid(), "host": host, "port": port,
                               "state_dir": str(state_dir)}))
    tmp.replace(state_dir / STATUS_FILE)


def clear_status(state_dir: Path) -> None:
    (state_dir / STATUS_FILE).unlink(missing_ok=True)


def start(state_dir: Path | None = None, port: int = 0, host: str = "127.0.0.1",
          timeout: float = 60.0) -> ServerStatus:
    """Start a background server, or return the one already running for this state dir."""
    state_dir = Path(state_dir or default_state_dir())
    current = read_status(state_dir)
    if current and current.alive:
        return current
    clear_status(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    log = open(state_dir / LOG_FILE, "ab")  # noqa: SIM115 - handed to the child
    cmd = [sys.executable, "-m", "runbook_lib.app.cli", "local", "serve", "--port", str(port),
           "--host", host, "--state-dir", str(state_dir)]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    log.close()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = read_status(state_dir)
        if status and status.pid == proc.pid and is_healthy(status.endpoint_url):
            return status
        if proc.poll() is not None:
            raise LocalAwsError(
                f"the local AWS exited with code {proc.returncode} while starting; see "
                f"{state_dir / LOG_FILE}. Fix: pick another --port if it is in use."
            )
        time.sleep(0.1)
    proc.terminate()
    raise LocalAwsError(f"the local AWS did not answer within {timeout:.0f}s; see "
                        f"{state_dir / LOG_FILE}.")


def stop(state_dir: Path | None = None, timeout: float = 15.0) -> bool:
    """Stop the background server; False when none was running."""
    state_dir = Path(state_dir or default_state_dir())
    status = read_status(state_dir)
    if not status or not pid_alive(status.pid):
        clear_status(state_dir)
        return False
    os.kill(status.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and pid_alive(status.pid):
        time.sleep(0.1)
    if pid_alive(status.pid):
        os.kill(status.pid, signal.SIGKILL)
    clear_status(state_dir)
    return True


def reset(state_dir: Path | None = None) -> int:
    """Stop the server and remove what the local AWS keeps in its state directory.

    Only the local AWS's own files are removed (``*.json``, ``*.jsonl``, ``*.log`` and its
    ``builds`` and ``cache`` folders), so pointing --state-dir at the wrong folder loses nothing
    else. Git repositories and their registry stand in for GitHub, not AWS: they are kept.
    """
    state_dir = Path(state_dir or default_state_dir())
    stop(state_dir)
    removed = 0
    if not state_dir.is_dir():
        return 0
    for path in state_dir.iterdir():
        if path.name in KEPT_BY_RESET:
            continue
        if path.is_file() and path.suffix in (".json", ".jsonl", ".log", ".tmp"):
            path.unlink()
            removed += 1
        elif path.is_dir() and path.name in ("builds", "cache", "homes", "workspaces"):
            shutil.rmtree(path)
            removed += 1
    return removed
