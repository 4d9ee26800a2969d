"""FilterLogEvents for the local AWS: CloudWatch's filter patterns, paged by a cursor per stream.

moto's own FilterLogEvents ignores ``?term`` patterns (every event comes back), rescans the
whole group for every page and keeps events at ``endTime``. This extension serves the
operation instead. It reads each stream from moto through the wire protocol (GetLogEvents)
once, keeps a copy that PutLogEvents extends (seen through the dispatcher's observer hook), and
answers from it:

- the pattern is compiled once per request (:mod:`.filter_pattern`);
- events are taken in time order across the streams asked for; ``startTime`` is inclusive,
  ``endTime`` exclusive, as for GetLogEvents;
- ``nextToken`` holds the position reached in each stream, so the next page starts there and
  nothing is scanned twice; a page stops at ``limit`` matches or after ``SCAN_BUDGET`` events.
"""

from __future__ import annotations

import base64
import heapq
import json
import threading
from bisect import bisect_left
from dataclasses import dataclass, field

from runbook_lib.local.logs.filter_pattern import FilterPatternError, compile_pattern
from runbook_lib.local.server.wire import AwsError, Request, Response, json_response

SCAN_BUDGET = 1_000_000  # events looked at per call at most, so one call stays short
MAX_LIMIT = 10_000


@dataclass
class _Stream:
    """A copy of one stream's events, oldest first, and moto's token to read what follows."""

    stamps: list[int] = field(default_factory=list)
    events: list[tuple[int, str, int, str]] = field(default_factory=list)  # ts, msg, ingest, id
    token: str | None = None
    dirty: bool = True


class CloudWatchLogsFilter:
    """The ``logs`` FilterLogEvents operation; everything else about logs stays moto's."""

    def __init__(self, context):
        self.context = context
        self._streams: dict[tuple[str, str, str], _Stream] = {}
        self._lock = threading.Lock()

    def routes(self):
        return {("logs", "FilterLogEvents"): self.filter_log_events}

    def after_forward(self, request: Request, status: int) -> None:
        """Mark a stream's copy stale when moto's changes; forget deleted ones."""
        if request.service != "logs" or status >= 400 or not self._streams:
            return  # nothing cached yet: a build writing its log costs nothing here
        operation = request.operation
        if operation not in ("PutLogEvents", "DeleteLogStream", "DeleteLogGroup"):
            return
        body = request.json()
        group, stream = body.get("logGroupName", ""), body.get("logStreamName", "")
        with self._lock:
            for key in list(self._streams):
                if key[:2] == (request.region, group) and (not stream or key[2] == stream):
                    if operation == "PutLogEvents":
                        self._streams[key].dirty = True
                    else:
                        del self._streams[key]

    # -- the operation ------------------------------------------------------------------------

    def filter_log_events(self, request: Request) -> Response:
        body = request.json()
        group = body.get("logGroupName") or _group_from_arn(body.get("logGroupIdentifier", ""))
        if not group:
            raise _invalid("logGroupName is required. Fix: pass --log-group-name")
        limit = int(body.get("limit") or MAX_LIMIT)
        if not 1 <= limit <= MAX_LIMIT:
            raise _invalid(f"limit={limit}: must be between 1 and {MAX_LIMIT}")
        try:
            matches = compile_pattern(body.get("filterPattern"))
        except FilterPatternError as err:
            raise _invalid(str(err)) from err
        names = self._stream_names(request.region, group, body)
        cursors = _decode_token(body.get("nextToken"), group)
        start, end = body.get("startTime"), body.get("endTime")
        ranges = {}
        for name in names:
            stream = self._stream(request.region, group, name)
            low = bisect_left(stream.stamps, start) if start is not None else 0
            high = bisect_left(stream.stamps, end) if end is not None else len(stream.stamps)
            ranges[name] = (stream, max(low, cursors.get(name, 0)), high)
        events, cursors = _scan(ranges, matches, limit)
        payload = {"events": events, "searchedLogStreams": [
            {"logStreamName": n, "searchedCompletely": cursors[n] >= ranges[n][2]}
            for n in names]}
        if any(cursors[n] < ranges[n][2] for n in names):
            payload["nextToken"] = _encode_token(group, cursors)
        return json_response(payload)

    # -- reading moto -------------------------------------------------------------------------

    def _stream_names(self, region: str, group: str, body: dict) -> list[str]:
        client = self.context.aws.client("logs", region)
        wanted = body.get("logStreamNames") or []
        prefix = body.get("logStreamNamePrefix") or ""
        if wanted and prefix:
            raise _invalid("logStreamNames and logStreamNamePrefix cannot both be given. "
                           "Fix: pass only one of them")
        names: list[str] = []
        try:
            paginator = client.get_paginator("describe_log_streams")
            for page in paginator.paginate(logGroupName=group, **(
                    {"logStreamNamePrefix": prefix} if prefix else {})):
                names += [s["logStreamName"] for s in page["logStreams"]]
        except client.exceptions.ResourceNotFoundException as err:
            raise AwsError("ResourceNotFoundException",
                           "The specified log group does not exist.") from err
        return [n for n in names if n in set(wanted)] if wanted else names

    def _stream(self, region: str, group: str, name: str) -> _Stream:
        with self._lock:
            stream = self._streams.setdefault((region, group, name), _Stream())
            if stream.dirty:
                stream.dirty = False
                self._read_new_events(region, group, name, stream)
            return stream

    def _read_new_events(self, region: str, group: str, name: str, stream: _Stream) -> None:
        """Events appended since the last read, following moto's forward token."""
        client = self.context.aws.client("logs", region)
        while True:
            page = client.get_log_events(logGroupName=group, logStreamName=name,
                                         startFromHead=True,
                                         **({"nextToken": stream.token} if stream.token else {}))
            for e in page["events"]:
                if stream.stamps and e["timestamp"] < stream.stamps[-1]:
                    stream.__init__()  # written out of order: read the stream again, sorted
                    stream.dirty = False
                    return self._read_new_events(region, group, name, stream)
                number = len(stream.events)
                stream.stamps.append(e["timestamp"])
                stream.events.append((e["timestamp"], e["message"], e.get("ingestionTime", 0),
                                      f"{e['timestamp']:016d}{number:020d}"))
            if page.get("nextForwardToken") in (None, stream.token):
                return None
            stream.token = page["nextForwardToken"]


