"""A build's inputs: the source zip from S3, the buildspec, and CodeBuild's own variables.

Errors come out as :class:`PhaseFailed` with CodeBuild's phase-context codes (CLIENT_ERROR for
a source that cannot be read, YAML_FILE_ERROR for a missing or invalid buildspec), so the
runner records them on DOWNLOAD_SOURCE as CodeBuild does.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from botocore.exceptions import ClientError

from runbook_lib.buildspec.model import Buildspec
from runbook_lib.buildspec.validate import parse_buildspec
from runbook_lib.core.errors import BuildspecError
from runbook_lib.local.archives import extract_zip
from runbook_lib.local.codebuild.failures import PhaseFailed

DEFAULT_BUILDSPEC = "buildspec.yml"


def fetch_source(s3, location: str, version_id: str | None, dest: Path) -> str | None:
    """Unzip ``bucket/key`` (or its S3 ARN) into ``dest``; returns the object's version id."""
    bucket, _, key = location.removeprefix("arn:aws:s3:::").partition("/")
    kwargs = {"Bucket": bucket, "Key": key}
    if version_id:
        kwargs["VersionId"] = version_id
    try:
        got = s3.get_object(**kwargs)
        data = got["Body"].read()
    except ClientError as err:
        code = err.response["Error"]["Code"]
        raise PhaseFailed("CLIENT_ERROR", f"{code}: cannot read {location} for primary source "
                          f"and source version {version_id or '$LATEST'}") from err
    try:
        extract_zip(data, dest, keep_links=True)
    except (zipfile.BadZipFile, ValueError, OSError) as err:
        raise PhaseFailed("CLIENT_ERROR", f"source {location} is not a zip: {err}") from err
    return got.get("VersionId")


def is_inline(buildspec: str) -> bool:
    """CodeBuild's rule: the project's ``buildspec`` is YAML text or a path in the source."""
    return "\n" in buildspec or buildspec.lstrip().startswith("version")


def read_buildspec(buildspec: str, src_dir: Path) -> tuple[Buildspec, str]:
    """The parsed buildspec and where it came from (a path, or "inline")."""
    if buildspec and is_inline(buildspec):
        text, where = buildspec, "buildspec (inline)"
    else:
        path = Path(src_dir) / (buildspec or DEFAULT_BUILDSPEC)
        where = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError as err:
            raise PhaseFailed("YAML_FILE_ERROR",
                              f"stat {path}: no such file or directory") from err
        except (OSError, UnicodeDecodeError) as err:
            raise PhaseFailed("YAML_FILE_ERROR", f"cannot read {path}: {err}") from err
    try:
        return parse_buildspec(text, where), where
    except BuildspecError as err:
        raise PhaseFailed("YAML_FILE_ERROR", str(err)) from err


def codebuild_variables(build: dict, src_dir: Path, log_stream: str) -> dict[str, str]:
    """CodeBuild's own environment variables for a build record."""
    repo = (build["source"].get("location") or "").removeprefix("arn:aws:s3:::")
    return {
        "CODEBUILD_BUILD_ARN": build["arn"],
        "CODEBUILD_BUILD_ID": build["id"],
        "CODEBUILD_BUILD_IMAGE": build["environment"].get("image", ""),
        "CODEBUILD_BUILD_NUMBER": str(build["buildNumber"]),
        "CODEBUILD_BUILD_SUCCEEDING": "1",
        "CODEBUILD_CI": "true",
        "CODEBUILD_INITIATOR": build["initiator"],
        "CODEBUILD_KMS_KEY_ID": build.get("encryptionKey", ""),
        "CODEBUILD_LOG_PATH": log_stream,
        "CODEBUILD_RESOLVED_SOURCE_VERSION": build.get("resolvedSourceVersion", ""),
        "CODEBUILD_SOURCE_REPO_URL": f"s3://{repo}" if repo else "",
        "CODEBUILD_SOURCE_VERSION": build.get("sourceVersion", ""),
        "CODEBUILD_SRC_DIR": str(src_dir),
        "CODEBUILD_START_TIME": str(int(build["startTime"] * 1000)),
    }
