"""S3 bucket policies, kept by the local AWS instead of moto.

moto applies a bucket policy's Deny statements to object reads and writes without evaluating
their conditions, so the artifact bucket's "deny unless TLS" statement would refuse every
artifact the pipeline writes. The local AWS does not enforce IAM at all (it is an emulator on
loopback), so bucket policies are stored, validated as JSON and returned exactly as given, but
not enforced; moto never sees them.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from runbook_lib.local.server.store import JsonStore
from runbook_lib.local.server.wire import AwsError, Request, Response, s3_bucket_name

if TYPE_CHECKING:
    from runbook_lib.local.server.context import LocalContext


class S3BucketPolicies:
    def __init__(self, ctx: LocalContext) -> None:
        self.ctx = ctx
        self.store = JsonStore(ctx.state_dir / "s3-bucket-policies.json", {})

    def routes(self):
        return {
            ("s3", "PutBucketPolicy"): self.put_policy,
            ("s3", "GetBucketPolicy"): self.get_policy,
            ("s3", "DeleteBucketPolicy"): self.delete_policy,
            ("s3", "GetBucketPolicyStatus"): self.get_policy_status,
        }

    def after_forward(self, request: Request, status: int) -> None:
        """A deleted bucket takes its policy with it."""
        if (request.service, request.operation) == ("s3", "DeleteBucket") and status < 300:
            with self.store.lock:
                if self.store.data.pop(s3_bucket_name(request), None) is not None:
                    self.store.save()

    def put_policy(self, request: Request) -> Response:
        bucket = self._existing_bucket(request)
        try:
            document = json.loads(request.body or b"")
        except ValueError as err:
            raise _xml_error("MalformedPolicy", f"Policies must be valid JSON ({err})") from err
        if not isinstance(document, dict) or "Statement" not in document:
            raise _xml_error("MalformedPolicy", "Policy has no Statement")
        with self.store.transaction():
            self.store.data[bucket] = request.body.decode()
        return Response(204, [], b"")

    def get_policy(self, request: Request) -> Response:
        body = self._policy(request).encode()
        return Response(200, [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))], body)

    def _policy(self, request: Request) -> str:
        """The bucket's stored policy document; S3's NoSuchBucketPolicy when it has none."""
        bucket = self._existing_bucket(request)
        with self.store.lock:
            policy = self.store.data.get(bucket)
        if policy is None:
            raise _xml_error("NoSuchBucketPolicy", "The bucket policy does not exist", 404)
        return policy

    def delete_policy(self, request: Request) -> Response:
        bucket = self._existing_bucket(request)
        with self.store.lock:
            if self.store.data.pop(bucket, None) is not None:
                self.store.save()
        return Response(204, [], b"")

    def get_policy_status(self, request: Request) -> Response:
        public = _is_public(json.loads(self._policy(request)))
        body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><PolicyStatus><IsPublic>"
                f"{'true' if public else 'false'}</IsPublic></PolicyStatus>").encode()
        return Response(200, [("Content-Type", "application/xml")], body)

    def _existing_bucket(self, request: Request) -> str:
        bucket = s3_bucket_name(request)
        try:
            self.ctx.aws.client("s3", request.region).head_bucket(Bucket=bucket)
        except ClientError as err:
            raise _xml_error("NoSuchBucket", "The specified bucket does not exist", 404) from err
        return bucket


def _is_public(document: dict) -> bool:
    for statement in document.get("Statement", []):
        principal = statement.get("Principal")
        if statement.get("Effect") == "Allow" and principal in ("*", {"AWS": "*"}) \
                and not statement.get("Condition"):
            return True
    return False


class _S3Error(AwsError):
    def response(self) -> Response:
        body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error>"
                f"<Code>{self.code}</Code><Message>{self.message}</Message></Error>").encode()
        return Response(self.status, [("Content-Type", "application/xml")], body)


def _xml_error(code: str, message: str, status: int = 400) -> _S3Error:
    return _S3Error(code, message, status)
