"""A build's log in CloudWatch Logs, in CodeBuild's group/stream naming and line format.

Operators read build logs with ``aws logs get-log-events`` or the console's deep link, and the
suite's own log tailing parses CodeBuild's ``[Container] <time> ...`` lines, so the local runner
writes exactly that: group ``/aws/codebuild/<project>`` (or the project's ``logsConfig``), one
stream per build named after the build id's UUID part. Lines are buffered and sent in batches
(about every half second) by a flusher thread: one PutLogEvents per batch, not per line. The
flusher also creates the group and stream, so a build does not wait on them to start.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from runbook_lib.core.redact import mask

log = logging.getLogger("runbook.local.builds")

FLUSH_SECONDS = 0.5
_MAX_BATCH_EVENTS = 5000
_MAX_BATCH_BYTES = 900_000
_MAX_EVENT_BYTES = 200_000
_MAX_BUFFER_BYTES = 4_000_000  # a build printing faster than the flusher ships waits here


@dataclass(frozen=True)
class LogLocation:
    """Where a build's log goes; ``enabled`` False writes nothing (status DISABLED)."""

    group: str
    stream: str
    region: str
    account_id: str
    enabled: bool = True

    @property
    def arn(self) -> str:
        return (f"arn:aws:logs:{self.region}:{self.account_id}:log-group:{self.group}"
                f":log-stream:{self.stream}")

    @property
    def deep_link(self) -> str:
        return (f"https://console.aws.amazon.com/cloudwatch/home?region={self.region}"
                f"#logEvent:group={self.group};stream={self.stream}")

    def as_build_logs(self, cloudwatch: dict, s3: dict) -> dict:
        """The build record's ``logs`` member (LogsLocation)."""
        out: dict[str, Any] = {"cloudWatchLogs": cloudwatch, "s3Logs": s3}
        if self.enabled:
            out.update(groupName=self.group, streamName=self.stream,
                       deepLink=self.deep_link, cloudWatchLogsArn=self.arn)
        return out


def log_location(project: dict, build_uuid: str, region: str, account_id: str,
                 logs_config: dict | None = None) -> LogLocation:
    """CodeBuild's naming: group from logsConfig (default ``/aws/codebuild/<project>``),
    stream ``<streamName>/<uuid>`` when a stream prefix is configured, else ``<uuid>``."""
    config = (logs_config or project.get("logsConfig") or {}).get("cloudWatchLogs") or {}
    group = config.get("groupName") or f"/aws/codebuild/{project['name']}"
    prefix = config.get("streamName")
    stream = f"{prefix}/{build_uuid}" if prefix else build_uuid
    enabled = config.get("status", "ENABLED") == "ENABLED"
    return LogLocation(group, stream, region, account_id, enabled)


def container_line(message: str, at: float | None = None) -> str:
    """``[Container] 2026/11/27 10:00:00.123456 message``, UTC as in CodeBuild."""
    at = time.time() if at is None else at
    stamp = time.strftime("%Y/%m/%d %H:%M:%S", time.gmtime(at))
    return f"[Container] {stamp}.{int(at % 1 * 1_000_000):06d} {message}"


class BuildLogWriter:
    """Buffers lines, masks secrets, and ships batches to CloudWatch Logs from a thread.

    ``secrets`` is read at every line, so values resolved mid-build are masked from then on.
    A failing PutLogEvents is logged locally and never fails the build.
    """

    def __init__(self, logs_client, location: LogLocation,
                 secrets: Callable[[], Iterable[str]] = tuple) -> None:
        self.client = logs_client
        self.location = location
        self._secrets = secrets
        self._buffer: list[dict] = []
        self._buffered = 0  # bytes of messages in _buffer
        self._lock = threading.Lock()
        self._drained = threading.Condition(self._lock)
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None
        self.recent: deque[str] = deque(maxlen=2000)  # last lines written, masked

    def open(self) -> BuildLogWriter:
        if self.location.enabled:
            self._thread = threading.Thread(target=self._flush_loop, daemon=True,
                                            name=f"build-log-{self.location.stream[-8:]}")
            self._thread.start()
        return self

    def container(self, message: str) -> None:
        """A line of the build agent: ``[Container] <time> message``."""
        self.write(container_line(message))

    def write(self, line: str) -> None:
        """A line as it is (command output)."""
        line = mask(line, self._secrets())
        now = int(time.time() * 1000)
        with self._lock:
            self.recent.append(line)
            if self.location.enabled:
                encoded = line.encode("utf-8", "replace")[:_MAX_EVENT_BYTES]
                self._buffer.append({"timestamp": now,
                                     "message": encoded.decode("utf-8", "ignore") or " "})
                self._buffered += len(encoded)
                if self._buffered > _MAX_BUFFER_BYTES and self._thread is not None:
                    self._wake.set()  # back-pressure: memory stays bounded, nothing is dropped
                    self._drained.wait_for(lambda: self._buffered <= _MAX_BUFFER_BYTES
                                           or self._closed.is_set(), timeout=60)

    def close(self) -> None:
        """Flush what is left and stop the flusher."""
        self._closed.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self._flush()

    # -- internals -------------------------------------------------------------------------

    def _create(self) -> None:
        for call, kwargs in (
            (self.client.create_log_group, {"logGroupName": self.location.group}),
            (self.client.create_log_stream, {"logGroupName": self.location.group,
                                             "logStreamName": self.location.stream}),
        ):
            try:
                call(**kwargs)
            except self.client.exceptions.ResourceAlreadyExistsException:
                pass

    def _flush_loop(self) -> None:
        try:
            self._create()
        except (ClientError, BotoCoreError) as err:
            log.warning("build log %s/%s: cannot create its log stream: %s",
                        self.location.group, self.location.stream, err)
        while not self._closed.is_set():
            self._wake.wait(FLUSH_SECONDS)
            self._wake.clear()
            self._flush()

    def _flush(self) -> None:
        with self._lock:
            events, self._buffer, self._buffered = deque(self._buffer), [], 0
            self._drained.notify_all()
        while events:
            batch: list[dict[str, Any]] = []
            size = 0
            while events and len(batch) < _MAX_BATCH_EVENTS:
                cost = len(events[0]["message"].encode()) + 26
                if batch and size + cost > _MAX_BATCH_BYTES:
                    break
                batch.append(events.popleft())
                size += cost
            try:
                self.client.put_log_events(logGroupName=self.location.group,
                                           logStreamName=self.location.stream,
                                           logEvents=batch)
            except (ClientError, BotoCoreError) as err:
                log.warning("build log %s/%s: %s lines not written: %s", self.location.group,
                            self.location.stream, len(batch), err)
