"""Where the scheduled health report stands: its schedule, next run, last report, last build.

Read calls only; ``runbook report --list-scheduled`` and the monitoring notebook show it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from runbook_lib.core.errors import StepError, aws_step
from runbook_lib.core.params import Params, ResourceNames
from runbook_lib.core.schedule_expressions import ExpressionError, next_fire, parse_expression
from runbook_lib.core.session import AwsSession
from runbook_lib.setup.schedule import ReportNames

LAST_REPORTS = 5


@dataclass(frozen=True)
class ScheduleStatus:
    """The report schedule as an operator wants to see it (``exists`` False: none yet)."""

    schedule: str
    exists: bool
    expression: str = ""
    timezone: str = ""
    state: str = ""
    next_run: datetime | None = None
    reports: tuple[tuple[str, datetime], ...] = ()  # (s3 URL, when), newest first
    last_build_id: str = ""
    last_build_status: str = ""


def read_status(session: AwsSession, params: Params, names: ResourceNames,
                now: datetime | None = None) -> ScheduleStatus:
    """The schedule, when it runs next, the latest reports in S3 and the last build's status."""
    report = ReportNames.derive(params, names)
    label = f"{report.schedule_group}/{report.schedule}"
    try:
        found = session.client("scheduler").get_schedule(Name=report.schedule,
                                                         GroupName=report.schedule_group)
    except ClientError as err:
        if err.response["Error"]["Code"] != "ResourceNotFoundException":
            raise StepError(f"get schedule {label}: {err}") from err
        return ScheduleStatus(label, False)
    build_id, status = _last_build(session, report.project)
    return ScheduleStatus(
        label, True, found["ScheduleExpression"], found.get("ScheduleExpressionTimezone", "UTC"),
        found.get("State", "ENABLED"), _next_run(found, now or datetime.now(UTC)),
        _reports(session, names.artifact_bucket, report.report_prefix), build_id, status)


def _next_run(found: dict[str, Any], now: datetime) -> datetime | None:
    if found.get("State") == "DISABLED":
        return None
    try:
        times = parse_expression(found["ScheduleExpression"],
                                 found.get("ScheduleExpressionTimezone"))
    except ExpressionError:
        return None
    # a rate() without StartDate counts from when it was set: the creation, or the update that
    # last changed the schedule (the local AWS restarts a changed schedule's rate there too)
    since = found.get("LastModificationDate") or found.get("CreationDate") or now
    return next_fire(times, now, since, found.get("StartDate"), found.get("EndDate"))


def _reports(session: AwsSession, bucket: str, prefix: str) -> tuple[tuple[str, datetime], ...]:
    s3 = session.client("s3")
    found = []
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            found += [(o["Key"], o["LastModified"]) for o in page.get("Contents", [])
                      if not o["Key"].endswith("/latest.html")]
    except ClientError as err:
        if err.response["Error"]["Code"] != "NoSuchBucket":
            raise StepError(f"list reports in s3://{bucket}/{prefix}: {err}") from err
    found.sort(key=lambda item: item[1], reverse=True)
    return tuple((f"s3://{bucket}/{key}", when) for key, when in found[:LAST_REPORTS])


def _last_build(session: AwsSession, project: str) -> tuple[str, str]:
    codebuild = session.client("codebuild")
    try:
        pages = codebuild.get_paginator("list_builds_for_project").paginate(
            projectName=project, sortOrder="DESCENDING")
        ids: list[str] = next((page["ids"] for page in pages if page.get("ids")), [])
    except ClientError as err:
        if err.response["Error"]["Code"] != "ResourceNotFoundException":
            raise StepError(f"list builds of {project}: {err}") from err
        return "", ""
    if not ids:
        return "", ""
    with aws_step(f"get build {ids[0]}"):
        builds = codebuild.batch_get_builds(ids=ids[:1])["builds"]
    return (ids[0], builds[0]["buildStatus"]) if builds else (ids[0], "")
