"""Artifacts as CodePipeline keeps them: zip files in the artifact bucket.

Zips are made and extracted by :mod:`runbook_lib.local.archives`.
"""

from __future__ import annotations

from runbook_lib.local.codepipeline.actions import ArtifactRef


def put_artifact(aws, region: str, ref: ArtifactRef, data: bytes) -> ArtifactRef:
    aws.client("s3", region).put_object(Bucket=ref.bucket, Key=ref.key, Body=data)
    return ref


def get_artifact(aws, region: str, ref: ArtifactRef) -> bytes:
    return aws.client("s3", region).get_object(Bucket=ref.bucket, Key=ref.key)["Body"].read()
