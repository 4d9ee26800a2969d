"""An AWS-shaped endpoint serving one synthetic CodeBuild log of any size, for the benchmarks.

Answers BatchGetBuilds (a failed build), GetLogEvents (pages of 10,000 events, the forward
token repeating at the end, startTime/endTime/limit windows) and FilterLogEvents (CloudWatch's
pattern syntax through the local AWS's own implementation, 10,000 events a page) in AWS's JSON
protocol, so boto3, the library and the AWS CLI read it exactly as they would read CloudWatch.
Lines are made from their index; whole-stream pages are serialised once at start, so that
the endpoint answers about as fast as the network would let it. It runs in its own process so
that its work and memory are not counted in the client's.
"""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from benchmarks.endpoints import ServedInChild
from runbook_lib.local.logs.filter_pattern import compile_pattern

PAGE = 10_000
T0 = 1_764_460_800_000  # 2025-11-30T00:00:00Z
PER_MS = 10  # lines per millisecond
GROUP, STREAM = "/aws/codebuild/bench-build", "bench-build/0001"
BUILD_ID = "bench-build:00000000-0000-4000-8000-000000000001"
SRC = "/codebuild/output/src123/src/app"
FAILURE = ["not ok 2 - greets by name", "  ---", "  error: 'Expected values to be equal'",
           f"  at: {SRC}/test/app.test.js:12:5", "  ...", "# fail 1",
           "npm error Test failed.  See above for more details.",
           "[Container] 2025/11/30 00:00:01.000000 Command did not exit successfully npm test "
           "exit status 1"]


def line(i: int, total: int) -> str:
    """Line ``i`` of a ``total``-line log: agent lines, a build's output, one test failure
    at 90 %, as in a long CodeBuild log."""
    fail_at = total * 9 // 10
    if fail_at <= i < fail_at + len(FAILURE):
        return FAILURE[i - fail_at]
    if i == 1:
        return f"[Container] 2025/11/30 00:00:00.000001 CODEBUILD_SRC_DIR={SRC}"
    if i % 50 == 0:
        return f"[Container] 2025/11/30 00:00:00.{i % 999999:06d} Running command npm run step-{i}"
    if i % 7 == 0:
        return f"ok {i} - handles request {i} in {i % 13} ms"
    return f"  compiled src/components/widget_{i}.js ({i % 97} kB) in {i % 31} ms"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    total = 0
    filtered: dict[str, list[int]] = {}
    pages: dict[tuple[str, str], bytes] = {}  # (operation, token) -> serialised answer

    def log_message(self, *_args) -> None:  # quiet
        pass

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        operation = self.headers.get("X-Amz-Target", "").rsplit(".", 1)[-1]
        answer = {"BatchGetBuilds": self._build, "GetLogEvents": self._get,
                  "FilterLogEvents": self._filter}.get(operation)
        data = self.pages.get((operation, body.get("nextToken") or ""))
        if data is None or (operation == "FilterLogEvents" and body.get("filterPattern")) or (
                {"startTime", "endTime", "limit"} & set(body)):
            data = json.dumps(answer(body) if answer else {}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _event(self, i: int) -> dict:
        return {"timestamp": T0 + i // PER_MS, "message": line(i, self.total),
                "ingestionTime": T0 + i // PER_MS}

    def _build(self, _body: dict) -> dict:
        context = [{"statusCode": "COMMAND_EXECUTION_ERROR", "message":
                    "Error while executing command: npm test. Reason: exit status 1"}]
        return {"builds": [{"id": BUILD_ID, "buildStatus": "FAILED",
                            "logs": {"groupName": GROUP, "streamName": STREAM},
                            "phases": [{"phaseType": "BUILD", "phaseStatus": "FAILED",
                                        "contexts": context}]}]}

    def _get(self, body: dict) -> dict:
        if "startTime" in body or "endTime" in body or "limit" in body:
            low = max(0, (body.get("startTime", T0) - T0) * PER_MS)
            high = min(self.total, (body.get("endTime", T0 + self.total) - T0) * PER_MS)
            limit = body.get("limit", PAGE)
            picked = (range(low, min(high, low + limit)) if body.get("startFromHead")
                      else range(max(low, high - limit), high))
            return {"events": [self._event(i) for i in picked],
                    "nextForwardToken": "f/window", "nextBackwardToken": "b/window"}
        page = int((body.get("nextToken") or "f/0")[2:])
        start = page * PAGE
        events = [self._event(i) for i in range(start, min(start + PAGE, self.total))]
        return {"events": events, "nextForwardToken": f"f/{page + 1 if events else page}",
                "nextBackwardToken": f"b/{page}"}

    def _filter(self, body: dict) -> dict:
        pattern = body.get("filterPattern") or ""
        position = int(body.get("nextToken") or 0)
        if pattern:
            if pattern not in self.filtered:
                self.filtered[pattern] = _matching(pattern, self.total)
            matches = self.filtered[pattern]
            picked = matches[position:position + PAGE]
            count = len(matches)
        else:
            picked, count = range(position, min(position + PAGE, self.total)), self.total
        events = [{**self._event(i), "logStreamName": STREAM, "eventId": str(i)}
                  for i in picked]
        payload = {"events": events, "searchedLogStreams": []}
        if position + PAGE < count:
            payload["nextToken"] = str(position + PAGE)
        return payload


def _matching(pattern: str, total: int) -> list[int]:
    matches = compile_pattern(pattern)
    return [i for i in range(total) if matches(line(i, total))]


def _serve(total: int, warm_pattern: str, ready) -> None:
    _Handler.total = total
    handler = _Handler.__new__(_Handler)
    for page in range(total // PAGE + 1):
        token = f"f/{page}" if page else ""
        _Handler.pages[("GetLogEvents", token)] = json.dumps(
            handler._get({"nextToken": token} if token else {})).encode()
        token = str(page * PAGE) if page else ""
        _Handler.pages[("FilterLogEvents", token)] = json.dumps(
            handler._filter({"nextToken": token} if token else {})).encode()
    if warm_pattern:  # what CloudWatch's own indexes make cheap is not the client's cost
        _Handler.filtered[warm_pattern] = _matching(warm_pattern, total)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    ready.send(server.server_address[1])
    server.serve_forever()


class LogPages(ServedInChild):
    """The endpoint in a child process: ``with LogPages(1_000_000) as url: ...``."""

    def __init__(self, total: int, warm_pattern: str = "") -> None:
        super().__init__(_serve, total, warm_pattern)
