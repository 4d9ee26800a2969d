"""Find a build, read its CloudWatch log and its phases: what an operator needs first.

CloudWatch hands a log stream out in pages; :func:`read_build_log` follows the forward token
until it stops changing, which is AWS's documented end-of-stream signal. For a large log,
``server_filter=True`` asks CloudWatch (FilterLogEvents) for the lines that matter to triage
(errors, test failures, phase markers) plus a few lines around the first error, instead of
downloading the whole stream. :func:`triage_build_log` triages a log of any size page by
page without keeping it; :func:`read_build_log` keeps every (redacted) line for the viewer.
Text helpers (phases, test names, error lines) are pure and live in :mod:`.log_text`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from runbook_lib.core import redact
from runbook_lib.core.errors import StepError
from runbook_lib.core.session import AwsSession
from runbook_lib.operate import log_text, triage, triage_scan
from runbook_lib.operate.log_text import BuildLog, Phase
from runbook_lib.operate.summaries import require_id

# CloudWatch filter-pattern syntax: ``?term`` terms are OR-ed; a term holding anything but
# letters, digits and underscores must be quoted. Only what triage reads.
ERROR_FILTER_PATTERN = " ".join(
    f'?"{term}"' if not term.replace("_", "a").isalnum() else f"?{term}" for term in (
        "error", "Error", "ERROR", "ERR!", "FAILED", "failed", "fatal", "denied", "Denied",
        "Killed", "not ok", "Traceback", "Exception", "exit status", "timed out",
        "out of memory", "Cannot connect", "not authorized", "Entering phase",
        "Phase complete", "Phase is", "CODEBUILD_SRC_DIR="))

_SLACK = 20


class NoFailedBuildError(StepError):
    """The pipeline has run no build: there is nothing to triage."""


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
        # The newest execution whose build failed (a run that failed in its Source stage, at a
        # release gate or in a deploy has no failed build log to read); else the newest build.
        execution_id, builds = _newest_with_builds(session, pipeline, "Failed")
        if not builds:
            execution_id, builds = _newest_with_builds(session, pipeline, None)
        if not builds:
            raise NoFailedBuildError(f"pipeline {pipeline} has run no build yet; start a run "
                                     "(notebook 09_run_and_watch), or pass build_id to read "
                                     "another build")
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
    from runbook_lib.operate import summaries

    for summary in summaries.list_executions(session, pipeline):
        if status is None or summary.status == status:
            builds = _build_actions(session, pipeline, summary.execution_id)
            if status is not None:  # the run failed: only in a build of its own counts
                builds = builds if any(b.status == status for b in builds) else []
            if builds:
                return summary.execution_id, builds
    return "", []


def _build_actions(session: AwsSession, pipeline: str, execution_id: str) -> list[BuildRef]:
    """CodeBuild actions of one execution with a build id, oldest first."""
    require_id("execution_id", execution_id)
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
    """The build's record, its phases and its whole log (or the filtered lines), redacted.

    This keeps every line, for the viewer; :func:`triage_build_log` reads a large log without
    keeping it.
    """
    result = read_build_record(session, build_id)
    if result.group and result.stream:
        if server_filter:
            result.lines = _read_filtered(session, result.group, result.stream, context_lines)
            result.filtered = True
        else:
            result.lines = [line for page in stream_pages(session, result.group, result.stream)
                            for line in page]
    result.lines = redact.redact_lines(result.lines)
    result.source_dir = next(filter(None, map(log_text.source_dir_in, result.lines)), "")
    return result


def triage_build_log(session: AwsSession, build_id: str, server_filter: bool = False,
                     context_lines: int = 3) -> tuple[BuildLog, triage.Triage]:
    """The build's record and its triage, reading the log once, page by page as it arrives.

    Memory is one page plus the context kept, whatever the log's size; the returned
    :class:`BuildLog` has no lines (``server_filter=True`` keeps the few filtered ones).
    """
    return _triage(session, read_build_record(session, build_id), server_filter, context_lines)


def triage_log_stream(session: AwsSession, group: str, stream: str,
                      server_filter: bool = False, context_lines: int = 3
                      ) -> tuple[BuildLog, triage.Triage]:
    """:func:`triage_build_log` for any log stream, without a build record: the lines alone
    decide (no failing command, no status)."""
    return _triage(session, BuildLog("", "", group, stream), server_filter, context_lines)


def scan_build_log(session: AwsSession, build_id: str, context_lines: int = 3
                   ) -> tuple[BuildLog, triage_scan.ScanResult]:
    """The build's record and one scan of its log (raw lines: redact what you show)."""
    record = read_build_record(session, build_id)
    return record, _scan(session, record, context_lines)


