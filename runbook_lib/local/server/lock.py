"""One server per state folder, held with an OS lock, and the folder kept private.

Two servers on one folder would replay and append to the same journal and overwrite each
other's stores. ``fcntl.flock`` on ``server.lock`` is released by the kernel when the process
dies, even by kill -9, so a crashed server never blocks the next one; the pid written into the
file names the holder in the refusal.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from runbook_lib.core.errors import LocalAwsError

LOCK_FILE = "server.lock"
_OWN_SUFFIXES = (".json", ".jsonl", ".log", ".lock", ".bak", ".torn", ".tmp")


class StateDirLocked(LocalAwsError):
    """Another live server already serves this state folder."""


class StateDirLock:
    """An exclusive lock on a state folder, held until :meth:`release` or process exit."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = Path(state_dir)
        self._fd: int | None = None

    def acquire(self) -> StateDirLock:
        prepare_state_dir(self.state_dir)
        fd = os.open(self.state_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise StateDirLocked(
                f"another local AWS (pid {holder}) already serves {self.state_dir}. Fix: use it "
                "(`runbook local status` prints its exports), stop it with `runbook local "
                "stop`, or pass another --state-dir."
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None


def prepare_state_dir(state_dir: Path) -> None:
    """Create the folder if needed; make it, and the local AWS's files in it, owner-only."""
    try:
        state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(state_dir, 0o700)
    except (FileExistsError, NotADirectoryError) as err:
        raise LocalAwsError(f"--state-dir {state_dir} is a file, not a folder. Fix: pass a "
                            "folder (it is created when missing).") from err
    except PermissionError as err:
        raise LocalAwsError(f"--state-dir {state_dir} cannot be written ({err.strerror}). Fix: "
                            "pass a folder you own.") from err
    for entry in state_dir.iterdir():  # only the local AWS's own files, nothing else there
        if entry.suffix in _OWN_SUFFIXES and entry.is_file() and not entry.is_symlink():
            os.chmod(entry, 0o600)
