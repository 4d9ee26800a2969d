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
from typing import Any

from botocore.exceptions import ClientError

from runbook_lib.core import tags
from runbook_lib.core.errors import StepError
from runbook_lib.core.params import Params, ResourceNames
from runbook_lib.core.plan import Change, Plan, create, diff_values, unchanged, update
from runbook_lib.core.session import AwsSession
from runbook_lib.setup.bucket_state import (
    LIFECYCLE_RULE_ID,
    PUBLIC_ACCESS_FLAGS,
    TLS_STATEMENT_SID,
    BucketState,
    describe_bucket,
    encryption_text,
    lifecycle_summary,
    normalised_statement,
)

__all__ = ["ABORT_MULTIPART_DAYS", "describe_artifact_bucket", "desired_encryption",
           "lifecycle_rule", "plan_artifact_bucket", "plan_deploy_buckets", "tls_only_statement"]

ABORT_MULTIPART_DAYS = 7
_NO_REGION_CONSTRAINT = "us-east-1"  # S3 rejects a LocationConstraint naming us-east-1


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
        return create(resource, _apply, [f"encryption: {encryption_text(desired)}"])
    if state.encryption is None:
        return update(resource, [f"encryption: (none) -> {encryption_text(desired)}"], _apply)
    if not diff_values(state.encryption, desired):
        return unchanged(resource)
    shown = f"encryption: {encryption_text(state.encryption)} -> {encryption_text(desired)}"
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
    diff = diff_values(normalised_statement(current), wanted, f"statement {TLS_STATEMENT_SID}")
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

    wanted_summary = lifecycle_summary(wanted)
    shown = (f"noncurrent versions expire after {wanted_summary['NoncurrentDays']} days, "
             f"incomplete uploads aborted after {wanted_summary['AbortDays']} days")
    if not state.exists:
        return create(resource, _apply, [shown])
    if state.lifecycle_rule is None:
        return update(resource, [f"rule {LIFECYCLE_RULE_ID}: (absent) -> {shown}"], _apply)
    diff = diff_values(lifecycle_summary(state.lifecycle_rule), wanted_summary,
                       f"rule {LIFECYCLE_RULE_ID}")
    return update(resource, diff, _apply) if diff else unchanged(resource)


# -- reading ------------------------------------------------------------------------------------


def _read_owned_state(session: AwsSession, bucket: str, app_name: str) -> BucketState:
    """Describe the bucket; an existing bucket without our tags stops the plan here."""
    state = describe_bucket(session, bucket)
    if state.exists:
        tags.require_owned(f"s3 bucket {bucket}", state.tags, app_name)
    return state


def _call(context: str, call: Callable[..., Any], **kwargs: Any) -> Any:
    try:
        return call(**kwargs)
    except ClientError as err:
        code = err.response["Error"]["Code"]
        if code == "BucketAlreadyExists":
            raise StepError(f"{context}: the name is taken by another account. Fix: choose "
                            "another app_name.") from err
        raise StepError(f"{context}: {err}") from err
