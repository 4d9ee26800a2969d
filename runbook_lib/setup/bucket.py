"""The artifact bucket (and, for S3 deploys, the two deploy target buckets).

CodePipeline would create a default artifact store of its own, shared by every pipeline in the
region and configured by nobody. An explicit bucket per app puts encryption, versioning,
lifecycle and public access under the operator's control and review.

Each aspect of a bucket (versioning, encryption, public access block, TLS-only policy,
lifecycle) is its own :class:`~runbook_lib.core.plan.Change`, so drift in one aspect is shown and
repaired alone, and a converged re-run makes no mutating call.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from runbook_lib.core import tags
from runbook_lib.core.errors import StepError
from runbook_lib.core.params import Params, ResourceNames
from runbook_lib.core.plan import Change, Plan, create, diff_values, unchanged, update
from runbook_lib.core.session import AwsSession

TLS_STATEMENT_SID = "DenyInsecureTransport"
LIFECYCLE_RULE_ID = "runbook-expire-noncurrent-versions"
ABORT_MULTIPART_DAYS = 7
PUBLIC_ACCESS_FLAGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy",
                       "RestrictPublicBuckets")
_NO_REGION_CONSTRAINT = "us-east-1"  # S3 rejects a LocationConstraint naming us-east-1


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
        return _statement(self.policy, TLS_STATEMENT_SID)

    @property
    def lifecycle_rule(self) -> dict[str, Any] | None:
        return next((r for r in self.lifecycle_rules if r.get("ID") == LIFECYCLE_RULE_ID), None)

    def as_rows(self) -> list[tuple[str, str]]:
        """(aspect, value) rows for a table."""
        if not self.exists:
            return [("bucket", f"{self.name} (does not exist)")]
        pab = self.public_access_block or {}
        blocked = [f for f in PUBLIC_ACCESS_FLAGS if pab.get(f)]
        rule = _lifecycle_summary(self.lifecycle_rule)
        return [
            ("bucket", self.name),
            ("versioning", self.versioning),
            ("encryption", _encryption_text(self.encryption)),
            ("public access blocks", f"{len(blocked)} of 4 on"),
            ("TLS-only policy", "yes" if self.tls_statement else "no"),
            ("noncurrent versions expire after",
             f"{rule['NoncurrentDays']} days" if rule.get("NoncurrentDays") else "never"),
            ("incomplete uploads aborted after",
             f"{rule['AbortDays']} days" if rule.get("AbortDays") else "never"),
            ("tags", ", ".join(f"{k}={v}" for k, v in sorted(self.tags.items())) or "(none)"),
        ]


# -- public entry points ------------------------------------------------------------------------


def plan_artifact_bucket(session: AwsSession, params: Params, names: ResourceNames) -> Plan:
    """Versioned, encrypted, private, TLS-only artifact bucket with a noncurrent-version expiry."""
    plan = Plan("artifact bucket")
    bucket = names.artifact_bucket
    state = _read_owned_state(session, bucket, params.app_name)
    for change in _bucket_changes(session, params, names, state, with_policy_and_lifecycle=True):
        plan.add(change)
    return plan


def plan_deploy_buckets(session: AwsSession, params: Params, names: ResourceNames) -> Plan:
    """The staging and production buckets the S3 deploy action extracts builds into.

    Only for ``deploy_provider == "s3"``; other providers deploy elsewhere and get an empty
    plan. Ownership of both buckets is checked before either is planned.
    """
    plan = Plan("deploy buckets")
    if params.deploy_provider != "s3":
        return plan
    states = [_read_owned_state(session, b, params.app_name) for b in names.deploy_buckets]
    for state in states:
        for change in _bucket_changes(session, params, names, state,
                                      with_policy_and_lifecycle=False):
            plan.add(change)
    return plan


def describe_artifact_bucket(session: AwsSession, names: ResourceNames) -> BucketState:
    """The artifact bucket as it is now, for display; read calls only."""
    return describe_bucket(session, names.artifact_bucket)


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
        encryption=_encryption_of(encryption),
        public_access_block=(pab or {}).get("PublicAccessBlockConfiguration"),
        policy=json.loads(policy["Policy"]) if policy else None,
        lifecycle_rules=list((lifecycle or {}).get("Rules", [])),
    )


# -- desired state ------------------------------------------------------------------------------


def desired_encryption(params: Params) -> dict[str, Any]:
    """SSE-KMS with a bucket key when a key is given (fewer KMS calls), else SSE-S3."""
    if params.kms_key_arn:
        return {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": params.kms_key_arn,
                "BucketKeyEnabled": True}
    return {"SSEAlgorithm": "AES256"}


def tls_only_statement(names: ResourceNames, bucket: str) -> dict[str, Any]:
    """Deny every request made without TLS, on the bucket and its objects."""
    arn = f"arn:{names.partition}:s3:::{bucket}"
    return {
        "Sid": TLS_STATEMENT_SID,
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [arn, f"{arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def lifecycle_rule(params: Params) -> dict[str, Any]:
    """Old artifact versions pile up on every run; expire them, and abandoned uploads too."""
    return {
        "ID": LIFECYCLE_RULE_ID,
        "Status": "Enabled",
        "Filter": {"Prefix": ""},
        "NoncurrentVersionExpiration": {"NoncurrentDays": params.noncurrent_version_days},
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": ABORT_MULTIPART_DAYS},
    }


# -- changes per aspect -------------------------------------------------------------------------


def _bucket_changes(session: AwsSession, params: Params, names: ResourceNames,
                    state: BucketState, with_policy_and_lifecycle: bool) -> list[Change]:
    s3 = session.client("s3")
    changes = [
        _bucket_change(s3, params, names, state),
        _versioning_change(s3, state),
        _encryption_change(s3, params, state),
        _public_access_change(s3, state),
    ]
    if with_policy_and_lifecycle:
        changes += [_policy_change(s3, names, state), _lifecycle_change(s3, params, state)]
    return changes


def _bucket_change(s3, params: Params, names: ResourceNames, state: BucketState) -> Change:
    resource = f"s3 bucket {state.name}"
    if state.exists:
        return unchanged(resource)
    owner_tags = tags.ownership_tags(params.app_name)

    def _create() -> None:
        kwargs: dict[str, Any] = {"Bucket": state.name}
        if names.region != _NO_REGION_CONSTRAINT:
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": names.region}
        _call(f"create bucket {state.name}", s3.create_bucket, **kwargs)
        # Tag at once: an untagged bucket would be refused as a look-alike on the next run.
        _call(f"tag bucket {state.name}", s3.put_bucket_tagging, Bucket=state.name,
              Tagging={"TagSet": tags.as_tag_list(owner_tags)})

    details = [f"region: {names.region}",
               "tags: " + ", ".join(f"{k}={v}" for k, v in sorted(owner_tags.items()))]
    return create(resource, _create, details)


def _versioning_change(s3, state: BucketState) -> Change:
    resource = f"s3 bucket {state.name} versioning"

    def _apply() -> None:
        _call(f"put bucket versioning {state.name}", s3.put_bucket_versioning,
              Bucket=state.name, VersioningConfiguration={"Status": "Enabled"})

    if not state.exists:
        return create(resource, _apply, ["versioning: Enabled"])
    if state.versioning == "Enabled":
        return unchanged(resource)
    return update(resource, [f"versioning: {state.versioning} -> Enabled"], _apply)


def _encryption_change(s3, params: Params, state: BucketState) -> Change:
    resource = f"s3 bucket {state.name} encryption"
    desired = desired_encryption(params)

    def _apply() -> None:
        rule: dict[str, Any] = {"ApplyServerSideEncryptionByDefault": {
            k: v for k, v in desired.items() if k != "BucketKeyEnabled"}}
        if "BucketKeyEnabled" in desired:
            rule["BucketKeyEnabled"] = desired["BucketKeyEnabled"]
        _call(f"put bucket encryption {state.name}", s3.put_bucket_encryption,
              Bucket=state.name, ServerSideEncryptionConfiguration={"Rules": [rule]})

    if not state.exists:
        return create(resource, _apply, [f"encryption: {_encryption_text(desired)}"])
    if state.encryption is None:
        return update(resource, [f"encryption: (none) -> {_encryption_text(desired)}"], _apply)
    if not diff_values(state.encryption, desired):
        return unchanged(resource)
    shown = f"encryption: {_encryption_text(state.encryption)} -> {_encryption_text(desired)}"
    return update(resource, [shown], _apply)


def _public_access_change(s3, state: BucketState) -> Change:
    resource = f"s3 bucket {state.name} public access block"
    desired = dict.fromkeys(PUBLIC_ACCESS_FLAGS, True)

    def _apply() -> None:
        _call(f"put public access block {state.name}", s3.put_public_access_block,
              Bucket=state.name, PublicAccessBlockConfiguration=desired)

    if not state.exists:
        return create(resource, _apply, ["all four public access blocks on"])
    if state.public_access_block is None:
        return update(resource, ["public access block: (none) -> all four blocks on"], _apply)
    diff = diff_values(state.public_access_block, desired)
    return update(resource, diff, _apply) if diff else unchanged(resource)


def _policy_change(s3, names: ResourceNames, state: BucketState) -> Change:
    """Own only the TLS statement; statements the operator added are kept as they are."""
    resource = f"s3 bucket {state.name} policy"
    wanted = tls_only_statement(names, state.name)
    others = [s for s in (state.policy or {}).get("Statement", [])
              if s.get("Sid") != TLS_STATEMENT_SID]
    document = {"Version": "2012-10-17", "Statement": [*others, wanted]}

    def _apply() -> None:
        _call(f"put bucket policy {state.name}", s3.put_bucket_policy, Bucket=state.name,
              Policy=json.dumps(document))

    if not state.exists:
        return create(resource, _apply, ["deny every request without TLS (aws:SecureTransport)"])
    current = state.tls_statement
    if current is None:
        return update(resource, [f"statement {TLS_STATEMENT_SID}: (absent) -> deny requests "
                                 "without TLS"], _apply)
    diff = diff_values(_normalised_statement(current), wanted, f"statement {TLS_STATEMENT_SID}")
    return update(resource, diff, _apply) if diff else unchanged(resource)


def _lifecycle_change(s3, params: Params, state: BucketState) -> Change:
    """Own only the suite's rule (by ID); other lifecycle rules are kept."""
    resource = f"s3 bucket {state.name} lifecycle"
    wanted = lifecycle_rule(params)
    others = [r for r in state.lifecycle_rules if r.get("ID") != LIFECYCLE_RULE_ID]

    def _apply() -> None:
        _call(f"put lifecycle configuration {state.name}",
              s3.put_bucket_lifecycle_configuration, Bucket=state.name,
              LifecycleConfiguration={"Rules": [*others, wanted]})

    wanted_summary = _lifecycle_summary(wanted)
    shown = (f"noncurrent versions expire after {wanted_summary['NoncurrentDays']} days, "
             f"incomplete uploads aborted after {wanted_summary['AbortDays']} days")
    if not state.exists:
        return create(resource, _apply, [shown])
    if state.lifecycle_rule is None:
        return update(resource, [f"rule {LIFECYCLE_RULE_ID}: (absent) -> {shown}"], _apply)
    diff = diff_values(_lifecycle_summary(state.lifecycle_rule), wanted_summary,
                       f"rule {LIFECYCLE_RULE_ID}")
    return update(resource, diff, _apply) if diff else unchanged(resource)


