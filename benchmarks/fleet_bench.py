"""The fleet report at scale: 500 pipelines and 2 million archived events, with DuckDB.

The synthetic archive (:mod:`benchmarks.fleet_data`: gzipped JSON lines, 5,000 events an
object) is written once to a temporary folder. What is timed is what ``runbook fleet`` does
after downloading the objects: DuckDB reads them all (``fleet.load_events``) and answers every
fleet query (``fleet.run_queries``). It runs in a child process so its peak resident memory
(VmHWM: Python and DuckDB's native memory together) is that of the report alone. The download
from S3 is not in the figure: on AWS it depends on the network, locally on moto.

Beside it, the API path for the same fleet is computed, not made: ListPipelines, then per
pipeline ListPipelineExecutions and ListActionExecutions pages of 100 (as the health report
reads them), and the time that takes at a paced call rate (see :data:`RATES`).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from benchmarks import fleet_data
from benchmarks.report import Result, verdict

PIPELINES = 500
EVENTS = 2_000_000
TARGET_S, TARGET_MB = 15.0, 1024.0
NOW = datetime(2026, 12, 7, 12, 0, 0)
# Calls a second, per List operation. The CodePipeline quotas pages read for this work gave no
# per-operation rate, so the figure is given at a paced 1 call/s (what the
# backfill uses) and at 5 calls/s; a throttled account sees the slower one.
RATES = (1.0, 5.0)


def _measure_child(folder: str) -> None:
    """In the child: load and query, then print seconds and peak RSS as JSON."""
    import resource

    from runbook_lib.operate import fleet

    start = time.perf_counter()
    con = fleet.connect(Path(folder) / "ext")
    events = fleet.load_events(con, Path(folder) / "objects")
    tables = fleet.run_queries(con, fleet.window_for(30, NOW))
    seconds = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)  # every DuckDB thread included
    peak_kb = next(int(line.split()[1]) for line in Path("/proc/self/status").read_text()
                   .splitlines() if line.startswith("VmHWM:"))
    print(json.dumps({"seconds": seconds, "cpu": usage.ru_utime + usage.ru_stime,
                      "peak_mb": peak_kb / 1024, "events": events,
                      "pipelines": len(tables["pipelines"].rows),
                      "extensions": fleet.downloaded_extensions(con)}))


def api_calls(pipelines: int, executions: int, actions: int) -> dict[str, int]:
    """Calls the API path makes for the fleet (pages of 100)."""
    return {"ListPipelines": math.ceil(pipelines / 100),
            "ListPipelineExecutions": pipelines * math.ceil(executions / pipelines / 100),
            "ListActionExecutions": pipelines * math.ceil(actions / pipelines / 100)}


def _counted(events: Iterator[dict], kinds: Counter) -> Iterator[dict]:
    """The events, streamed; counts runs (pipeline STARTED) and finished action runs."""
    pipeline, action = (fleet_data.DETAIL_TYPES[k] for k in ("pipeline", "action"))
    for event in events:
        started = event["detail"]["state"] == "STARTED"
        if event["detail-type"] == pipeline and started:
            kinds["pipeline"] += 1
        elif event["detail-type"] == action and not started:
            kinds["action"] += 1
        yield event


def run_all() -> list[Result]:
    runs = math.ceil(EVENTS / PIPELINES / (fleet_data.EVENTS_PER_EXECUTION - 1))
    with tempfile.TemporaryDirectory(prefix="fleet-bench-") as tmp:
        objects = Path(tmp) / "objects"
        (Path(tmp) / "ext").mkdir()
        kinds: Counter = Counter()
        count = fleet_data.write_archive(_counted(fleet_data.fleet_events(PIPELINES, runs, NOW),
                                                  kinds), objects)
        executions, actions = kinds["pipeline"], kinds["action"]
        child = subprocess.run([sys.executable, "-c", "import sys; from benchmarks import "
                                "fleet_bench; fleet_bench._measure_child(sys.argv[1])", tmp],
                               capture_output=True, text=True, check=True)
        got = json.loads(child.stdout.strip().splitlines()[-1])
    met = got["seconds"] <= TARGET_S and got["peak_mb"] <= TARGET_MB
    calls = api_calls(PIPELINES, executions, actions)
    total = sum(calls.values())
    at = ", ".join(f"{total / r / 60:.0f} min at {r:g}/s" for r in RATES)
    return [
        Result(f"fleet report, DuckDB, {PIPELINES} pipelines",
               f"{got['events']:,} events ({count:,} written), {got['seconds']:.1f} s wall "
               f"({got['cpu']:.1f} s CPU, DuckDB on every core), "
               f"peak {got['peak_mb']:.0f} MB, extensions fetched: {got['extensions'] or 0}; "
               + verdict(met, f"<= {TARGET_S:g} s and <= {TARGET_MB:g} MB")),
        Result("fleet by the APIs (computed)",
               f"{total:,} calls ({', '.join(f'{k} {v:,}' for k, v in calls.items())}) "
               f"for {executions:,} runs: {at}"),
    ]
