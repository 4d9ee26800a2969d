"""Publishing a rendered health report: to S3 (dated and latest), then a link to its readers.

The scheduled report build calls this through ``runbook report --publish s3://bucket/prefix/
--notify TOPIC_ARN``. The link is presigned (a week, SigV4's longest), so a reader needs no AWS
access of their own; with the build's temporary credentials the link lasts as long as they do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from runbook_lib.core.errors import ParameterError, aws_step
from runbook_lib.core.session import AwsSession

LINK_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class PublishedReport:
    """Where the report went and what the readers were sent."""

    bucket: str
    dated_key: str
    latest_key: str
    url: str
    message_id: str = ""


def parse_destination(text: str) -> tuple[str, str]:
    """``s3://bucket/prefix/`` as (bucket, prefix ending in /); a bad one is named."""
    if not text.startswith("s3://") or not text[5:].split("/", 1)[0]:
        raise ParameterError("--publish", text, "must be an S3 folder URL",
                             "s3://my-artifacts/reports/my-pipeline/")
    bucket, _, prefix = text[5:].partition("/")
    return bucket, (prefix.rstrip("/") + "/") if prefix else ""


def publish_report(session: AwsSession, html: Path, destination: str, pipeline: str,
                   topic_arn: str | None = None, now: datetime | None = None
                   ) -> PublishedReport:
    """Put ``html`` at ``<date>.html`` and ``latest.html``; tell ``topic_arn`` with a link."""
    bucket, prefix = parse_destination(destination)
    day = (now or datetime.now(UTC)).strftime("%Y-%m-%d")
    s3 = session.client("s3")
    body = Path(html).read_bytes()
    dated, latest = f"{prefix}{day}.html", f"{prefix}latest.html"
    for key in (dated, latest):
        with aws_step(f"put s3://{bucket}/{key}"):
            s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="text/html")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": dated},
                                    ExpiresIn=LINK_SECONDS)
    published = PublishedReport(bucket, dated, latest, url)
    if not topic_arn:
        return published
    with aws_step(f"publish the report link to {topic_arn}"):
        answer = session.client("sns").publish(
            TopicArn=topic_arn, Subject=f"Pipeline health report: {pipeline} ({day})"[:100],
            Message=notification_text(pipeline, day, url, f"s3://{bucket}/{dated}"))
    return PublishedReport(bucket, dated, latest, url, answer.get("MessageId", ""))


def notification_text(pipeline: str, day: str, url: str, location: str) -> str:
    """The message readers get: what, when, the link, and where it is kept."""
    return (f"The health report of pipeline {pipeline} for {day} is ready.\n\n"
            f"Open it (link valid up to 7 days): {url}\n\n"
            f"Kept at {location} (and latest.html beside it).")
