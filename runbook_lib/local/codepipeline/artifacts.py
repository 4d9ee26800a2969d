"""Artifacts as CodePipeline keeps them: zip files in the artifact bucket."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from runbook_lib.local.codepipeline.actions import ArtifactRef
from runbook_lib.local.safe_paths import extract_zip


def zip_directory(root: Path, files: list[Path] | None = None) -> bytes:
    """Zip ``files`` (paths relative to ``root``; default: everything under it)."""
    root = Path(root)
    buffer = io.BytesIO()
    chosen = files if files is not None else sorted(
        p.relative_to(root) for p in root.rglob("*") if p.is_file())
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for rel in chosen:
            path = root / rel
            info = zipfile.ZipInfo.from_file(path, arcname=str(rel))
            info.compress_type = zipfile.ZIP_DEFLATED
            with open(path, "rb") as fh:
                zf.writestr(info, fh.read())
    return buffer.getvalue()


def unzip_to(data: bytes, dest: Path) -> None:
    """Extract a zip, refusing members that would escape ``dest`` (absolute, ``..``, links,
    devices: see :mod:`runbook_lib.local.safe_paths`); keeps executable bits."""
    extract_zip(data, dest, "zip member")


def put_artifact(aws, region: str, ref: ArtifactRef, data: bytes) -> ArtifactRef:
    aws.client("s3", region).put_object(Bucket=ref.bucket, Key=ref.key, Body=data)
    return ref


def get_artifact(aws, region: str, ref: ArtifactRef) -> bytes:
    return aws.client("s3", region).get_object(Bucket=ref.bucket, Key=ref.key)["Body"].read()
