"""moto keeps state in memory; this journal makes it survive a restart.

Every mutating request forwarded to moto is appended, as it came off the wire, to
``moto-journal.jsonl`` in the state directory, and fsynced *before* moto applies it (write
before you acknowledge): a full disk refuses the request with nothing applied, and an entry
moto refuses is cut off again. On start the journal is replayed into a fresh moto app through
the same WSGI entry point. Replay re-runs the requests, so identifiers that moto
invents (subscription ARNs, object version ids) may differ from before the restart; names,
contents and configuration are the same.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from runbook_lib.core.operations import is_read_operation
from runbook_lib.local.server import compaction
from runbook_lib.local.server.store import append_synced, cut_back, write_atomic
from runbook_lib.local.server.wire import Request, call_wsgi, make_environ, read_request

log = logging.getLogger("runbook.local.journal")

JOURNAL_FILE = "moto-journal.jsonl"
_KEEP_HEADERS = ("content-type", "x-amz-target", "authorization", "host", "content-md5",
                 "x-amz-content-sha256")


# Messages in flight are not state: replaying a publish would deliver it again.
_NOT_JOURNALLED = {
    ("sns", "Publish"), ("sns", "PublishBatch"), ("sqs", "SendMessage"),
    ("sqs", "SendMessageBatch"), ("sqs", "ReceiveMessage"), ("sqs", "DeleteMessage"),
    ("sqs", "DeleteMessageBatch"), ("sqs", "ChangeMessageVisibility"),
    ("sqs", "ChangeMessageVisibilityBatch"), ("sqs", "PurgeQueue"),
}


def is_mutating(request: Request) -> bool:
    """Whether the request changes state: by operation name, else by HTTP method."""
    if request.operation:
        return not is_read_operation(request.operation)
    return request.method in ("PUT", "POST", "DELETE", "PATCH")


def should_journal(request: Request) -> bool:
    """Mutations worth replaying after a restart (messages in flight are not)."""
    return is_mutating(request) and (request.service, request.operation) not in _NOT_JOURNALLED


class Journal:
    """The append-only request log of moto's state; a torn last entry is cut, never appended to.

    A crash (power loss, a full disk, kill -9 during a write) can leave the last line
    incomplete. Before anything is replayed or appended, every complete entry is kept and the
    torn tail is moved to ``moto-journal.jsonl.torn`` beside it; :meth:`recovery_note` says so,
    for the log and ``runbook local status``.
    """

    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / JOURNAL_FILE
        self._lock = threading.Lock()
        self._recovered: str | None = None
        self._cut_torn_tail()

    def recovery_note(self) -> str | None:
        """What was repaired when the journal was opened, or None."""
        return self._recovered

    def append(self, environ: dict[str, Any], request: Request) -> None:
        """Journal a request that was already applied (kept for callers outside a forward)."""
        with self.pending(environ, request) as entry:
            entry.keep()

    @contextmanager
    def pending(self, environ: dict[str, Any], request: Request) -> Iterator[_Entry]:
        """Write the request's entry to disk first, then let the caller apply it.

        The entry is fsynced before the block runs, so nothing is acknowledged that a restart
        would not replay; unless the block calls ``keep()`` (moto refused the request, or it
        raised) the entry is cut off again. A failed write raises :class:`JournalWriteError`
        before anything was applied. Entries are serialised: one pending entry at a time."""
        line = (json.dumps(_entry(environ, request)) + "\n").encode()
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                try:
                    start = append_synced(fd, line)
                except OSError as err:
                    raise JournalWriteError(self.path, err) from err
                entry = _Entry()
                try:
                    yield entry
                finally:
                    if not entry.kept:
                        cut_back(fd, start)
            finally:
                os.close(fd)

    def replay(self, app: Any, skip: AbstractSet[tuple[str, str]] = frozenset(),
               divert: Mapping[tuple[str, str], Callable[[Request], object]] | None = None
               ) -> int:
        """Feed every journalled request to ``app``, and compact the journal.

        Entries whose (service, operation) is in ``skip`` are kept but not replayed; those in
        ``divert`` are handed to their handler instead and dropped from the journal (what an
        older version journalled and another store now keeps: log events); entries a later
        one supersedes (:mod:`compaction`) are dropped. Returns how many were replayed."""
        if not self.path.exists():
            return 0
        lines = self.path.read_bytes().splitlines()
        parsed = [self._parse(number, line) for number, line in enumerate(lines, 1)]
        requests = [item[1] if item else None for item in parsed]
        dropped = compaction.superseded(requests)
        kept: list[bytes] = []
        count = 0
        for position, (line, item) in enumerate(zip(lines, parsed, strict=True)):
            if item is None or position in dropped:
                kept += [line] if item is None else []
                continue
            entry, request, body = item
            operation = (request.service or "", request.operation or "")  # as routes key them
            if divert and operation in divert:
                try:
                    divert[operation](request)
                except Exception as err:  # noqa: BLE001  (a stale entry must not stop a start)
                    log.warning("%s line %d could not be moved out of the journal: %s",
                                self.path, position + 1, err)
                continue
            kept.append(line)
            if operation not in skip:
                call_wsgi(app, _environ(entry, body))
                count += 1
        if len(kept) != len(lines):
            write_atomic(self.path, b"".join(line + b"\n" for line in kept))
            log.info("compacted %s: %d of %d entries kept", self.path, len(kept), len(lines))
        log.info("replayed %d journalled requests", count)
        return count

    def _parse(self, number: int, line: bytes) -> tuple[dict, Request, bytes] | None:
        try:
            entry = json.loads(line)
            body = base64.b64decode(entry["body"])
        except (ValueError, KeyError, TypeError):
            log.warning("%s line %d is not a journal entry; skipped", self.path, number)
            return None
        return entry, read_request(_environ(entry, body)), body

    def _cut_torn_tail(self) -> None:
        """Keep every complete entry; move an incomplete last one aside and truncate."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return
        keep = _complete_length(data)
        if keep == len(data):
            return
        torn = self.path.with_name(self.path.name + ".torn")
        with open(torn, "ab") as fh:
            fh.write(data[keep:] + b"\n")
        os.chmod(torn, 0o600)
        with open(self.path, "r+b") as fh:
            fh.truncate(keep)
            fh.flush()
            os.fsync(fh.fileno())
        kept = data[:keep].count(b"\n")
        self._recovered = (f"cut a torn last entry ({len(data) - keep} bytes) from {self.path} "
                           f"after an interrupted write; kept {kept} "
                           f"complete entries; the torn bytes are in {torn}")
        log.warning("%s", self._recovered)


