"""Artifacts as CodePipeline keeps them: zip files in the artifact bucket."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

from runbook_lib.local.codepipeline.actions import ArtifactRef


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
    """Extract a zip, refusing entries that would escape ``dest``; keeps executable bits."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for info in zf.infolist():
            target = (dest / info.filename).resolve()
            inside = str(target).startswith(str(dest.resolve()) + os.sep)
            if not inside and target != dest.resolve():
                raise ValueError(f"zip entry {info.filename!r} escapes the target folder")
            zf.extract(info, dest)
            mode = info.external_attr >> 16
            if mode and not info.is_dir():
                os.chmod(target, mode & 0o777)


def put_artifact(aws, region: str, ref: ArtifactRef, data: bytes) -> ArtifactRef:
    aws.client("s3", region).put_object(Bucket=ref.bucket, Key=ref.key, Body=data)
    return ref


def get_artifact(aws, region: str, ref: ArtifactRef) -> bytes:
    return aws.client("s3", region).get_object(Bucket=ref.bucket, Key=ref.key)["Body"].read()
