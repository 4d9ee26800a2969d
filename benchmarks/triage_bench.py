"""Build-log triage against the plain boto3 loop and the AWS CLI, on AWS-shaped pages.

For each size, in one run and interleaved (plain loop, triage, server-filtered triage, CLI,
then again), each reads the same synthetic CodeBuild log from :mod:`benchmarks.log_pages`:

- plain loop: GetLogEvents pages until the forward token repeats, ``"error" in message`` per
  line: the least a correct reader does;
- triage: ``logs.triage_build_log`` (classification, first error, excerpt), page by page;
- server-filtered: the same with ``server_filter=True`` (FilterLogEvents);
- AWS CLI: ``aws logs filter-log-events`` over the whole stream, output to /dev/null.

Each figure is a median, as wall time and as CPU time (this process and the CLI's). The
endpoint runs in its own process, so the CPU time is the reader's own work; on a machine
shared with other jobs the wall time mostly measures them, so the targets are checked on CPU.
Peak memory of triage is measured in a separate run under tracemalloc.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.endpoints import shaped_session
from benchmarks.log_pages import BUILD_ID, GROUP, STREAM, LogPages
from benchmarks.report import Result, peak_mb, verdict
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
        session = shaped_session(url)
        _check(session)
        times: dict[str, list[tuple[float, float]]] = {
            "plain": [], "triage": [], "filtered": [], "cli": []}
        for _ in range(runs):
            times["plain"].append(_timed(lambda: _plain_loop(session)))
            times["triage"].append(_timed(lambda: logs.triage_build_log(session, BUILD_ID)))
            times["filtered"].append(_timed(lambda: logs.triage_build_log(
                session, BUILD_ID, server_filter=True)))
            times["cli"].append(_timed(lambda: _aws_cli(url)))
        peak = peak_mb(lambda: logs.triage_build_log(session, BUILD_ID))
    w = {k: statistics.median(t[0] for t in v) for k, v in times.items()}
    c = {k: statistics.median(t[1] for t in v) for k, v in times.items()}
    label = f"triage {size:,} lines"
    return [
        Result(f"{label}: triage vs plain loop",
               f"{w['triage']:.2f} vs {w['plain']:.2f} s (x{w['triage'] / w['plain']:.2f}), "
               f"CPU {c['triage']:.2f} vs {c['plain']:.2f} s (x{c['triage'] / c['plain']:.2f}); "
               + verdict(c["triage"] / c["plain"] <= 1.5, "target <= x1.5 (CPU)")),
        Result(f"{label}: AWS CLI vs triage",
               f"{w['cli']:.2f} vs {w['triage']:.2f} s ({w['cli'] / w['triage']:.1f}x), "
               f"CPU {c['cli']:.2f} vs {c['triage']:.2f} s ({c['cli'] / c['triage']:.1f}x); "
               + verdict(c["cli"] / c["triage"] >= 3, "target >= 3x faster (CPU)")),
        Result(f"{label}: triage peak memory",
               f"{peak:.1f} MB (tracemalloc); " + verdict(peak < 50, "target < 50 MB")),
        Result(f"{label}: server-filtered triage",
               f"{w['filtered']:.2f} s (CPU {c['filtered']:.2f} s); "
               + verdict(w["filtered"] < 2, "target < 2 s")),
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


def _timed(action) -> tuple[float, float]:
    """Wall seconds, and CPU seconds of this process and its children (the AWS CLI): on a
    shared machine the CPU time is the reader's own work, the wall time also other loads'."""
    wall, before = time.perf_counter(), _cpu()
    action()
    return time.perf_counter() - wall, _cpu() - before


def _cpu() -> float:
    own, children = (resource.getrusage(who) for who in (resource.RUSAGE_SELF,
                                                          resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