def _scan(ranges: dict, matches, limit: int) -> tuple[list[dict], dict[str, int]]:
    """Matching events in time order across streams, from each stream's cursor."""
    cursors = {name: low for name, (_, low, _) in ranges.items()}
    if len(ranges) == 1:
        return _scan_one(ranges, matches, limit, cursors)
    iterators = [((stream.events[i][0], order, i, name) for i in range(low, high))
                 for order, (name, (stream, low, high)) in enumerate(ranges.items())]
    merged = iterators[0] if len(iterators) == 1 else heapq.merge(*iterators)
    events: list[dict] = []
    for scanned, (_, _, i, name) in enumerate(merged):
        if len(events) >= limit or scanned >= SCAN_BUDGET:
            break
        stamp, message, ingested, event_id = ranges[name][0].events[i]
        cursors[name] = i + 1
        if matches(message):
            events.append({"logStreamName": name, "timestamp": stamp, "message": message,
                           "ingestionTime": ingested, "eventId": event_id})
    return events, cursors


def _scan_one(ranges: dict, matches, limit: int, cursors: dict[str, int]
              ) -> tuple[list[dict], dict[str, int]]:
    """:func:`_scan` for one stream: no merge, a plain loop over its slice."""
    (name, (stream, low, high)), = ranges.items()
    events: list[dict] = []
    stop = min(high, low + SCAN_BUDGET)
    i = low
    for i in range(low, stop):  # noqa: B007  (i is the cursor after the loop)
        stamp, message, ingested, event_id = stream.events[i]
        if matches(message):
            events.append({"logStreamName": name, "timestamp": stamp, "message": message,
                           "ingestionTime": ingested, "eventId": event_id})
            if len(events) >= limit:
                cursors[name] = i + 1
                return events, cursors
    cursors[name] = max(stop, low)
    return events, cursors


def _encode_token(group: str, cursors: dict[str, int]) -> str:
    raw = json.dumps({"g": group, "c": cursors}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _decode_token(token: str | None, group: str) -> dict[str, int]:
    if not token:
        return {}
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        if data["g"] != group:
            raise ValueError(group)
        return {str(k): int(v) for k, v in data["c"].items()}
    except (ValueError, KeyError, TypeError) as err:
        raise _invalid("The specified nextToken is invalid. Fix: pass the nextToken of the "
                       "previous FilterLogEvents call with the same log group") from err


def _group_from_arn(identifier: str) -> str:
    return identifier.split(":log-group:", 1)[-1].removesuffix(":*") if identifier else ""


def _invalid(message: str) -> AwsError:
    return AwsError("InvalidParameterException", message)
