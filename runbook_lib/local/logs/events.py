"""PutLogEvents and GetLogEvents for the local AWS, served from the project's own log store.

Log groups and streams (create, describe, tags, retention, delete) stay moto's, and are
journalled like any other state; their events live in :class:`~.store.LogStore` only, so
build output is kept once, on disk, and never replayed at start. A stream must exist in moto
before events are put to it, as in CloudWatch (checked once per stream, then remembered).

Tokens follow CloudWatch's rules: ``nextForwardToken`` stays the same once the end is reached
(readers stop there), and a page holds at most ``limit`` events (10,000) and 1 MB.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from runbook_lib.local.logs.store import LogStore
from runbook_lib.local.server.wire import AwsError, Request, Response, json_response

MAX_LIMIT = 10_000
MAX_PAGE_BYTES = 1_048_576
_EVENT_OVERHEAD = 26  # CloudWatch counts each event's message bytes plus 26


class CloudWatchLogEvents:
    """The ``logs`` event operations; ``store`` is shared with FilterLogEvents."""

    def __init__(self, context) -> None:
        self.context = context
        self.store = LogStore(context.state_dir)
        self._known: set[tuple[str, str, str]] = set()
        self._lock = threading.Lock()

    def routes(self):
        return {("logs", "PutLogEvents"): self.put_log_events,
                ("logs", "GetLogEvents"): self.get_log_events}

    def after_forward(self, request: Request, status: int) -> None:
        """A deleted group or stream takes its events with it."""
        if request.service != "logs" or status >= 400:
            return
        if request.operation not in ("DeleteLogGroup", "DeleteLogStream"):
            return
        body = request.json()
        group, stream = body.get("logGroupName", ""), body.get("logStreamName")
        with self._lock:
            self._known = {k for k in self._known if k[:2] != (request.region, group)
                           or (stream is not None and k[2] != stream)}
        self.store.delete(request.region, group, stream)

    def put_log_events(self, request: Request) -> Response:
        body = request.json()
        key = (request.region, _group(body), body.get("logStreamName") or "")
        events = body.get("logEvents") or []
        if not events:
            raise _invalid("logEvents must hold at least one event")
        stamps = [int(e.get("timestamp", 0)) for e in events]
        if stamps != sorted(stamps):
            raise _invalid("Log events in a single PutLogEvents request must be in "
                           "chronological order.")
        self._require_stream(key)
        now = int(time.time() * 1000)
        self.store.append(key, [(ts, now, str(e.get("message", "")))
                                for ts, e in zip(stamps, events, strict=True)])
        return json_response({"nextSequenceToken": f"{self.store.count(key):056d}"})

    def get_log_events(self, request: Request) -> Response:
        body = request.json()
        key = (request.region, _group(body), body.get("logStreamName") or "")
        self._require_stream(key)
        limit = int(body.get("limit") or MAX_LIMIT)
        if not 1 <= limit <= MAX_LIMIT:
            raise _invalid(f"limit={limit}: must be between 1 and {MAX_LIMIT}")
        low = self.store.position(key, body.get("startTime"))
        high = self.store.position(key, body.get("endTime"), self.store.count(key))
        direction, at = _token(body.get("nextToken"), body.get("startFromHead", False), low,
                               high)
        if direction == "f":
            events = self._page(key, max(at, low), high, limit)
            first, last = max(at, low), max(at, low) + len(events)
        else:
            start = max(low, min(at, high) - limit)
            events = self._page(key, start, min(at, high), limit)
            first, last = start, start + len(events)
        return json_response({"events": events, "nextForwardToken": f"f/{last:056d}",
                              "nextBackwardToken": f"b/{first:056d}"})

    def _page(self, key: tuple[str, str, str], low: int, high: int, limit: int
              ) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        size = 0
        for ts, ingested, message, _ in self.store.read(key, low, min(high, low + limit)):
            size += len(message.encode()) + _EVENT_OVERHEAD
            if events and size > MAX_PAGE_BYTES:
                break
            events.append({"timestamp": ts, "message": message, "ingestionTime": ingested})
        return events

    def _require_stream(self, key: tuple[str, str, str]) -> None:
        """The stream exists in moto (asked once; a delete is seen by :meth:`after_forward`)."""
        with self._lock:
            if key in self._known:
                return
        region, group, stream = key
        client = self.context.aws.client("logs", region)
        try:
            pages = client.get_paginator("describe_log_streams").paginate(
                logGroupName=group, logStreamNamePrefix=stream)
            found = any(s["logStreamName"] == stream for page in pages
                        for s in page["logStreams"])
        except client.exceptions.ResourceNotFoundException as err:
            raise AwsError("ResourceNotFoundException",
                           "The specified log group does not exist.") from err
        if not found:
            raise AwsError("ResourceNotFoundException", "The specified log stream does not "
                           "exist.")
        with self._lock:
            self._known.add(key)


def _token(token: str | None, from_head: bool, low: int, high: int) -> tuple[str, int]:
    """(direction, index) of a page: a token's, else the head or the tail of the range."""
    if not token:
        return ("f", low) if from_head else ("b", high)
    try:
        direction, number = token.split("/", 1)
        if direction not in ("f", "b"):
            raise ValueError(direction)
        return direction, int(number)
    except ValueError as err:
        raise _invalid("The specified nextToken is invalid. Fix: pass the nextForwardToken "
                       "or nextBackwardToken of the previous GetLogEvents call") from err


def _group(body: dict[str, Any]) -> str:
    identifier = body.get("logGroupIdentifier") or ""
    group = body.get("logGroupName") or (
        identifier.split(":log-group:", 1)[-1].removesuffix(":*") if identifier else "")
    if not group:
        raise _invalid("logGroupName is required. Fix: pass --log-group-name")
    return group


def _invalid(message: str) -> AwsError:
    return AwsError("InvalidParameterException", message)
