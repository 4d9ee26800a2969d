"""Read a build's CloudWatch log and pick out what an operator needs first.

CloudWatch hands a log stream out in pages; :func:`read_build_log` follows the forward token
until it stops changing, which is AWS's documented end-of-stream signal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from botocore.exceptions import ClientError

from runbook_lib.errors import StepError
from runbook_lib.session import AwsSession

_TAP_FAILURE = re.compile(r"^\s*not ok \d+ - (?P<name>.+?)\s*$")
_PYTEST_FAILURE = re.compile(r"^FAILED (?P<name>\S+)")


@dataclass
class BuildLog:
    build_id: str
    status: str
    group: str
    stream: str
    lines: list[str] = field(default_factory=list)
    failed_phase: str = ""
    failed_context: str = ""

    @property
    def failing_tests(self) -> list[str]:
        return failing_tests(self.lines)


def read_build_log(session: AwsSession, build_id: str) -> BuildLog:
    """The build's record and its whole log, in order."""
    cb = session.client("codebuild")
    builds = cb.batch_get_builds(ids=[build_id]).get("builds") or []
    if not builds:
        raise StepError(f"build {build_id} not found; check the id (project:uuid)")
    build = builds[0]
    logs = build.get("logs") or {}
    result = BuildLog(build_id, build.get("buildStatus", ""), logs.get("groupName", ""),
                      logs.get("streamName", ""))
    for phase in build.get("phases") or []:
        if phase.get("phaseStatus") not in (None, "SUCCEEDED") and not result.failed_phase:
            result.failed_phase = phase["phaseType"]
            result.failed_context = "; ".join(c.get("message", "")
                                              for c in phase.get("contexts") or [])
    if result.group and result.stream:
        result.lines = _read_stream(session, result.group, result.stream)
    return result


def _read_stream(session: AwsSession, group: str, stream: str) -> list[str]:
    client = session.client("logs")
    lines: list[str] = []
    kwargs = {"logGroupName": group, "logStreamName": stream, "startFromHead": True}
    token = None
    try:
        while True:
            page = client.get_log_events(**kwargs, **({"nextToken": token} if token else {}))
            lines.extend(e["message"].rstrip("\n") for e in page["events"])
            if page.get("nextForwardToken") in (None, token):
                return lines
            token = page["nextForwardToken"]
    except ClientError as err:
        if err.response["Error"]["Code"] == "ResourceNotFoundException":
            return lines
        raise StepError(f"read log {group}/{stream}: {err}") from err


def failing_tests(lines: list[str]) -> list[str]:
    """Names of failed tests in node --test (TAP) and pytest output, in order, once each."""
    found: list[str] = []
    for line in lines:
        match = _TAP_FAILURE.match(line) or _PYTEST_FAILURE.match(line)
        if match and match["name"] not in found:
            found.append(match["name"])
    return found
