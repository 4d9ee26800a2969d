"""Stage statistics and DORA metrics over long histories, from recorded pages.

The pages are what ListPipelineExecutions and ListActionExecutions return (100 items a page,
newest first, botocore's shapes: datetimes, nested dicts) for a history of N executions: green
runs, red builds, failed production deploys and rollbacks. They are made one page at a time, as
a paginator hands them over, so the figure is the analysis (records, stage and action
statistics, DORA), not the API calls. Time and peak memory (tracemalloc) are separate runs.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial

from benchmarks.report import Result, peak_mb, verdict
from runbook_lib.operate import dora, durations

SIZES = (1_000, 10_000, 100_000)
PAGE = 100
T0 = datetime(2025, 1, 1, tzinfo=UTC)
STAGES = (("Source", "Source", "Source", "CodeStarSourceConnection"),
          ("Build", "UnitTests", "Build", "CodeBuild"),
          ("Deploy-staging", "Deploy", "Deploy", "S3"),
          ("Deploy-production", "Deploy", "Deploy", "S3"))


def run_all(runs: int = 3, sizes: tuple[int, ...] = SIZES) -> list[Result]:
    return [_measure(size, max(1, runs)) for size in sizes]


def _measure(size: int, runs: int) -> Result:
    recorded = (list(execution_pages(size)), list(action_pages(size)))
    timings = [_timed(partial(analyse, *recorded)) for _ in range(runs)]
    del recorded
    wall = statistics.median(t[0] for t in timings)
    cpu = statistics.median(t[1] for t in timings)
    peak = peak_mb(partial(analyse, execution_pages(size), action_pages(size)))
    figure = f"{wall:.2f} s ({cpu:.2f} s CPU), peak {peak:.0f} MB"
    if size >= 100_000:
        figure += "; " + verdict(cpu < 10 and peak < 300, "target < 10 s CPU and < 300 MB")
    else:
        figure += "; for the trend (the target is at 100,000)"
    return Result(f"analytics {size:,} executions", figure)


def analyse(execution_pages: Iterable[list[dict]], action_pages: Iterable[list[dict]]
            ) -> tuple:
    """What the durations notebook and the health report compute, from recorded pages.

    build_records reads the actions, then each summary once: both are replayed page by page,
    so only the records are kept.
    """
    summaries = (item for page in execution_pages for item in page)
    actions = (item for page in action_pages for item in page)
    records = durations.build_records("bench", summaries, actions, [s[0] for s in STAGES])
    return (durations.stage_stats(records), durations.action_stats(records),
            dora.compute_dora(records, "Deploy-production"))


def _kind(n: int) -> str:
    """Run ``n``'s story: mostly green, some red builds, failed and rolled-back deploys."""
    return {3: "red", 7: "prod-failed", 8: "rollback"}.get(n % 10, "green")


def execution_pages(size: int) -> Iterator[list[dict]]:
    for first in range(size - 1, -1, -PAGE):  # newest first
        yield [_summary(n) for n in range(first, max(first - PAGE, -1), -1)]


def action_pages(size: int) -> Iterator[list[dict]]:
    page: list[dict] = []
    for n in range(size - 1, -1, -1):
        page += reversed(_actions(n))
        while len(page) >= PAGE:
            yield page[:PAGE]
            page = page[PAGE:]
    if page:
        yield page


def _start(n: int) -> datetime:
    return T0 + timedelta(minutes=30 * n)


def _summary(n: int) -> dict:
    kind = _kind(n)
    status = "Failed" if kind in ("red", "prod-failed") else "Succeeded"
    item = {"pipelineExecutionId": f"exec-{n:07d}", "status": status,
            "executionType": "ROLLBACK" if kind == "rollback" else "STANDARD",
            "trigger": {"triggerType": "Webhook"}, "startTime": _start(n),
            "lastUpdateTime": _start(n) + timedelta(minutes=12),
            "sourceRevisions": [{"actionName": "Source", "revisionId": f"{n:040x}",
                                 "revisionSummary": '{"CommitMessage": "change"}'}]}
    if kind == "rollback":
        item["rollbackMetadata"] = {"rollbackTargetPipelineExecutionId": f"exec-{n - 2:07d}"}
    return item


def _actions(n: int) -> list[dict]:
    kind = _kind(n)
    stages = STAGES[3:] if kind == "rollback" else STAGES[:2] if kind == "red" else STAGES
    out = []
    for i, (stage, action, category, provider) in enumerate(stages):
        failed = (kind == "red" and stage == "Build") or (
            kind == "prod-failed" and stage == "Deploy-production")
        start = _start(n) + timedelta(minutes=3 * i)
        item = {"pipelineExecutionId": f"exec-{n:07d}", "stageName": stage,
                "actionName": action, "status": "Failed" if failed else "Succeeded",
                "startTime": start, "lastUpdateTime": start + timedelta(minutes=2, seconds=n % 60),
                "input": {"actionTypeId": {"category": category, "owner": "AWS",
                                           "provider": provider, "version": "1"}},
                "output": {"executionResult": {"externalExecutionId": f"bench-build:{n:08d}"}}}
        if category == "Source":
            item["output"]["outputVariables"] = {
                "CommitId": f"{n:040x}", "AuthorDate": (start - timedelta(hours=1)).isoformat()}
        out.append(item)
    return out


def _timed(action) -> tuple[float, float]:
    """Wall and CPU seconds: on a shared machine the CPU time is the work's own."""
    wall, cpu = time.perf_counter(), time.process_time()
    action()
    return time.perf_counter() - wall, time.process_time() - cpu