# -- reading ------------------------------------------------------------------------------------


def _read_owned_state(session: AwsSession, bucket: str, app_name: str) -> BucketState:
    """Describe the bucket; an existing bucket without our tags stops the plan here."""
    state = describe_bucket(session, bucket)
    if state.exists:
        tags.require_owned(f"s3 bucket {bucket}", state.tags, app_name)
    return state


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


def _call(context: str, call: Callable[..., Any], **kwargs: Any) -> Any:
    try:
        return call(**kwargs)
    except ClientError as err:
        code = err.response["Error"]["Code"]
        if code == "BucketAlreadyExists":
            raise StepError(f"{context}: the name is taken by another account. Fix: choose "
                            "another app_name.") from err
        raise StepError(f"{context}: {err}") from err


# -- normalising AWS's answers ------------------------------------------------------------------


def _encryption_of(response: dict | None) -> dict[str, Any] | None:
    """The first default-encryption rule, flattened to the keys the suite manages."""
    rules = ((response or {}).get("ServerSideEncryptionConfiguration") or {}).get("Rules") or []
    if not rules:
        return None
    rule = rules[0]
    flat = dict(rule.get("ApplyServerSideEncryptionByDefault") or {})
    flat["BucketKeyEnabled"] = bool(rule.get("BucketKeyEnabled", False))
    return flat


def _encryption_text(encryption: dict[str, Any] | None) -> str:
    if not encryption:
        return "(none)"
    if encryption.get("SSEAlgorithm") == "AES256":
        return "SSE-S3 (AES256)"
    key = encryption.get("KMSMasterKeyID") or "aws/s3 default key"
    bucket_key = ", bucket key" if encryption.get("BucketKeyEnabled") else ""
    return f"SSE-KMS ({key}{bucket_key})"


def _statement(policy: dict | None, sid: str) -> dict[str, Any] | None:
    statements = (policy or {}).get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    return next((s for s in statements if s.get("Sid") == sid), None)


def _normalised_statement(statement: dict[str, Any]) -> dict[str, Any]:
    """AWS may return a single resource as a string and "*" as {"AWS": "*"}; undo both."""
    out = dict(statement)
    if isinstance(out.get("Resource"), str):
        out["Resource"] = [out["Resource"]]
    if out.get("Principal") == {"AWS": "*"}:
        out["Principal"] = "*"
    if isinstance(out.get("Resource"), list):
        out["Resource"] = sorted(out["Resource"])
    return out


def _lifecycle_summary(rule: dict[str, Any] | None) -> dict[str, Any]:
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
