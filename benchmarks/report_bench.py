"""The health report's API calls against the pagination minimum, on a long history.

An AWS-shaped CodePipeline endpoint (its own process) serves the recorded history of
:mod:`benchmarks.analytics_bench` (ListPipelineExecutions and ListActionExecutions at most 100
items a page, newest first; GetPipeline). The report is built over a window holding every run,
with no failures read (``max_failures=0``), and its calls are counted by the session's
recorder. The minimum is one page per 100 executions and per 100 action executions of those
runs (plus the page that reaches past the oldest), and one GetPipeline.
"""

from __future__ import annotations

import json
import math
import time
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from benchmarks import analytics_bench as history
from benchmarks.endpoints import ServedInChild, shaped_session
from benchmarks.report import Result, verdict
from runbook_lib.operate import report

SIZES = (1_000, 10_000)


def run_all(sizes: tuple[int, ...] = SIZES) -> list[Result]:
    return [_measure(size) for size in sizes]


def _measure(size: int) -> Result:
    with ServedInChild(_serve, size) as url:
        session = shaped_session(url)
        lines: list[str] = []
        start = time.perf_counter()
        health = report.build_health_report(session, "bench", days=10_000,
                                            now=history.T0 + timedelta(days=5000),
                                            max_failures=0, on_progress=lines.append)
        seconds = time.perf_counter() - start
        calls = sum(session.recorder.reads.values())
    actions = sum(len(history._actions(n)) for n in range(size))
    minimum = math.ceil(size / history.PAGE) + math.ceil(actions / history.PAGE) + 1
    assert len(health.records) == size, len(health.records)
    return Result(f"report calls, {size:,} executions",
                  f"{calls} calls, minimum {minimum} (x{calls / minimum:.2f}), "
                  f"{len(lines)} progress lines, {seconds:.1f} s; "
                  + verdict(calls <= 1.1 * minimum, "target <= x1.1"))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    size = 0
    actions: list[dict] = []  # every run's action executions, newest first

    def log_message(self, *_args) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        operation = self.headers.get("X-Amz-Target", "").rsplit(".", 1)[-1]
        if operation == "GetPipeline":
            payload = {"pipeline": {"name": "bench", "roleArn": "arn:aws:iam::1:role/r",
                                    "stages": [{"name": s[0], "actions": []}
                                               for s in history.STAGES]}}
        else:
            payload = self._page(operation, int(body.get("nextToken") or 0),
                                 int(body.get("maxResults") or 100))
        data = json.dumps(payload, default=_epoch).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _page(self, operation: str, position: int, size: int) -> dict:
        """Items ``position``..+``size`` of the newest-first list; the token is the position."""
        if operation == "ListPipelineExecutions":
            newest = self.size - 1 - position
            items = [history._summary(n) for n in range(newest, max(newest - size, -1), -1)]
            key, total = "pipelineExecutionSummaries", self.size
        else:
            items = self.actions[position:position + size]
            key, total = "actionExecutionDetails", len(self.actions)
        payload = {key: items}
        if position + size < total:
            payload["nextToken"] = str(position + size)
        return payload


def _epoch(value: datetime) -> float:
    return value.timestamp()


def _serve(size: int, ready) -> None:
    _Handler.size = size
    _Handler.actions = [a for n in range(size - 1, -1, -1) for a in reversed(history._actions(n))]
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    ready.send(server.server_address[1])
    server.serve_forever()



