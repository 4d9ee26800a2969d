"""A fault-injecting HTTP proxy for tests, in front of the local AWS.

It forwards every request unchanged (headers included, so SigV4 signatures still verify) and can
inject the two faults a client of real AWS meets:

- **a lost response**: the call is forwarded and takes effect, then the client's connection is
  closed without an answer; botocore sees a connection error and retries the same call;
- **throttling**: a share of calls is answered, without forwarding, with the throttling error
  of the call's protocol (``ThrottlingException`` for JSON, ``Throttling`` for query,
  ``SlowDown`` for S3).

It knows nothing of runbook_lib: only HTTP and the AWS wire protocols.
"""

from __future__ import annotations

import http.client
import json
import random
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

_READ_PREFIXES = ("Get", "List", "Describe", "Head", "BatchGet", "Check", "Lookup", "Simulate",
                  "Search", "Filter", "Test", "Select", "Poll", "Scan", "Query", "Validate")
_SERVICE_RE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")
# The local AWS's own control API is not AWS: AWS's faults never happen there.
CONTROL_PREFIX = "/_runbook/"
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "te",
               "upgrade", "trailer"}


@dataclass(frozen=True)
class Call:
    """What the proxy understood of one request."""

    service: str
    operation: str
    protocol: str  # json, query, rest-xml (S3), rest-json
    mutating: bool


@dataclass
class FaultPlan:
    """Which faults to inject. Mutating calls are counted from 0 in the order they arrive."""

    drop_mutation: int | None = None  # drop the response of this mutating call, once
    throttle_rate: float = 0.0
    seed: int = 0
    # operation -> how many times to refuse it as real AWS does while a new role propagates
    role_not_ready: dict[str, int] = field(default_factory=dict)
    mutations: list[str] = field(default_factory=list)  # every mutating call forwarded
    dropped: list[str] = field(default_factory=list)
    throttled: int = 0


def classify(method: str, path: str, headers, body: bytes) -> Call:
    """Service, operation and protocol of a request, from the wire alone."""
    if path.startswith(CONTROL_PREFIX):
        return Call("control", path, "control", False)
    match = _SERVICE_RE.search(headers.get("Authorization", ""))
    service = match[1] if match else "?"
    target = headers.get("X-Amz-Target")
    if target:
        operation = target.rsplit(".", 1)[-1]
        return Call(service, operation, "json", not operation.startswith(_READ_PREFIXES))
    if "x-www-form-urlencoded" in headers.get("Content-Type", ""):
        action = parse_qs(body.decode("utf-8", "replace")).get("Action", ["?"])[0]
        return Call(service, action, "query", not action.startswith(_READ_PREFIXES))
    protocol = "rest-xml" if service == "s3" else "rest-json"
    url = urlparse(path)
    operation = f"{method} {url.path}" + (f"?{url.query.split('=')[0]}" if url.query else "")
    return Call(service, operation, protocol, method in ("PUT", "POST", "DELETE", "PATCH"))


def throttling_response(call: Call) -> tuple[int, dict[str, str], bytes]:
    """The throttling error of the call's protocol, as AWS sends it."""
    if call.protocol == "json":
        return 400, {"Content-Type": "application/x-amz-json-1.1"}, (
            b'{"__type":"ThrottlingException","message":"Rate exceeded"}')
    if call.protocol == "query":
        return 400, {"Content-Type": "text/xml"}, (
            b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>"
            b"<Message>Rate exceeded</Message></Error><RequestId>fault-proxy</RequestId>"
            b"</ErrorResponse>")
    if call.protocol == "rest-xml":
        return 503, {"Content-Type": "application/xml"}, (
            b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message>"
            b"<RequestId>fault-proxy</RequestId></Error>")
    return 429, {"Content-Type": "application/json", "x-amzn-ErrorType": "ThrottlingException"}, (
        b'{"message":"Rate exceeded"}')


def role_not_ready_response(call: Call) -> tuple[int, dict[str, str], bytes]:
    """What CodeBuild and CodePipeline answer for a role IAM has not propagated yet."""
    codebuild = call.service == "codebuild"
    body = json.dumps({
        "__type": "InvalidInputException" if codebuild else "InvalidStructureException",
        "message": f"{'CodeBuild' if codebuild else 'CodePipeline'} is not authorized to "
                   "perform: sts:AssumeRole on the service role"})
    return 400, {"Content-Type": "application/x-amz-json-1.1"}, body.encode()


class FaultProxy:
    """``with FaultProxy(upstream) as proxy:`` then point clients at ``proxy.url``."""

    def __init__(self, upstream_url: str, plan: FaultPlan | None = None) -> None:
        self.upstream = urlparse(upstream_url)
        self.plan = plan or FaultPlan()
        self._lock = threading.Lock()
        self._random = random.Random(self.plan.seed)
        handler = type("BoundProxyHandler", (_ProxyHandler,), {"proxy": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def reset(self, plan: FaultPlan) -> None:
        with self._lock:
            self.plan = plan
            self._random = random.Random(plan.seed)

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- decisions, under the lock ------------------------------------------------------------

    def _decide(self, call: Call) -> str:
        """forward, drop (forward, then lose the answer) or throttle."""
        with self._lock:
            plan = self.plan
            if call.protocol == "control":
                return "forward"
            if plan.throttle_rate and self._random.random() < plan.throttle_rate:
                plan.throttled += 1
                return "throttle"
            if plan.role_not_ready.get(call.operation, 0) > 0:
                plan.role_not_ready[call.operation] -= 1
                return "role"
            if not call.mutating:
                return "forward"
            index = len(plan.mutations)
            plan.mutations.append(f"{call.service}:{call.operation}")
            if index == plan.drop_mutation:
                plan.dropped.append(f"{call.service}:{call.operation}")
                return "drop"
            return "forward"

    def _forward(self, method: str, path: str, headers, body: bytes
                 ) -> tuple[int, list[tuple[str, str]], bytes]:
        conn = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=120)
        try:
            sent = {k: v for k, v in headers.items() if k.lower() not in _HOP_BY_HOP}
            sent["Content-Length"] = str(len(body))
            conn.request(method, path, body=body, headers=sent)
            resp = conn.getresponse()
            return resp.status, resp.getheaders(), resp.read()
        finally:
            conn.close()


class _ProxyHandler(BaseHTTPRequestHandler):
    """One request: read it, let the proxy decide, then answer, lose the answer or refuse."""

    protocol_version = "HTTP/1.1"
    proxy: FaultProxy  # set by FaultProxy on a subclass

    def log_message(self, *args) -> None:  # quiet
        pass

    def _body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _handle(self) -> None:
        body = self._body()
        call = classify(self.command, self.path, self.headers, body)
        decision = self.proxy._decide(call)
        if decision in ("throttle", "role"):
            status, headers, payload = (throttling_response(call) if decision == "throttle"
                                        else role_not_ready_response(call))
            self._answer(status, list(headers.items()), payload)
            return
        status, headers, payload = self.proxy._forward(self.command, self.path, self.headers,
                                                       body)
        if decision == "drop":
            self.close_connection = True  # the call took effect; the answer is lost
            return
        self._answer(status, headers, payload)

    def _answer(self, status: int, headers, payload: bytes) -> None:
        self.send_response(status)
        head = self.command == "HEAD"  # a HEAD answer keeps the resource's length
        for key, value in headers:
            lowered = key.lower()
            if lowered not in _HOP_BY_HOP and (head or lowered != "content-length"):
                self.send_header(key, value)
        if not head:
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if not head:
            self.wfile.write(payload)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = _handle
