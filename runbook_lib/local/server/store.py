"""A small JSON document store in the state directory, so local state survives a restart."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


class JsonStore:
    """One JSON document, read at start and written atomically after each change."""

    def __init__(self, path: Path, default: Any) -> None:
        self.path = Path(path)
        self.lock = threading.RLock()
        try:
            self.data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            self.data = default

    def save(self) -> None:
        with self.lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(self.path.suffix + f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(self.data, default=str))  # C encoder: no indent, no sort
            tmp.replace(self.path)

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """Hold the lock, yield the document, save it when the block ends without error."""
        with self.lock:
            yield self.data
            self.save()
