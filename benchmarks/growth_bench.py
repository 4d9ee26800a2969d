"""Bounded growth: a build printing 100 MB, then a restart of the local AWS (issue 22).

A real NO_SOURCE build prints ``MEGABYTES`` MB (100-byte lines) through the build runner into
CloudWatch Logs. Measured: the journal's size, the server's peak memory (VmHWM, from
/proc/PID/status) while the build ran, the time of a restart (``process.start`` until the
server answers, against the same start on an empty state folder, interleaved; the server's
own CPU time is the figure with the target, wall time moves with the machine's load), and the
restarted server's peak memory after reading the whole log back (GetLogEvents pages).
"""

from __future__ import annotations

import json
import os
import statistics
import time
from pathlib import Path

from benchmarks.report import Result, verdict
from runbook_lib.core.session import AwsSession
from runbook_lib.local.server import process
from runbook_lib.local.server.journal import JOURNAL_FILE

MEGABYTES = 100
LINE = 100  # bytes per line, newline included


def run_all(workdir: Path, runs: int = 3, megabytes: int = MEGABYTES) -> list[Result]:
    state = workdir / "state"
    status = process.start(state)
    try:
        session = AwsSession("local", "us-east-1", endpoint_url=status.endpoint_url)
        seconds, stream = _noisy_build(session, megabytes)
        build_peak = _peak_mb(status.pid)
    finally:
        process.stop(state)
    journal_mb = (state / JOURNAL_FILE).stat().st_size / 1e6
    starts, empty_starts = [], []
    for _ in range(runs):  # interleaved with a start on an empty folder: same machine load
        empty_starts.append(_timed_start(workdir / "empty"))
        process.stop(workdir / "empty")
        starts.append(_timed_start(state))
        process.stop(state)
    status = process.start(state)
    try:
        lines = _read_all(AwsSession("local", "us-east-1", endpoint_url=status.endpoint_url),
                          *stream)
        read_peak = _peak_mb(status.pid)
    finally:
        process.stop(state)
    wall, cpu = (statistics.median(s[i] for s in starts) for i in (0, 1))
    empty_wall, empty_cpu = (statistics.median(s[i] for s in empty_starts) for i in (0, 1))
    return [
        Result(f"build printing {megabytes} MB",
               f"{seconds:.1f} s; {lines:,} log lines read back of the "
               f"{megabytes * 1_000_000 // LINE:,} it printed (plus the agent's)"),
        Result(f"journal after {megabytes} MB of build output",
               f"{journal_mb:.2f} MB; " + verdict(journal_mb < 1, "target < 1 MB (logs kept "
                                                                  "once, in logs/)")),
        Result("server peak memory during the build",
               f"{build_peak:.0f} MB; " + verdict(build_peak < 200, "target < 200 MB")),
        Result(f"start after {megabytes} MB of build output",
               f"CPU {cpu:.2f} s, wall {wall:.2f} s (empty state folder: CPU {empty_cpu:.2f} s, "
               f"wall {empty_wall:.2f} s), median of {runs}; "
               + verdict(cpu < 2, "target < 2 s CPU")),
        Result("server peak memory, restart + whole log read",
               f"{read_peak:.0f} MB; " + verdict(read_peak < 200, "target < 200 MB")),
    ]


def _noisy_build(session: AwsSession, megabytes: int) -> tuple[float, tuple[str, str]]:
    """A build whose one command prints ``megabytes`` MB; (seconds, its log group/stream)."""
    count = megabytes * 1_000_000 // LINE
    command = (f"python3 -c \"import sys; [sys.stdout.write('%08d ' % i + 'x' * {LINE - 10} "
               f"+ chr(10)) for i in range({count})]\"")
    spec = f"version: 0.2\nphases:\n  build:\n    commands:\n      - {json.dumps(command)}\n"
    cb = session.client("codebuild")
    cb.create_project(name="bench-noisy", source={"type": "NO_SOURCE", "buildspec": spec},
                      artifacts={"type": "NO_ARTIFACTS"},
                      environment={"type": "LINUX_CONTAINER",
                                   "image": "aws/codebuild/standard:7.0",
                                   "computeType": "BUILD_GENERAL1_SMALL"},
                      serviceRole="arn:aws:iam::123456789012:role/bench")
    started = time.perf_counter()
    build_id = cb.start_build(projectName="bench-noisy")["build"]["id"]
    while True:
        build = cb.batch_get_builds(ids=[build_id])["builds"][0]
        if build["buildStatus"] != "IN_PROGRESS":
            break
        time.sleep(0.5)
    if build["buildStatus"] != "SUCCEEDED":
        raise RuntimeError(f"the noisy build ended {build['buildStatus']}")
    return time.perf_counter() - started, (build["logs"]["groupName"],
                                           build["logs"]["streamName"])


def _timed_start(state: Path) -> tuple[float, float]:
    """(wall, CPU) seconds from launch until the server answers; CPU is the server's own
    (user + system, from /proc/PID/stat), which the other jobs on the machine do not move."""
    started = time.perf_counter()
    status = process.start(state)
    wall = time.perf_counter() - started
    fields = Path(f"/proc/{status.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return wall, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _read_all(session: AwsSession, group: str, stream: str) -> int:
    logs, token, lines = session.client("logs"), None, 0
    while True:
        page = logs.get_log_events(logGroupName=group, logStreamName=stream,
                                   startFromHead=True, **({"nextToken": token} if token else {}))
        lines += len(page["events"])
        if page["nextForwardToken"] == token:
            return lines
        token = page["nextForwardToken"]


def _peak_mb(pid: int) -> float:
    """The process's peak resident memory (VmHWM), in MB."""
    for row in Path(f"/proc/{pid}/status").read_text().splitlines():
        if row.startswith("VmHWM:"):
            return int(row.split()[1]) / 1024
    return float("nan")
