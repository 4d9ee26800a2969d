"""Find a build, read its CloudWatch log and its phases: what an operator needs first.

CloudWatch hands a log stream out in pages; :func:`read_build_log` follows the forward token
until it stops changing, which is AWS's documented end-of-stream signal. For a large log,
``server_filter=True`` asks CloudWatch (FilterLogEvents) for the lines that matter to triage
(errors, test failures, phase markers) plus a few lines around the first error, instead of
downloading the whole stream. Every line passes through :func:`redact_line` on the way in.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from botocore.exceptions import ClientError

from runbook_lib.core import redact
from runbook_lib.core.errors import StepError
from runbook_lib.core.session import AwsSession

_TAP_FAILURE = re.compile(r"^\s*not ok \d+ - (?P<name>.+?)\s*$")
_PYTEST_FAILURE = re.compile(r"^FAILED (?P<name>\S+)")

# CloudWatch filter-pattern syntax: ``?term`` terms are OR-ed. Only what triage reads.
ERROR_FILTER_PATTERN = " ".join(
    f'?"{term}"' if " " in term else f"?{term}" for term in (
        "error", "Error", "ERROR", "ERR!", "FAILED", "failed", "fatal", "denied", "Denied",
        "Killed", "not ok", "Traceback", "Exception", "exit status", "timed out",
        "out of memory", "Cannot connect", "not authorized", "Entering phase",
        "Phase complete", "Phase is", "CODEBUILD_SRC_DIR="))

_PHASE_MARK = re.compile(r"^\[Container\] \S+ \S+ (?:Entering phase|Phase is) (?P<phase>[A-Z_]+)")
_SLACK = 20
_SRC_DIR = re.compile(r"^\[Container\] \S+ \S+ CODEBUILD_SRC_DIR=(?P<dir>\S+)")


@dataclass
class Phase:
    """One phase of a build as BatchGetBuilds reports it."""

    name: str
    status: str
    start: datetime | None = None
    end: datetime | None = None
    status_code: str = ""
    message: str = ""

    @property
    def seconds(self) -> float | None:
        if self.start is None or self.end is None:
            return None
        return max((self.end - self.start).total_seconds(), 0.0)

    def row(self) -> tuple[str, str, str, str]:
        start = self.start.isoformat(timespec="seconds") if self.start else "-"
        secs = self.seconds
        return (self.name, self.status or "-", start,
                "-" if secs is None else format_seconds(secs))


PHASE_HEADERS = ("phase", "status", "started", "duration")


@dataclass
class BuildLog:
    build_id: str
    status: str
    group: str
    stream: str
    lines: list[str] = field(default_factory=list)
    failed_phase: str = ""
    failed_context: str = ""
    phases: list[Phase] = field(default_factory=list)
    status_code: str = ""  # the failed phase's context code (COMMAND_EXECUTION_ERROR...)
    filtered: bool = False  # True: lines are FilterLogEvents matches, not the whole log
    source_dir: str = ""

    @property
    def failing_tests(self) -> list[str]:
        return failing_tests(self.lines)

    @property
    def line_phases(self) -> list[str]:
        return line_phases(self.lines)


@dataclass
class BuildRef:
    """Which build to read, and how it was found (for the operator's benefit)."""

    build_id: str
    execution_id: str = ""
    stage: str = ""
    action: str = ""
    status: str = ""

    def describe(self) -> str:
        if not self.execution_id:
            return f"build {self.build_id}"
        return (f"build {self.build_id}: action {self.stage}/{self.action} ({self.status}) "
                f"of execution {self.execution_id}")


def locate_build(session: AwsSession, pipeline: str, execution_id: str = "",
                 action: str = "", build_id: str = "") -> BuildRef:
    """The build to triage: ``build_id`` as given; else, in ``execution_id`` (empty: the
    latest failed execution, else the latest), the named action, or the failed CodeBuild
    action, or the last one.
    """
    if build_id:
        return BuildRef(build_id)
    if execution_id:
        builds = _build_actions(session, pipeline, execution_id)
    else:
        # The newest failed execution that got as far as a build (a run that failed in its
        # Source stage has no build log to read); when nothing failed, the newest build.
        execution_id, builds = _newest_with_builds(session, pipeline, "Failed")
        if not builds:
            execution_id, builds = _newest_with_builds(session, pipeline, None)
        if not builds:
            raise StepError(f"pipeline {pipeline} has run no build yet; start a run (notebook "
                            "09_run_and_watch), or pass build_id to read another build")
    if action:
        builds = [b for b in builds if action in (b.action, f"{b.stage}/{b.action}")]
        if not builds:
            raise StepError(f"execution {execution_id} of {pipeline} has no CodeBuild action "
                            f"named {action!r}; leave action empty to take the failed one")
    if not builds:
        raise StepError(f"execution {execution_id} of {pipeline} ran no CodeBuild action yet; "
                        "pass build_id, or pick an execution that reached its Build stage")
    failed = [b for b in builds if b.status == "Failed"]
    return failed[0] if failed else builds[-1]


def _newest_with_builds(session: AwsSession, pipeline: str, status: str | None
                        ) -> tuple[str, list[BuildRef]]:
    """The newest execution (with ``status``, if given) that ran a CodeBuild action."""
    from runbook_lib.operate import executions

    for summary in executions.list_executions(session, pipeline):
        if status is None or summary.status == status:
            builds = _build_actions(session, pipeline, summary.execution_id)
            if builds:
                return summary.execution_id, builds
    return "", []


def _build_actions(session: AwsSession, pipeline: str, execution_id: str) -> list[BuildRef]:
    """CodeBuild actions of one execution with a build id, oldest first."""
    paginator = session.client("codepipeline").get_paginator("list_action_executions")
    found = []
    try:
        for page in paginator.paginate(pipelineName=pipeline,
                                       filter={"pipelineExecutionId": execution_id}):
            for item in page["actionExecutionDetails"]:
                provider = ((item.get("input") or {}).get("actionTypeId") or {}).get("provider")
                result = (item.get("output") or {}).get("executionResult") or {}
                build = result.get("externalExecutionId", "")
                if provider == "CodeBuild" and ":" in build:
                    found.append((item.get("startTime"), BuildRef(
                        build, execution_id, item["stageName"], item["actionName"],
                        item.get("status", ""))))
    except ClientError as err:
        raise StepError(f"list action executions of {pipeline} {execution_id}: {err}") from err
    found.sort(key=lambda pair: pair[0].timestamp() if pair[0] else 0)
    return [ref for _, ref in found]


def read_build_log(session: AwsSession, build_id: str, server_filter: bool = False,
                   context_lines: int = 3) -> BuildLog:
    """The build's record, its phases and its log (whole, or filtered server-side)."""
    cb = session.client("codebuild")
    try:
        builds = cb.batch_get_builds(ids=[build_id]).get("builds") or []
    except ClientError as err:
        raise StepError(f"get build {build_id}: {err}") from err
    if not builds:
        raise StepError(f"build {build_id} not found; check the id (project:uuid)")
    build = builds[0]
    logs = build.get("logs") or {}
    result = BuildLog(build_id, build.get("buildStatus", ""), logs.get("groupName", ""),
                      logs.get("streamName", ""))
    result.phases = [_phase(p) for p in build.get("phases") or [] if p.get("phaseType")]
    for phase in result.phases:
        if phase.status not in ("", "SUCCEEDED") and not result.failed_phase:
            result.failed_phase = phase.name
            result.failed_context = phase.message
            result.status_code = phase.status_code
    if result.group and result.stream:
        if server_filter:
            result.lines = _read_filtered(session, result.group, result.stream, context_lines)
            result.filtered = True
        else:
            result.lines = [text for _, text in
                            _read_stream(session, result.group, result.stream)]
    result.lines = redact_lines(result.lines)
    result.source_dir = next((m["dir"] for m in map(_SRC_DIR.match, result.lines) if m), "")
    return result


def _phase(item: dict) -> Phase:
    contexts = [c for c in item.get("contexts") or [] if c.get("statusCode")
                or c.get("message")]
    return Phase(item["phaseType"], item.get("phaseStatus", ""), item.get("startTime"),
                 item.get("endTime"), "; ".join(c.get("statusCode", "") for c in contexts),
                 "; ".join(c.get("message", "") for c in contexts))


def _read_stream(session: AwsSession, group: str, stream: str,
                 **window) -> list[tuple[int, str]]:
    """(timestamp, message) of the stream, following forward tokens until they repeat."""
    client = session.client("logs")
    events: list[tuple[int, str]] = []
    kwargs = {"logGroupName": group, "logStreamName": stream, "startFromHead": True, **window}
    token = None
    try:
        while True:
            page = client.get_log_events(**kwargs, **({"nextToken": token} if token else {}))
            events.extend((e["timestamp"], e["message"].rstrip("\n")) for e in page["events"])
            if "limit" in window or page.get("nextForwardToken") in (None, token):
                return events
            token = page["nextForwardToken"]
    except ClientError as err:
        if err.response["Error"]["Code"] == "ResourceNotFoundException":
            return events
        raise StepError(f"read log {group}/{stream}: {err}") from err


def _read_filtered(session: AwsSession, group: str, stream: str, context: int) -> list[str]:
    """FilterLogEvents matches, plus ``context`` lines either side of the first error."""
    from runbook_lib.operate import triage

    paginator = session.client("logs").get_paginator("filter_log_events")
    matches: list[tuple[int, str]] = []
    try:
        for page in paginator.paginate(logGroupName=group, logStreamNames=[stream],
                                       filterPattern=ERROR_FILTER_PATTERN):
            matches.extend((e["timestamp"], e["message"].rstrip("\n")) for e in page["events"])
    except ClientError as err:
        if err.response["Error"]["Code"] == "ResourceNotFoundException":
            return []
        raise StepError(f"filter log {group}/{stream}: {err}") from err
    first = triage.first_error_index([text for _, text in matches])
    if first is not None and context > 0:
        # before + after is a contiguous slice of the stream around the first error; the
        # slack covers lines written in the same millisecond as the error
        stamp = matches[first][0]
        around = (_read_stream(session, group, stream, endTime=stamp + 1,
                               limit=context + _SLACK, startFromHead=False)
                  + _read_stream(session, group, stream, startTime=stamp + 1,
                                 limit=context + _SLACK))
        matches = _merge(matches, around)
    return [text for _, text in matches]


def _merge(matches: list[tuple[int, str]], around: list[tuple[int, str]]
           ) -> list[tuple[int, str]]:
    """The matches in stream order, with the context lines they lack put in their place."""
    remaining = Counter(matches)
    out: list[tuple[int, str]] = []
    i = 0
    for event in around:
        if remaining[event] > 0:
            while i < len(matches):
                out.append(matches[i])
                remaining[matches[i]] -= 1
                i += 1
                if out[-1] == event:
                    break
        else:
            while i < len(matches) and matches[i][0] < event[0]:
                out.append(matches[i])
                remaining[matches[i]] -= 1
                i += 1
            out.append(event)
    return out + matches[i:]


def failing_tests(lines: list[str]) -> list[str]:
    """Names of failed tests in node --test (TAP) and pytest output, in order, once each."""
    found: list[str] = []
    for line in lines:
        match = _TAP_FAILURE.match(line) or _PYTEST_FAILURE.match(line)
        if match and match["name"] not in found:
            found.append(match["name"])
    return found


def line_phases(lines: list[str]) -> list[str]:
    """The build phase each line was written in, from CodeBuild's ``Entering phase`` marks."""
    current, out = "PROVISIONING", []
    for line in lines:
        mark = _PHASE_MARK.match(line)
        if mark:
            current = mark["phase"]
        out.append(current)
    return out


def format_seconds(seconds: float) -> str:
    """A duration with its unit: ``0.8 s``, ``42.0 s``, ``3.5 min``, ``1.2 h``."""
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


# -- secrets -----------------------------------------------------------------------------------

_TOKEN = re.compile(r"[A-Za-z0-9_\-+/]{20,}={0,2}")
_NAMED_VALUE = re.compile(r"\b(?P<name>[A-Za-z][A-Za-z0-9_]*)(?P<sep>\s*[=:]\s*)"
                          r"(?P<q>[\"']?)(?P<value>[^\s\"']+)")
_BEARER = re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/\-]{8,}=*")
_KEY_BEGIN = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")
_KEY_END = re.compile(r"-----END [A-Z ]*PRIVATE KEY-----")
# Resource names are locations, not secrets, however random an artifact key looks.
_RESOURCE_NAME = re.compile(r"\barn:aws[\w-]*:[\w-]*:[\w-]*:\d*:\S*|\bs3://\S+")


