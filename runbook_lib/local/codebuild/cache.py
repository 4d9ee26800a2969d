"""A build's cache: ``cache.paths`` saved after a successful build, restored before INSTALL.

Projects choose where: ``S3`` (``bucket/prefix`` in the local S3) or ``LOCAL`` (a folder in
the state directory; every LOCAL mode behaves as a custom cache of the buildspec's paths).
Entries are tar.gz files named by the buildspec's ``cache.key`` (default ``default``); a
restore falls back to ``fallback-keys`` in order. Relative paths are taken from and restored
to the source folder; absolute ones (``/root/.m2/**/*``) to their own place, as on a real
build host. Key expressions such as ``$(codebuild-hash-files ...)`` are used as literal names.
"""

from __future__ import annotations

import io
import re
import tarfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeGuard

from botocore.exceptions import ClientError

from runbook_lib.buildspec.model import Cache
from runbook_lib.local.codebuild.outputs import select_files
from runbook_lib.local.safe_paths import UnsafePathError, extract_tar_files

Say = Callable[[str], None]


class BuildCache:
    """Save and restore one project's cache; failures are logged, never fail the build
    (CodeBuild treats a cache miss or upload error as a warning too)."""

    def __init__(self, aws, region: str, config: dict, project: str, src_dir: Path,
                 cache_dir: Path, home: Path) -> None:
        self.aws = aws
        self.region = region
        self.type = config.get("type", "NO_CACHE")
        self.location = config.get("location") or ""
        self.project = project
        self.src_dir = Path(src_dir)
        self.local_dir = Path(cache_dir) / region / project
        self.home = Path(home)

    def restore(self, spec: Cache | None, say: Say) -> None:
        if not self._used(spec, "restore"):
            return
        for key in (spec.key or "default", *spec.fallback_keys):
            try:
                data = self._read(_file_name(key))
                count = (unpack_cache(data, self.src_dir, self.home) if data is not None
                         else None)
            except (ClientError, OSError, tarfile.TarError, UnsafePathError) as err:
                say(f"Cache restore failed for key {key}: {err}")
                continue
            if count is not None:
                say(f"Restored {count} cached files ({self.type} cache, key {key})")
                return
        say(f"No {self.type} cache found; the build runs without one")

    def save(self, spec: Cache | None, say: Say) -> None:
        if not self._used(spec, "save"):
            return
        data = pack_cache(self.src_dir, spec.paths, self.home)
        if data is None:
            say("No files matched cache.paths; nothing cached")
            return
        name = _file_name(spec.key or "default")
        try:
            self._write(name, data)
        except (ClientError, OSError) as err:
            say(f"Cache upload failed: {err}")
            return
        say(f"Saved the cache ({self.type}, {len(data)} bytes, key {spec.key or 'default'})")

    def _used(self, spec: Cache | None, action: str) -> TypeGuard[Cache]:
        return (spec is not None and self.type in ("S3", "LOCAL")
                and spec.action in (None, action))

    def _s3_place(self, name: str) -> tuple[str, str]:
        bucket, _, prefix = self.location.removeprefix("arn:aws:s3:::").partition("/")
        return bucket, "/".join(p for p in (prefix.strip("/"), self.project, name) if p)

    def _read(self, name: str) -> bytes | None:
        if self.type == "LOCAL":
            path = self.local_dir / name
            return path.read_bytes() if path.is_file() else None
        bucket, key = self._s3_place(name)
        try:
            return self.aws.client("s3", self.region).get_object(
                Bucket=bucket, Key=key)["Body"].read()
        except ClientError as err:
            if err.response["Error"]["Code"] in ("NoSuchKey", "NoSuchBucket", "404"):
                return None
            raise

    def _write(self, name: str, data: bytes) -> None:
        if self.type == "LOCAL":
            self.local_dir.mkdir(parents=True, exist_ok=True)
            tmp = self.local_dir / (name + ".tmp")
            tmp.write_bytes(data)
            tmp.replace(self.local_dir / name)
            return
        bucket, key = self._s3_place(name)
        self.aws.client("s3", self.region).put_object(Bucket=bucket, Key=key, Body=data)


def pack_cache(src_dir: Path, paths: Iterable[str], home: Path) -> bytes | None:
    """A tar.gz of the cached files: relative patterns under ``src/``, home ones (``/root/...``
    or ``~/...``, CodeBuild's home) under ``abs/root/...``. None when nothing matched.

    The build's home on the local AWS is a folder of its own (``home``), so a cache never
    reads or writes the machine's real home; other absolute paths are not cached locally.
    Patterns with ``..`` and files whose real path leaves the source or the home (symbolic
    links) are skipped.
    """
    members: set[tuple[str, Path]] = set()
    for pattern in paths:
        if ".." in pattern.replace("\\", "/").split("/"):
            continue  # never leaves the source or the home (a '..' could, resolved or not)
        if pattern.startswith(("/", "~")):
            root, rest = _absolute_root(_codebuild_path(pattern))
            local = _in_home(root, home)
            if local is None:
                continue
            members |= {(f"abs{root}/{r}", local / r)
                        for r in select_files(local, [rest], within=home)}
        else:
            members |= {(f"src/{r}", Path(src_dir) / r)
                        for r in select_files(Path(src_dir), [pattern])}
    if not members:
        return None
    buffer = io.BytesIO()
    # Links were checked to stay inside: their content is cached (a link member would be
    # refused at restore).
    with tarfile.open(fileobj=buffer, mode="w:gz", dereference=True) as tar:
        for name, path in sorted(members):
            tar.add(path, arcname=name, recursive=False)
    return buffer.getvalue()


def unpack_cache(data: bytes, src_dir: Path, home: Path) -> int:
    """Restore a cache archive into the source folder and the build's home; returns how many
    files were restored. A member that would land elsewhere refuses the whole archive."""

    def place(name: str) -> tuple[Path, str] | None:
        if name.startswith("src/"):
            return Path(src_dir), name[4:]
        if name.startswith("abs/") and _in_home(Path("/" + name[4:]), home) is not None:
            return Path(home), str(Path("/" + name[4:]).relative_to(CODEBUILD_HOME))
        return None

    return extract_tar_files(data, place, "cache member")


CODEBUILD_HOME = Path("/root")


def _codebuild_path(pattern: str) -> str:
    return str(CODEBUILD_HOME) + pattern[1:] if pattern.startswith("~") else pattern


def _in_home(path: Path, home: Path) -> Path | None:
    """Where CodeBuild's ``/root/...`` lives for this build; None outside the home."""
    if ".." in path.parts:
        return None
    try:
        return Path(home) / path.relative_to(CODEBUILD_HOME)
    except ValueError:
        return None


def _absolute_root(pattern: str) -> tuple[Path, str]:
    """``/root/.npm/**/*`` -> (Path('/root/.npm'), '**/*'): the fixed part and the rest."""
    parts = Path(pattern).parts[1:]
    fixed: list[str] = []
    for part in parts:
        if any(c in part for c in "*?["):
            break
        fixed.append(part)
    return Path("/", *fixed), "/".join(parts[len(fixed):]) or "**/*"


def _file_name(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", key).strip("_")[:200] + ".tar.gz"
