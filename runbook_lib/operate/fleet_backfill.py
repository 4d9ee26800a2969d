"""Backfill: history older than the event archive, read once through the APIs into it.

The archive holds what happened after its rule existed. Finished runs whose end is not in the
archive's own events are read once, pipeline by pipeline, with ListPipelineExecutions and
ListActionExecutions (paginators, at most :data:`DEFAULT_RATE` calls a second: these List APIs
have low account rates) and written into the archive as the events CodePipeline would have
put: pipeline STARTED and its end state, each stage's start and end, each action's. The
objects go under the day folder of the run's start, named ``backfill-PIPELINE-YYYYMMDD.json.gz``,
so a second backfill rewrites the same objects instead of adding copies; the archive is read
first (:func:`runbook_lib.operate.fleet.archived_runs`) so a run is never written twice."""

from __future__ import annotations

import gzip
import json
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from runbook_lib.core.session import AwsSession
from runbook_lib.operate import fleet
from runbook_lib.operate import fleet_queries as q
from runbook_lib.operate.summaries import TERMINAL
from runbook_lib.setup.event_archive_spec import BUFFER_SECONDS, EVENTS_PREFIX, ArchiveNames

DEFAULT_RATE = 1.0  # calls a second, per operation: a conservative reading of the List APIs
_STATE = {"Succeeded": "SUCCEEDED", "Failed": "FAILED", "Stopped": "STOPPED",
          "Superseded": "SUPERSEDED", "Cancelled": "CANCELED", "Abandoned": "ABANDONED"}
_KIND_TYPES = {v: k for k, v in q.KINDS.items()}


@dataclass
class BackfillResult:
    """What one backfill read and wrote."""

    pipelines: int = 0
    executions: int = 0
    events: int = 0
    objects: int = 0
    calls: Counter[str] = field(default_factory=Counter)


class RateLimiter:
    """At most ``rate`` calls a second for each operation name (a steady pace, no burst)."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if rate <= 0:
            raise ValueError(f"rate={rate}: must be above 0 calls a second")
        self.interval, self.clock, self.sleep = 1.0 / rate, clock, sleep
        self._next: dict[str, float] = {}

    def wait(self, operation: str) -> None:
        now = self.clock()
        due = self._next.get(operation, now)
        if due > now:
            self.sleep(due - now)
            now = due
        self._next[operation] = now + self.interval


def archive_start(session: AwsSession, archive: ArchiveNames) -> datetime:
    """When the archive's stream was created: events before it were never archived."""
    found = session.client("firehose").describe_delivery_stream(
        DeliveryStreamName=archive.stream)["DeliveryStreamDescription"]
    created: datetime = found["CreateTimestamp"]
    return created.astimezone(UTC)


def _paged(session: AwsSession, limiter: RateLimiter, result: BackfillResult, operation: str,
           key: str, **kwargs: Any) -> Iterable[dict[str, Any]]:
    paginator = session.client("codepipeline").get_paginator(operation)
    pages = iter(paginator.paginate(**kwargs))
    while True:
        limiter.wait(operation)  # before each call the paginator may make
        page = next(pages, None)
        if page is None:
            return
        result.calls[operation] += 1
        yield from page.get(key, [])


def backfill(session: AwsSession, archive: ArchiveNames, before: datetime,
             pipelines: list[str] | None = None, rate: float = DEFAULT_RATE,
             on_progress: Callable[[str], None] | None = None,
             limiter: RateLimiter | None = None,
             archived: frozenset[str] | set[str] = frozenset()) -> BackfillResult:
    """Every run of ``pipelines`` (default: all of the account) that finished before
    ``before`` and whose end is not in the archive already (``archived``: execution ids),
    written into the archive."""
    limiter = limiter or RateLimiter(rate)
    result = BackfillResult()
    if pipelines is None:
        pipelines = [p["name"] for p in _paged(session, limiter, result, "list_pipelines",
                                               "pipelines")]
    for name in pipelines:
        try:
            runs = [r for r in _paged(session, limiter, result, "list_pipeline_executions",
                                      "pipelineExecutionSummaries", pipelineName=name)
                    if r["status"] in TERMINAL and r["lastUpdateTime"] < before
                    and r["pipelineExecutionId"] not in archived]
        except ClientError as err:
            if err.response["Error"]["Code"] != "PipelineNotFoundException":
                raise
            if on_progress:
                on_progress(f"{name}: no such pipeline, nothing to backfill")
            continue
        days: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for run in runs:
            actions = list(_paged(session, limiter, result, "list_action_executions",
                                  "actionExecutionDetails", pipelineName=name,
                                  filter={"pipelineExecutionId": run["pipelineExecutionId"]}))
            days[f"{run['startTime'].astimezone(UTC):%Y%m%d}"].extend(
                execution_events(name, run, actions))
        result.objects += _write(session, archive, name, days)
        result.pipelines += 1
        result.executions += len(runs)
        result.events += sum(len(v) for v in days.values())
        if on_progress:
            on_progress(f"{name}: {len(runs)} runs backfilled")
    return result