def redact_lines(lines: list[str]) -> list[str]:
    """Every line through :func:`redact_line`; a private key block is masked whole."""
    out, in_key = [], False
    for line in lines:
        if _KEY_BEGIN.search(line):
            in_key = not _KEY_END.search(line)
            out.append(_KEY_BEGIN.split(line)[0] + redact.MASK)
            continue
        if in_key:
            in_key = not _KEY_END.search(line)
            out.append(redact.MASK)
            continue
        out.append(redact_line(line))
    return out


def redact_line(line: str) -> str:
    """Mask secret-looking values (``runbook_lib.core.redact``'s rules) in one log line.

    CodeBuild already masks the build's Parameter Store and Secrets Manager values; this
    catches what a command printed by itself: access keys, tokens, ``PASSWORD=...``.
    """
    line = _BEARER.sub(lambda m: f"{m[1]} {redact.MASK}", line)
    names = [m.span() for m in _RESOURCE_NAME.finditer(line)] if ("arn:" in line
                                                                  or "s3://" in line) else []

    def _token(m: re.Match) -> str:
        if any(start <= m.start() < end for start, end in names):
            return m[0]
        return redact.MASK if redact.looks_like_secret_value(m[0]) else m[0]

    line = _TOKEN.sub(_token, line)

    def _named(m: re.Match) -> str:
        if (not redact.looks_like_secret_name(m["name"]) or m["value"] == redact.MASK
                or m["value"].startswith("$")):
            return m[0]
        return f"{m['name']}{m['sep']}{m['q']}{redact.MASK}"

    return _NAMED_VALUE.sub(_named, line)
