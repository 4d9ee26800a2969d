"""A synthetic account for the fleet report: pipelines, executions and their archived events.

Events have CodePipeline's shapes (pipeline, stage and action state changes, as the local
engine puts them) and are written as the archive holds them: gzipped JSON lines, many events an
object. Deterministic for a seed, so a test and the benchmark see the same fleet.
"""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

STAGES = ("Source", "Build", "Deploy-staging", "Deploy-production")
ACTIONS = {"Source": "Source", "Build": "Build", "Deploy-staging": "Deploy",
           "Deploy-production": "Deploy"}
DETAIL_TYPES = {"pipeline": "CodePipeline Pipeline Execution State Change",
                "stage": "CodePipeline Stage Execution State Change",
                "action": "CodePipeline Action Execution State Change"}
EVENTS_PER_EXECUTION = 2 + 4 * len(STAGES)  # succeeded runs; failed ones stop early


def _iso(t: datetime, ms: bool = False) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z" if ms else t.strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def _event(kind: str, t: datetime, detail: dict) -> dict:
    return {"version": "0", "id": f"{detail['execution-id']}-{kind}-{detail.get('stage', '')}-"
            f"{detail['state']}", "detail-type": DETAIL_TYPES[kind],
            "source": "aws.codepipeline", "account": "123456789012", "time": _iso(t),
            "region": "us-east-1",
            "resources": [f"arn:aws:codepipeline:us-east-1:123456789012:{detail['pipeline']}"],
            "detail": detail}


def execution_events(pipeline: str, execution: str, start: datetime, rng: random.Random,
                     fail_rate: float) -> Iterator[dict]:
    """One execution's events in order; it fails at a random stage with ``fail_rate``."""
    base = {"pipeline": pipeline, "execution-id": execution, "start-time": _iso(start, True),
            "version": 1.0, "pipeline-execution-attempt": 1.0}
    failing = rng.choice(STAGES[1:]) if rng.random() < fail_rate else None
    t = start
    yield _event("pipeline", t, {**base, "state": "STARTED"})
    for stage in STAGES:
        action = {"stage": stage, "action": ACTIONS[stage]}
        yield _event("stage", t, {**base, "stage": stage, "state": "STARTED"})
        yield _event("action", t, {**base, **action, "state": "STARTED"})
        t += timedelta(seconds=rng.randint(5, 400))
        state = "FAILED" if stage == failing else "SUCCEEDED"
        yield _event("action", t, {**base, **action, "state": state})
        yield _event("stage", t, {**base, "stage": stage, "state": state})
        if state == "FAILED":
            break
    yield _event("pipeline", t, {**base, "state": "FAILED" if failing else "SUCCEEDED"})


def fleet_events(pipelines: int, runs_per_pipeline: int, until: datetime, days: int = 30,
                 seed: int = 7) -> Iterator[dict]:
    """Every event of a synthetic fleet, executions spread over the last ``days`` days."""
    rng = random.Random(seed)
    span = days * 86400 - 3600
    for p in range(pipelines):
        name = f"fleet-{p:03d}-pipeline"
        fail_rate = rng.choice((0.02, 0.1, 0.3))
        for r in range(runs_per_pipeline):
            start = until - timedelta(seconds=rng.randint(3600, span))
            yield from execution_events(name, f"{p:03d}-{r:06d}-0000-0000-000000000000",
                                        start.replace(microsecond=0), rng, fail_rate)


def write_archive(events: Iterator[dict], folder: Path, per_object: int = 5000) -> int:
    """Gzipped JSON lines files N.json.gz of ``per_object`` events; the number of events."""
    folder.mkdir(parents=True, exist_ok=True)
    count, batch, n = 0, [], 0
    for event in events:
        batch.append(json.dumps(event, separators=(",", ":")))
        count += 1
        if len(batch) == per_object:
            (folder / f"{n}.json.gz").write_bytes(gzip.compress(
                ("\n".join(batch) + "\n").encode(), compresslevel=1))
            batch, n = [], n + 1
    if batch:
        (folder / f"{n}.json.gz").write_bytes(gzip.compress(("\n".join(batch) + "\n").encode(),
                                                            compresslevel=1))
    return count
