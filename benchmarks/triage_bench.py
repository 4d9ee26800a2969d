"""Build-log triage against the plain boto3 loop and the AWS CLI, on AWS-shaped pages.

For each size, in one run and interleaved (plain loop, triage, server-filtered triage, CLI,
then again), each reads the same synthetic CodeBuild log from :mod:`benchmarks.log_pages`:

- plain loop: GetLogEvents pages until the forward token repeats, ``"error" in message`` per
  line: the least a correct reader does;
- triage: ``logs.triage_build_log`` (classification, first error, excerpt), page by page;
- server-filtered: the same with ``server_filter=True`` (FilterLogEvents);
- AWS CLI: ``aws logs filter-log-events`` over the whole stream, output to /dev/null.

Peak memory of triage is measured in a separate run under tracemalloc.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

from benchmarks.log_pages import BUILD_ID, GROUP, STREAM, LogPages
from benchmarks.report import Result, verdict
from runbook_lib.core.session import AwsSession
from runbook_lib.operate import logs

AWS = str(Path(sys.executable).with_name("aws"))
SIZES = (10_000, 100_000, 1_000_000)


def run_all(runs: int = 5, sizes: tuple[int, ...] = SIZES) -> list[Result]:
    results = []
    for size in sizes:
        results += _measure(size, max(1, runs if size < 1_000_000 else runs // 2))
    return results


def _measure(size: int, runs: int) -> list[Result]:
    with LogPages(size, warm_pattern=logs.ERROR_FILTER_PATTERN) as url:
        session = AwsSession("local", "us-east-1", endpoint_url=url)
        _check(session)
        times: dict[str, list[float]] = {"plain": [], "triage": [], "filtered": [], "cli": []}
        for _ in range(runs):
            times["plain"].append(_timed(lambda: _plain_loop(session)))
            times["triage"].append(_timed(lambda: logs.triage_build_log(session, BUILD_ID)))
            times["filtered"].append(_timed(lambda: logs.triage_build_log(
                session, BUILD_ID, server_filter=True)))
            times["cli"].append(_timed(lambda: _aws_cli(url)))
        peak = _peak_mb(lambda: logs.triage_build_log(session, BUILD_ID))
    m = {k: statistics.median(v) for k, v in times.items()}
    label = f"triage {size:,} lines"
    return [
        Result(f"{label}: triage vs plain loop",
               f"{m['triage']:.2f} s vs {m['plain']:.2f} s (x{m['triage'] / m['plain']:.2f}); "
               + verdict(m["triage"] / m["plain"] <= 1.5, "target <= x1.5")),
        Result(f"{label}: AWS CLI vs triage",
               f"{m['cli']:.2f} s vs {m['triage']:.2f} s ({m['cli'] / m['triage']:.1f}x faster); "
               + verdict(m["cli"] / m["triage"] >= 3, "target >= 3x faster")),
        Result(f"{label}: triage peak memory",
               f"{peak:.1f} MB; " + verdict(peak < 50, "target < 50 MB")),
        Result(f"{label}: server-filtered triage",
               f"{m['filtered']:.2f} s; " + verdict(m["filtered"] < 2, "target < 2 s")),
    ]


def _check(session: AwsSession) -> None:
    """Both ways of reading find the planted failure, or the timings mean nothing."""
    for server_filter in (False, True):
        _, result = logs.triage_build_log(session, BUILD_ID, server_filter)
        if (result.category, result.error_line) != ("test_failure", "not ok 2 - greets by name"):
            raise RuntimeError(f"triage found {result.category!r} at {result.error_line!r}")


def _plain_loop(session: AwsSession) -> int:
    client = session.client("logs")
    token, hits = None, 0
    while True:
        page = client.get_log_events(logGroupName=GROUP, logStreamName=STREAM,
                                     startFromHead=True, **({"nextToken": token} if token else {}))
        for event in page["events"]:
            if "error" in event["message"]:
                hits += 1
        if page["nextForwardToken"] == token:
            return hits
        token = page["nextForwardToken"]


def _aws_cli(url: str) -> None:
    env = {**os.environ, "AWS_ENDPOINT_URL": url, "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"}
    env.pop("AWS_PROFILE", None)
    subprocess.run([AWS, "logs", "filter-log-events", "--log-group-name", GROUP,
                    "--log-stream-names", STREAM, "--output", "json"], check=True,
                   stdout=subprocess.DEVNULL, env=env, timeout=1800)


def _timed(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def _peak_mb(action) -> float:
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()