class JournalWriteError(OSError):
    """The journal could not be written; the request was not applied."""

    def __init__(self, path: Path, err: OSError) -> None:
        super().__init__(err.errno, f"the local AWS could not write its journal {path} "
                         f"({err.strerror or err}); nothing was changed. Fix: free space on "
                         "the state folder's disk (or make it writable), then retry the call.")


class _Entry:
    """A journal entry on disk, waiting for the request it records to be applied."""

    kept = False

    def keep(self) -> None:
        self.kept = True


def _entry(environ: dict[str, Any], request: Request) -> dict[str, Any]:
    return {
        "method": request.method,
        "path": environ.get("RAW_URI") or request.path,
        "path_info": request.path,
        "query": request.query,
        "headers": {k: v for k, v in request.headers.items()
                    if k in _KEEP_HEADERS or k.startswith("x-amz-")},
        "body": base64.b64encode(request.body).decode("ascii"),
    }


def _complete_length(data: bytes) -> int:
    """Length of the prefix of ``data`` made of complete, parseable lines."""
    end = data.rfind(b"\n") + 1
    if end < len(data):  # bytes after the last newline: a torn write
        return end
    last_start = data.rfind(b"\n", 0, max(end - 1, 0)) + 1
    try:
        json.loads(data[last_start:end] or b"{}")
    except ValueError:  # a whole line of garbage at the end (zero-filled blocks after a crash)
        return last_start
    return end


def _environ(entry: dict[str, Any], body: bytes) -> dict[str, Any]:
    return make_environ(entry["method"], entry["path_info"], entry["query"], entry["headers"],
                        body, raw_uri=entry["path"])