def _triage(session: AwsSession, record: BuildLog, server_filter: bool, context_lines: int
            ) -> tuple[BuildLog, triage.Triage]:
    if server_filter and record.group and record.stream:
        record.lines = _read_filtered(session, record.group, record.stream, context_lines)
        record.filtered = True
        return record, triage.triage_build(record, context_lines)
    return record, triage.triage_scan(record, _scan(session, record, context_lines))


def _scan(session: AwsSession, record: BuildLog, context_lines: int) -> triage_scan.ScanResult:
    scanner = triage_scan.LogScanner(context_lines)
    if record.group and record.stream:
        for page in stream_pages(session, record.group, record.stream):
            scanner.feed(page)
    return scanner.result()


def read_build_record(session: AwsSession, build_id: str) -> BuildLog:
    """The build's status, log location and phases (BatchGetBuilds), without its lines."""
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
    return result


def _phase(item: dict[str, Any]) -> Phase:
    contexts = [c for c in item.get("contexts") or [] if c.get("statusCode")
                or c.get("message")]
    return Phase(item["phaseType"], item.get("phaseStatus", ""), item.get("startTime"),
                 item.get("endTime"), "; ".join(c.get("statusCode", "") for c in contexts),
                 "; ".join(c.get("message", "") for c in contexts))


def stream_pages(session: AwsSession, group: str, stream: str) -> Iterator[list[str]]:
    """The stream's messages one GetLogEvents page at a time, oldest first, until the forward
    token stops changing (AWS's end-of-stream signal); a missing stream reads as empty."""
    client = session.client("logs")
    kwargs = {"logGroupName": group, "logStreamName": stream, "startFromHead": True}
    token = None
    while True:
        try:
            page = client.get_log_events(**kwargs, **({"nextToken": token} if token else {}))
        except ClientError as err:
            if err.response["Error"]["Code"] == "ResourceNotFoundException":
                return
            raise StepError(f"read log {group}/{stream}: {err}") from err
        yield [event["message"].rstrip("\n") for event in page["events"]]
        if page.get("nextForwardToken") in (None, token):
            return
        token = page["nextForwardToken"]


def _read_window(session: AwsSession, group: str, stream: str, **window: Any
                 ) -> list[tuple[int, str]]:
    """(timestamp, message) of one GetLogEvents call: a bounded window of the stream."""
    try:
        page = session.client("logs").get_log_events(logGroupName=group, logStreamName=stream,
                                                     **window)
    except ClientError as err:
        if err.response["Error"]["Code"] == "ResourceNotFoundException":
            return []
        raise StepError(f"read log {group}/{stream}: {err}") from err
    return [(e["timestamp"], e["message"].rstrip("\n")) for e in page["events"]]


def _read_filtered(session: AwsSession, group: str, stream: str, context: int) -> list[str]:
    """FilterLogEvents matches, plus ``context`` lines either side of the first error."""
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
    first = log_text.first_error_index(text for _, text in matches)
    if first is not None and context > 0:
        # before + after is a contiguous slice of the stream around the first error; the
        # slack covers lines written in the same millisecond as the error
        stamp = matches[first][0]
        around = (_read_window(session, group, stream, endTime=stamp + 1,
                               limit=context + _SLACK, startFromHead=False)
                  + _read_window(session, group, stream, startTime=stamp + 1,
                                 limit=context + _SLACK, startFromHead=True))
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