def _write(session: AwsSession, archive: ArchiveNames, pipeline: str,
           days: dict[str, list[dict[str, Any]]]) -> int:
    s3 = session.client("s3")
    for day, events in days.items():
        key = (f"{EVENTS_PREFIX}year={day[:4]}/month={day[4:6]}/day={day[6:]}/"
               f"{fleet.BACKFILL_PREFIX}{pipeline}-{day}.json.gz")
        body = "".join(json.dumps(e, separators=(",", ":")) + "\n" for e in events)
        s3.put_object(Bucket=archive.bucket, Key=key, Body=gzip.compress(body.encode()))
    return len(days)


def execution_events(pipeline: str, run: dict[str, Any], actions: list[dict[str, Any]]
                     ) -> list[dict[str, Any]]:
    """The events CodePipeline put for one finished run, rebuilt from its API records."""
    start, end = run["startTime"].astimezone(UTC), run["lastUpdateTime"].astimezone(UTC)
    base = {"pipeline": pipeline, "execution-id": run["pipelineExecutionId"],
            "start-time": _iso(start, ms=True)}
    out = [_event("pipeline", start, {**base, "state": "STARTED"}),
           _event("pipeline", end, {**base, "state": _STATE[run["status"]]})]
    stages: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for a in actions:
        stages[a["stageName"]].append(a)
        a_end = a.get("lastUpdateTime", a["startTime"]).astimezone(UTC)
        detail = {**base, "stage": a["stageName"], "action": a["actionName"]}
        out.append(_event("action", a["startTime"].astimezone(UTC), {**detail,
                                                                     "state": "STARTED"}))
        out.append(_event("action", a_end, {**detail, "state": _STATE.get(a["status"],
                                                                          "SUCCEEDED")}))
    for stage, items in stages.items():
        states = {i["status"] for i in items}
        state = "FAILED" if "Failed" in states else "SUCCEEDED"
        first = min(i["startTime"] for i in items).astimezone(UTC)
        last = max(i.get("lastUpdateTime", i["startTime"]) for i in items).astimezone(UTC)
        out.append(_event("stage", first, {**base, "stage": stage, "state": "STARTED"}))
        out.append(_event("stage", last, {**base, "stage": stage, "state": state}))
    return out


def _event(kind: str, when: datetime, detail: dict[str, Any]) -> dict[str, Any]:
    ident = f"backfill-{detail['execution-id']}-{kind}-{detail.get('stage', '')}-" \
            f"{detail.get('action', '')}-{detail['state']}"
    return {"version": "0", "id": ident, "detail-type": _KIND_TYPES[kind],
            "source": "aws.codepipeline", "time": _iso(when, ms=True), "detail": detail}


def _iso(when: datetime, ms: bool = False) -> str:
    text = when.strftime("%Y-%m-%dT%H:%M:%S.%f")
    return (text[:-3] if ms else text[:-7]) + "Z"


def backfill_app(session: AwsSession, archive: ArchiveNames, pipeline: str, everything: bool,
                 apply: bool, on_progress: Callable[[str], None] | None = print
                 ) -> BackfillResult | None:
    """The notebook's call: backfill this app's pipeline (or, with ``everything``, every
    pipeline of the account) once the archive exists; None when only planning."""
    if not apply:
        if on_progress:
            on_progress("plan only: nothing backfilled (pass apply=True)")
        return None
    # A run that ended in the last buffer interval may still be in Firehose's buffer.
    margin = timedelta(0 if session.is_local else BUFFER_SECONDS + 60)
    archived = fleet.archived_runs(session, archive.bucket, archive_start(session, archive))
    return backfill(session, archive, datetime.now(UTC) - margin,
                    None if everything else [pipeline], on_progress=on_progress,
                    archived=archived)
