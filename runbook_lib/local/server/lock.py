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
    """Create the folder if needed; make it, and the local AWS's files in it, owner-only.

    A folder that another user owns, or that group or others may write, is refused rather
    than adopted: whoever can write there can plant ``credentials.json`` (and so sign requests
    that run builds as this user) or a journal that is replayed at start."""
    try:
        state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        check_owned(state_dir, "--state-dir")
        os.chmod(state_dir, 0o700)
    except (FileExistsError, NotADirectoryError) as err:
        raise LocalAwsError(f"--state-dir {state_dir} is a file, not a folder. Fix: pass a "
                            "folder (it is created when missing).") from err
    except PermissionError as err:
        raise LocalAwsError(f"--state-dir {state_dir} cannot be written ({err.strerror}). Fix: "
                            "pass a folder you own.") from err
    for entry in state_dir.iterdir():  # only the local AWS's own files, nothing else there
        if entry.suffix in _OWN_SUFFIXES and entry.is_file() and not entry.is_symlink():
            check_owned(entry, "state file")
            os.chmod(entry, 0o600)


def check_owned(path: Path, what: str) -> None:
    """Refuse ``path`` unless this user owns it and neither group nor others may write it."""
    info = os.stat(path)
    me = os.geteuid()
    if info.st_uid != me:
        raise LocalAwsError(
            f"{what} {path} belongs to {_user(info.st_uid)}, not to you ({_user(me)}): the "
            "local AWS does not adopt another user's state (their credentials.json would sign "
            f"requests that run builds as you). Fix: if it is yours, `chown -R {_user(me)} "
            f"{path}`; otherwise pass another --state-dir.")
    if info.st_mode & 0o022:
        raise LocalAwsError(
            f"{what} {path} is writable by group or others (mode {info.st_mode & 0o777:o}): "
            "anyone who can write there can plant credentials or state. Fix: `chmod "
            f"{'700' if path.is_dir() else '600'} {path}`, or pass another --state-dir.")


def _user(uid: int) -> str:
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (KeyError, ImportError):
        return f"uid {uid}"
