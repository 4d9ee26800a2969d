"""The audit trail of decisions: approvals answered in the cockpit and gates overridden.

Every decision is written to the artifact bucket as its own JSON object (one key per decision,
so two approvers deciding at once never overwrite each other), beside CodePipeline's own
record. Approvals (:mod:`.approvals`) and gate overrides (:mod:`.gates`) write here; the
cockpit reads it back as a table.
"""

from __future__ import annotations

import getpass
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from botocore.exceptions import ClientError

from runbook_lib.core.errors import StepError
from runbook_lib.core.session import AwsSession
from runbook_lib.core.text import iso_time

AUDIT_PREFIX = "audit/approvals"


@dataclass
class AuditRecord:
    """One decision: who, when, on what, and why."""

    who: str
    when: str
    pipeline: str
    execution: str
    stage: str
    action: str
    token: str
    decision: str
    summary: str
    key: str = ""

    def to_json(self) -> str:
        body = asdict(self)
        body.pop("key")
        return json.dumps(body, indent=1, sort_keys=True)


AUDIT_HEADERS = ("when", "pipeline", "execution", "decision", "who", "summary")


def audit_rows(records: list[AuditRecord]) -> list[tuple[str, ...]]:
    return [(r.when, r.pipeline, r.execution, r.decision, r.who, r.summary) for r in records]


def operator_identity(session: AwsSession) -> str:
    """Who decides: the caller's ARN. On the local AWS every caller is its operator (only the
    operator holds its key pair), but moto names everyone ``user/moto``: the OS user is named."""
    arn = session.caller_arn()
    if session.is_local and arn.endswith("/moto"):
        return f"{arn.rsplit('/', 1)[0]}/{getpass.getuser()}"
    return arn


def write_audit_record(session: AwsSession, bucket: str, done: str, **fields: str
                       ) -> AuditRecord:
    """Append one decision to the audit trail: a JSON object per decision in the bucket.

    ``done`` says what already happened in AWS, so a failed write names what the record must
    still say (the record itself is in the message, to be added by hand).
    """
    now = datetime.now(UTC)
    execution = fields.get("execution", "")
    record = AuditRecord(
        when=iso_time(now, "microseconds"),
        key=f"{AUDIT_PREFIX}/{fields['pipeline']}/{now.strftime('%Y%m%dT%H%M%S.%fZ')}-"
            f"{execution or 'unknown'}.json", **fields)
    try:
        session.client("s3").put_object(Bucket=bucket, Key=record.key,
                                         Body=record.to_json().encode(),
                                         ContentType="application/json")
    except ClientError as err:
        raise StepError(
            f"{done}, but writing the audit record s3://{bucket}/{record.key} failed: {err}. "
            f"Fix the bucket access, then add this record by hand: {record.to_json()}") from err
    return record


def read_audit_trail(session: AwsSession, bucket: str, pipeline: str) -> list[AuditRecord]:
    """Every recorded decision for ``pipeline``, oldest first (keys start with the UTC time)."""
    s3 = session.client("s3")
    prefix = f"{AUDIT_PREFIX}/{pipeline}/"
    keys: list[str] = []
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            keys.extend(obj["Key"] for obj in page.get("Contents", []))
        records = []
        for key in sorted(keys):
            body = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
            records.append(AuditRecord(**{k: body.get(k, "") for k in
                                          AuditRecord.__dataclass_fields__ if k != "key"},
                                       key=key))
    except ClientError as err:
        if err.response["Error"]["Code"] == "NoSuchBucket":
            raise StepError(f"audit bucket {bucket} does not exist; create the artifact bucket "
                            "with notebook 2") from err
        raise StepError(f"read audit trail s3://{bucket}/{prefix}: {err}") from err
    return records


def audit_rows_for(session: AwsSession, bucket: str, pipelines: list[str]
                   ) -> list[tuple[str, ...]]:
    """:data:`AUDIT_HEADERS` rows of each pipeline's audit trail in ``bucket``."""
    return [row for name in pipelines
            for row in audit_rows(read_audit_trail(session, bucket, name))]
