"""A small JSON document store in the state directory, so local state survives a restart.

Writes are atomic and durable: a temporary file is written, fsynced and renamed over the
document, and the previous version stays beside it as ``NAME.bak``. A document that cannot be
read is never replaced by an empty one: the server stops, naming the file and the way out.

Write before you acknowledge: a change counts once it is on disk. When the write fails (a full
disk), the document in memory is put back as it was last saved (the disk's version) and
:class:`StoreWriteError` answers the caller with AWS's ``ServiceUnavailable``; a retry after
space is freed then succeeds, and a restart shows exactly what was acknowledged.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Generic, TypeVar

from runbook_lib.core.errors import LocalAwsError
from runbook_lib.local.server.wire import AwsError

T = TypeVar("T")

FILE_MODE = 0o600


class StateFileError(LocalAwsError):
    """A state file exists but cannot be read; the local AWS refuses to start over it."""


class StoreWriteError(AwsError):
    """A state file could not be written; nothing was changed (AWS's ServiceUnavailable)."""

    def __init__(self, path: Path, err: OSError) -> None:
        super().__init__("ServiceUnavailable", (
            f"the local AWS could not write its state to {path} ({err.strerror or err}); "
            "nothing was changed. Fix: free space on the state folder's disk (or make it "
            "writable), then retry the call."), 503)


class JsonStore:
    """One JSON document, read at start and written atomically after each change."""

    def __init__(self, path: Path, default: Any) -> None:
        self.path = Path(path)
        self.lock = threading.RLock()
        self.data = read_document(self.path, default)
        self._saved = json.dumps(self.data, default=str).encode()  # what the disk holds

    def save(self) -> None:
        """Write the document; on failure memory goes back to what the disk holds."""
        with self.lock:
            payload = json.dumps(self.data, default=str).encode()  # C encoder: no indent
            if payload == self._saved:
                return
            try:
                write_atomic(self.path, payload, keep_backup=True)
            except OSError as err:
                self._restore()
                raise StoreWriteError(self.path, err) from err
            self._saved = payload

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """Hold the lock, yield the document, save it when the block ends without error.

        A block that raises saves nothing. Its own changes stay in memory (the engine keeps
        unsaved progress there, which a restore would undo), so blocks validate before they
        change anything; a failed *write* restores memory (see :meth:`save`)."""
        with self.lock:
            yield self.data
            self.save()

    def _restore(self) -> None:
        """Put memory back to the saved document, keeping the objects callers hold."""
        saved = json.loads(self._saved)
        if json.dumps(self.data, default=str).encode() != self._saved:
            self.data = restore_into(self.data, saved)


def restore_into(current: Any, saved: Any) -> Any:
    """``saved``'s content in ``current``'s dicts and lists where their types agree, so a
    reference held elsewhere (a running build's record) sees the restored values."""
    if isinstance(current, dict) and isinstance(saved, dict):
        for key in [k for k in current if k not in saved]:
            del current[key]
        for key, value in saved.items():
            current[key] = restore_into(current[key], value) if key in current else value
        return current
    if isinstance(current, list) and isinstance(saved, list) and len(current) == len(saved):
        current[:] = [restore_into(c, s) for c, s in zip(current, saved, strict=True)]
        return current
    return saved


def read_document(path: Path, default: Any) -> Any:
    """The JSON document at ``path``; ``default`` only when there is no file at all."""
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        return default
    except OSError as err:
        raise _unreadable(path, f"cannot be read ({err.strerror})") from err
    try:
        return json.loads(text)
    except ValueError as err:
        raise _unreadable(path, f"is not valid JSON ({err}; {len(text)} bytes)") from err


def _unreadable(path: Path, why: str) -> StateFileError:
    backup = path.with_name(path.name + ".bak")
    way_out = (f"restore the previous version kept beside it (`cp {backup} {path}`), or "
               if backup.exists() else "")
    return StateFileError(
        f"the local AWS's state file {path} {why}, so the server did not start (starting would "
        f"overwrite it with an empty state). Fix: {way_out}wipe the local AWS's state with "
        f"`runbook local reset --state-dir {path.parent}`."
    )


def write_atomic(path: Path, payload: bytes, keep_backup: bool = False) -> None:
    """Write ``payload`` to ``path`` so that a crash leaves the old or the new file, whole.

    With ``keep_backup`` the replaced version stays as ``NAME.bak`` (a hard link, so no copy)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        if keep_backup and path.exists():
            backup = path.with_name(path.name + ".bak")
            backup.unlink(missing_ok=True)
            os.link(path, backup)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (a power loss right after keeps the new name)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def append_synced(fd: int, data: bytes) -> int:
    """Append ``data`` to the file open at ``fd`` (``O_APPEND``), on disk before this returns;
    the offset it starts at. A failed write (a full disk) is taken back, so the file ends
    where it did, and the ``OSError`` raised: an append-only file never keeps half a record."""
    start = os.lseek(fd, 0, os.SEEK_END)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fdatasync(fd)
    except OSError:
        cut_back(fd, start)
        raise
    return start


def cut_back(fd: int, length: int) -> None:
    """Take the file back to ``length`` bytes (truncating needs no free space)."""
    os.ftruncate(fd, length)
    try:
        os.fdatasync(fd)
    except OSError:
        pass


class PerStateDir(Generic[T]):
    """One ``make(state_dir)`` per state folder, made on first use and shared after: what a
    local service's API and its executors (which are handed only the state folder) both use."""

    def __init__(self, make: Callable[[Path], T]) -> None:
        self._make = make
        self._made: dict[str, T] = {}
        self._lock = threading.Lock()

    def __call__(self, state_dir: str | Path) -> T:
        key = str(Path(state_dir).resolve())
        with self._lock:
            if key not in self._made:
                self._made[key] = self._make(Path(state_dir))
            return self._made[key]
