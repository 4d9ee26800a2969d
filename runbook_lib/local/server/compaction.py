"""Which journal entries a start may drop: what a later entry made irrelevant.

The journal is replayed at every start, so its size is start-up time. An S3 object written
again (or deleted) later needs only its last write: the earlier ones are dropped when the
journal is rewritten at start. Kept, to stay exact: objects in a bucket that ever had
versioning configured (every version is state), objects a later copy reads (``x-amz-copy-
source``), and any request with a query (multipart parts, subresources).
"""

from __future__ import annotations

from urllib.parse import parse_qs, unquote

from runbook_lib.local.server.wire import Request


def superseded(requests: list[Request | None]) -> set[int]:
    """Positions of entries a later entry overwrites entirely."""
    versioned = {_bucket(r) for r in requests if r is not None and r.service == "s3"
                 and "versioning" in parse_qs(r.query, keep_blank_values=True)}
    copied = {_copy_source(r) for r in requests
              if r is not None and r.headers.get("x-amz-copy-source")}
    last: dict[tuple[str, str], int] = {}
    dropped: set[int] = set()
    for position, request in enumerate(requests):
        key = _object(request)
        if key is None:
            continue
        if key in last and key[0] not in versioned and key not in copied:
            dropped.add(last[key])
        last[key] = position
    return dropped


def _object(request: Request | None) -> tuple[str, str] | None:
    """(bucket, key) of a whole-object PUT or DELETE, path style and without a query."""
    if (request is None or request.service != "s3" or request.query
            or request.method not in ("PUT", "DELETE")):
        return None
    bucket, _, key = request.path.lstrip("/").partition("/")
    return (bucket, key) if bucket and key else None


def _bucket(request: Request) -> str:
    return request.path.lstrip("/").partition("/")[0]


def _copy_source(request: Request) -> tuple[str, str]:
    source = unquote(request.headers["x-amz-copy-source"]).lstrip("/").split("?")[0]
    bucket, _, key = source.partition("/")
    return bucket, key
