"""FilterLogEvents for the local AWS: CloudWatch's filter patterns, paged by a cursor per stream.

moto's own FilterLogEvents ignores ``?term`` patterns (every event comes back), rescans the
whole group for every page and keeps events at ``endTime``. This extension serves the
operation instead, reading the events from the log store that PutLogEvents writes
(:mod:`.events`, :mod:`.store`), straight from disk:

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
from typing import Any

from runbook_lib.local.logs.events import CloudWatchLogEvents
from runbook_lib.local.logs.filter_pattern import compile_pattern
from runbook_lib.local.logs.pattern_values import FilterPatternError
from runbook_lib.local.logs.store import LogStore
from runbook_lib.local.server.wire import AwsError, Request, Response, json_response

SCAN_BUDGET = 1_000_000  # events looked at per call at most, so one call stays short
MAX_LIMIT = 10_000


class CloudWatchLogsFilter:
    """The ``logs`` FilterLogEvents operation, over the log store of CloudWatchLogEvents."""

    def __init__(self, context):
        self.context = context

    def routes(self):
        return {("logs", "FilterLogEvents"): self.filter_log_events}

    @property
    def store(self) -> LogStore:
        return self.context.peers.get(CloudWatchLogEvents).store

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
        ranges = {}
        for name in names:
            key = (request.region, group, name)
            low = self.store.position(key, body.get("startTime"))
            high = self.store.position(key, body.get("endTime"), self.store.count(key))
            ranges[name] = (key, max(low, cursors.get(name, 0)), high)
        events, cursors = _scan(self.store, ranges, matches, limit)
        payload: dict[str, Any] = {"events": events, "searchedLogStreams": [
            {"logStreamName": n, "searchedCompletely": cursors[n] >= ranges[n][2]}
            for n in names]}
        if any(cursors[n] < ranges[n][2] for n in names):
            payload["nextToken"] = _encode_token(group, cursors)
        return json_response(payload)

    # -- stream names (moto's) --------------------------------------------------------------

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


def _scan(store: LogStore, ranges: dict, matches, limit: int
          ) -> tuple[list[dict], dict[str, int]]:
    """Matching events in time order across streams, from each stream's cursor."""
    cursors = {name: low for name, (_, low, _) in ranges.items()}
    streams = [((ts, order, number, name, ingested, message)
                for ts, ingested, message, number in store.read(key, low, high))
               for order, (name, (key, low, high)) in enumerate(ranges.items())]
    merged = streams[0] if len(streams) == 1 else heapq.merge(*streams)
    events: list[dict] = []
    for scanned, (stamp, _, number, name, ingested, message) in enumerate(merged):
        if len(events) >= limit or scanned >= SCAN_BUDGET:
            break
        cursors[name] = number + 1
        if matches(message):
            events.append({"logStreamName": name, "timestamp": stamp, "message": message,
                           "ingestionTime": ingested, "eventId": f"{stamp:016d}{number:020d}"})
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
