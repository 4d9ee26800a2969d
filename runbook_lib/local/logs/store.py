"""CloudWatch log events on disk: one append-only file per stream, read back by index.

Build logs are the bulk of what the local AWS keeps (a build may print 100 MB), so they are
kept once, here, and not in moto's memory or its journal: a restart replays nothing for them,
and the server's memory does not grow with them. Each event is one line,
``TIMESTAMP INGESTION JSON-MESSAGE``, so the index (offset and timestamp of every event, 16
bytes each) is rebuilt from a stream's file without parsing a message, and only when that
stream is first read after a start.

Write before you acknowledge: a batch is appended and fsynced before the index grows; a failed
write (a full disk) is cut back and raised as :class:`StoreWriteError`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
from array import array
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from runbook_lib.local.server.store import StoreWriteError, append_synced

LOGS_DIR = "logs"


@dataclass
class _Index:
    """Where each event of one stream starts in its file, and its timestamp."""

    offsets: array = field(default_factory=lambda: array("q"))
    stamps: array = field(default_factory=lambda: array("q"))
    size: int = 0  # bytes of the file the index covers


class LogStore:
    """Every stream's events under ``STATE/logs/REGION/GROUP-HASH/STREAM-HASH.events``."""

    def __init__(self, state_dir: Path) -> None:
        self.root = Path(state_dir) / LOGS_DIR
        self._lock = threading.RLock()
        self._indexes: dict[tuple[str, str, str], _Index] = {}

    def append(self, key: tuple[str, str, str], events: list[tuple[int, int, str]]) -> None:
        """Append (timestamp, ingestion time, message) events; on disk before it returns."""
        lines = [f"{ts} {ingested} {json.dumps(message)}\n".encode()
                 for ts, ingested, message in events]
        payload = b"".join(lines)
        path = self._path(key)
        with self._lock:
            index = self._index(key)
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                try:
                    start = append_synced(fd, payload)
                except OSError as err:
                    raise StoreWriteError(path, err) from err
            finally:
                os.close(fd)
            offset = start
            for (ts, _, _), line in zip(events, lines, strict=True):
                index.offsets.append(offset)
                index.stamps.append(ts)
                offset += len(line)
            index.size = offset

    def position(self, key: tuple[str, str, str], timestamp: int | None, default: int = 0
                 ) -> int:
        """The number of the first event at or after ``timestamp`` (``default`` for None)."""
        with self._lock:
            stamps = self._index(key).stamps
            return default if timestamp is None else bisect_left(stamps, int(timestamp))

    def count(self, key: tuple[str, str, str]) -> int:
        with self._lock:
            return len(self._index(key).offsets)

    def read(self, key: tuple[str, str, str], low: int, high: int
             ) -> Iterator[tuple[int, int, str, int]]:
        """Events ``low`` to ``high`` (exclusive) as (timestamp, ingestion, message, number)."""
        with self._lock:
            index = self._index(key)
            high = min(high, len(index.offsets))
            if low >= high:
                return iter(())
            start = index.offsets[low]
            end = index.offsets[high] if high < len(index.offsets) else index.size
        return _parse(self._path(key), start, end, low)

    def delete(self, region: str, group: str, stream: str | None = None) -> None:
        """Forget a stream, or every stream of a group."""
        with self._lock:
            for key in [k for k in self._indexes if k[:2] == (region, group)
                        and (stream is None or k[2] == stream)]:
                del self._indexes[key]
            if stream is None:
                shutil.rmtree(self._path((region, group, "-")).parent, ignore_errors=True)
            else:
                self._path((region, group, stream)).unlink(missing_ok=True)

    def _index(self, key: tuple[str, str, str]) -> _Index:
        index = self._indexes.get(key)
        if index is None:
            index = self._indexes[key] = _scan(self._path(key))
        return index

    def _path(self, key: tuple[str, str, str]) -> Path:
        region, group, stream = key
        return self.root / _safe(region) / _digest(group) / (_digest(stream) + ".events")


def _scan(path: Path) -> _Index:
    """Rebuild a stream's index from its file (its first read after a start)."""
    index = _Index()
    try:
        fh = open(path, "rb")
    except FileNotFoundError:
        return index
    with fh:
        offset = 0
        for line in fh:
            if not line.endswith(b"\n"):
                break  # a torn last line (a crash mid-append): never acknowledged
            index.offsets.append(offset)
            index.stamps.append(int(line[:line.index(b" ")]))
            offset += len(line)
    index.size = offset
    return index


def _parse(path: Path, start: int, end: int, number: int
           ) -> Iterator[tuple[int, int, str, int]]:
    with open(path, "rb") as fh:
        fh.seek(start)
        remaining = end - start
        for line in fh:
            if remaining <= 0:
                return
            remaining -= len(line)
            ts, ingested, message = line.split(b" ", 2)
            yield int(ts), int(ingested), json.loads(message), number
            number += 1


def _digest(name: str) -> str:
    """A file name for any group or stream name (they may hold '/', '..', ':')."""
    return hashlib.sha256(name.encode()).hexdigest()[:32]


def _safe(region: str) -> str:
    return region if region.replace("-", "").isalnum() else _digest(region)
