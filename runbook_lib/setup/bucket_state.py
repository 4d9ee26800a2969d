"""A bucket as it is now: the aspects the suite manages, read and normalised for comparing.

S3 answers each aspect (tags, versioning, encryption, public access block, policy, lifecycle)
with its own call and its own "not configured" error code; :func:`describe_bucket` turns those
into one :class:`BucketState`, and the normalisers give AWS's answers the shape the plans
compare against, so a converged bucket shows no diff.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from runbook_lib.core import tags
from runbook_lib.core.errors import StepError
from runbook_lib.core.session import AwsSession

TLS_STATEMENT_SID = "DenyInsecureTransport"
LIFECYCLE_RULE_ID = "runbook-expire-noncurrent-versions"
PUBLIC_ACCESS_FLAGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy",
                       "RestrictPublicBuckets")


@dataclass
class BucketState:
    """What a bucket looks like now, read-only; ``exists=False`` leaves the rest empty."""

    name: str
    exists: bool
    tags: dict[str, str] = field(default_factory=dict)
    versioning: str = "Disabled"
    encryption: dict[str, Any] | None = None
    public_access_block: dict[str, bool] | None = None
    policy: dict[str, Any] | None = None
    lifecycle_rules: list[dict[str, Any]] = field(default_factory=list)

    @property
    def tls_statement(self) -> dict[str, Any] | None:
        return statement_by_sid(self.policy, TLS_STATEMENT_SID)

    @property
    def lifecycle_rule(self) -> dict[str, Any] | None:
        return next((r for r in self.lifecycle_rules if r.get("ID") == LIFECYCLE_RULE_ID), None)

    def as_rows(self) -> list[tuple[str, str]]:
        """(aspect, value) rows for a table."""
        if not self.exists:
            return [("bucket", f"{self.name} (does not exist)")]
        pab = self.public_access_block or {}
        blocked = [f for f in PUBLIC_ACCESS_FLAGS if pab.get(f)]
        rule = lifecycle_summary(self.lifecycle_rule)
        return [
            ("bucket", self.name),
            ("versioning", self.versioning),
            ("encryption", encryption_text(self.encryption)),
            ("public access blocks", f"{len(blocked)} of 4 on"),
            ("TLS-only policy", "yes" if self.tls_statement else "no"),
            ("noncurrent versions expire after",
             f"{rule['NoncurrentDays']} days" if rule.get("NoncurrentDays") else "never"),
            ("incomplete uploads aborted after",
             f"{rule['AbortDays']} days" if rule.get("AbortDays") else "never"),
            ("tags", ", ".join(f"{k}={v}" for k, v in sorted(self.tags.items())) or "(none)"),
        ]


def describe_bucket(session: AwsSession, bucket: str) -> BucketState:
    """Any bucket's managed aspects as they are now; read calls only."""
    s3 = session.client("s3")
    if not _bucket_exists(s3, bucket):
        return BucketState(bucket, exists=False)
    tag_set = _read(s3.get_bucket_tagging, bucket, "tags", "NoSuchTagSet")
    versioning = _read(s3.get_bucket_versioning, bucket, "versioning") or {}
    encryption = _read(s3.get_bucket_encryption, bucket, "encryption",
                       "ServerSideEncryptionConfigurationNotFoundError")
    pab = _read(s3.get_public_access_block, bucket, "public access block",
                "NoSuchPublicAccessBlockConfiguration")
    policy = _read(s3.get_bucket_policy, bucket, "policy", "NoSuchBucketPolicy")
    lifecycle = _read(s3.get_bucket_lifecycle_configuration, bucket, "lifecycle",
                      "NoSuchLifecycleConfiguration")
    return BucketState(
        name=bucket,
        exists=True,
        tags=tags.from_tag_list((tag_set or {}).get("TagSet")),
        versioning=versioning.get("Status") or "Disabled",
        encryption=encryption_of(encryption),
        public_access_block=(pab or {}).get("PublicAccessBlockConfiguration"),
        policy=json.loads(policy["Policy"]) if policy else None,
        lifecycle_rules=list((lifecycle or {}).get("Rules", [])),
    )


# -- reading ------------------------------------------------------------------------------------


def _bucket_exists(s3, bucket: str) -> bool:
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as err:
        code = err.response["Error"]["Code"]
        if code in ("404", "NoSuchBucket"):
            return False
        if code in ("403", "AccessDenied"):
            raise StepError(
                f"head bucket {bucket}: access denied. The name is taken by another account, "
                "or your identity may not read it. Fix: choose another app_name, or grant "
                "s3:ListBucket on the bucket."
            ) from err
        raise StepError(f"head bucket {bucket}: {err}") from err
    return True


def _read(call: Callable[..., dict], bucket: str, what: str, *not_found_codes: str):
    """One Get call; ``None`` only for the error codes that mean "not configured"."""
    try:
        response = call(Bucket=bucket)
    except ClientError as err:
        if err.response["Error"]["Code"] in not_found_codes:
            return None
        raise StepError(f"get bucket {what} {bucket}: {err}") from err
    response.pop("ResponseMetadata", None)
    return response


# -- normalising AWS's answers ------------------------------------------------------------------


def encryption_of(response: dict | None) -> dict[str, Any] | None:
    """The first default-encryption rule, flattened to the keys the suite manages."""
    rules = ((response or {}).get("ServerSideEncryptionConfiguration") or {}).get("Rules") or []
    if not rules:
        return None
    rule = rules[0]
    flat = dict(rule.get("ApplyServerSideEncryptionByDefault") or {})
    flat["BucketKeyEnabled"] = bool(rule.get("BucketKeyEnabled", False))
    return flat


def encryption_text(encryption: dict[str, Any] | None) -> str:
    """SSE-S3 or SSE-KMS with its key, as an operator reads it."""
    if not encryption:
        return "(none)"
    if encryption.get("SSEAlgorithm") == "AES256":
        return "SSE-S3 (AES256)"
    key = encryption.get("KMSMasterKeyID") or "aws/s3 default key"
    bucket_key = ", bucket key" if encryption.get("BucketKeyEnabled") else ""
    return f"SSE-KMS ({key}{bucket_key})"


def statement_by_sid(policy: dict | None, sid: str) -> dict[str, Any] | None:
    """The policy statement with this ``Sid``, or None."""
    statements = (policy or {}).get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    return next((s for s in statements if s.get("Sid") == sid), None)


def normalised_statement(statement: dict[str, Any]) -> dict[str, Any]:
    """AWS may return a single resource as a string and "*" as {"AWS": "*"}; undo both."""
    out = dict(statement)
    if isinstance(out.get("Resource"), str):
        out["Resource"] = [out["Resource"]]
    if out.get("Principal") == {"AWS": "*"}:
        out["Principal"] = "*"
    if isinstance(out.get("Resource"), list):
        out["Resource"] = sorted(out["Resource"])
    return out


def lifecycle_summary(rule: dict[str, Any] | None) -> dict[str, Any]:
    """The parts of a lifecycle rule the suite manages, flat, so diffs read well."""
    if not rule:
        return {}
    prefix = (rule.get("Filter") or {}).get("Prefix", rule.get("Prefix", ""))
    return {
        "Status": rule.get("Status"),
        "Prefix": prefix or "",
        "NoncurrentDays": (rule.get("NoncurrentVersionExpiration") or {}).get("NoncurrentDays"),
        "AbortDays": (rule.get("AbortIncompleteMultipartUpload") or {}).get(
            "DaysAfterInitiation"),
    }
