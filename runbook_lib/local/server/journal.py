"""moto keeps state in memory; this journal makes it survive a restart.

Every successful mutating request forwarded to moto is appended, as it came off the wire, to
``moto-journal.jsonl`` in the state directory; on start the journal is replayed into a fresh moto
app through the same WSGI entry point. Replay re-runs the requests, so identifiers that moto
invents (subscription ARNs, object version ids) may differ from before the restart; names,
contents and configuration are the same.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
from pathlib import Path
from typing import Any

from runbook_lib.core.operations import is_read_operation
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
    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / JOURNAL_FILE
        self._lock = threading.Lock()

    def append(self, environ: dict[str, Any], request: Request) -> None:
        entry = {
            "method": request.method,
            "path": environ.get("RAW_URI") or request.path,
            "path_info": request.path,
            "query": request.query,
            "headers": {k: v for k, v in request.headers.items()
                        if k in _KEEP_HEADERS or k.startswith("x-amz-")},
            "body": base64.b64encode(request.body).decode("ascii"),
        }
        with self._lock, open(self.path, "a") as fh:
            fh.write(json.dumps(entry) + "\n")

    def replay(self, app, skip: set[tuple[str, str]] = frozenset()) -> int:
        """Feed every journalled request to ``app`` except (service, operation) pairs in
        ``skip``; returns how many were replayed."""
        if not self.path.exists():
            return 0
        count = 0
        for line in self.path.read_text().splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # a torn last line after a crash
            body = base64.b64decode(entry["body"])
            request = read_request(_environ(entry, body))
            if (request.service, request.operation) in skip:
                continue
            call_wsgi(app, _environ(entry, body))
            count += 1
        log.info("replayed %d journalled requests", count)
        return count


def _environ(entry: dict[str, Any], body: bytes) -> dict[str, Any]:
    return make_environ(entry["method"], entry["path_info"], entry["query"], entry["headers"],
                        body, raw_uri=entry["path"])
