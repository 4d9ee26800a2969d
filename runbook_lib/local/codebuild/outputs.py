"""A build's artifact: the files its buildspec picks, zipped to S3 (or one object each).

File patterns follow CodeBuild: relative to ``base-directory`` (default the source folder),
``*`` within one folder, ``**`` across folders (``**/*`` = everything), ``exclude-paths`` with
the same syntax, ``discard-paths`` flattens to file names.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from runbook_lib.buildspec.model import Artifacts
from runbook_lib.local.archives import make_zip


class ArtifactError(Exception):
    """Nothing to upload, or a pattern that leaves the source folder."""


@dataclass(frozen=True)
class ArtifactTarget:
    """Where the primary artifact goes; ``packaging`` ZIP (one object) or NONE (a folder)."""

    bucket: str
    key: str
    packaging: str = "ZIP"

    @property
    def arn(self) -> str:
        return f"arn:aws:s3:::{self.bucket}/{self.key}"


def artifact_target(config: dict, build_uuid: str, buildspec_name: str | None
                    ) -> ArtifactTarget | None:
    """CodeBuild's S3 artifact key: ``path/[build-uuid/]name``; None for NO_ARTIFACTS.

    The buildspec's ``artifacts.name`` is used when the project sets ``overrideArtifactName``
    (or names nothing itself)."""
    if config.get("type") != "S3" or not config.get("location"):
        return None
    name = config.get("name") or ""
    if buildspec_name and (config.get("overrideArtifactName") or not name):
        name = buildspec_name
    parts = [config.get("path") or ""]
    if config.get("namespaceType") == "BUILD_ID":
        parts.append(build_uuid)
    parts.append(name or build_uuid)
    key = "/".join(p.strip("/") for p in parts if p.strip("/"))
    return ArtifactTarget(config["location"], key, config.get("packaging") or "ZIP")


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """A CodeBuild file pattern as a regex over '/'-separated relative paths."""
    out, i = "", 0
    pattern = pattern.strip()
    pattern = pattern[2:] if pattern.startswith("./") else pattern
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out.rstrip("/") + "(?:/.*)?$" if not pattern.endswith("*") else out + "$")


def select_files(root: Path, patterns: Iterable[str], excludes: Iterable[str] = (),
                 within: Path | None = None) -> list[str]:
    """Relative paths of the files under ``root`` matched by ``patterns`` and no exclude.

    Containment is checked on the real path: a file (or ``root`` itself) that is a symbolic
    link resolving outside ``within`` (default ``root``) is never selected, so a link to
    ``../../credentials.json`` cannot put that file into an artifact, a report or a cache.
    Linked folders are not descended into."""
    root = Path(root)
    fence = Path(within or root).resolve()
    if not _contained(root.resolve(), fence):
        return []
    wanted = [pattern_regex(p) for p in patterns]
    unwanted = [pattern_regex(p) for p in excludes]
    found = []
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            rel = (Path(dirpath) / name).relative_to(root).as_posix()
            if (any(r.match(rel) for r in wanted) and not any(r.match(rel) for r in unwanted)
                    and _contained((Path(dirpath) / name).resolve(), fence)):
                found.append(rel)
    return sorted(found)


def _contained(real: Path, fence: Path) -> bool:
    return real == fence or fence in real.parents


def collect_artifact_files(src_dir: Path, spec: Artifacts) -> dict[str, Path]:
    """Archive names to files on disk, per the buildspec's ``artifacts`` section."""
    base = Path(src_dir) / (spec.base_directory or "")
    if not _contained(base.resolve(), Path(src_dir).resolve()):
        raise ArtifactError(f"base-directory {spec.base_directory} is outside the source "
                            f"folder (it resolves to {base.resolve()}); name a folder inside it")
    if not base.is_dir():
        raise ArtifactError("no matching base directory path found for "
                            f"{spec.base_directory}")
    chosen: dict[str, Path] = {}
    for rel in select_files(base, spec.files, spec.exclude_paths, within=Path(src_dir)):
        name = Path(rel).name if spec.discard_paths else rel
        chosen.setdefault(name, base / rel)
    if not chosen:
        raise ArtifactError("no matching artifact paths found")
    return chosen


def upload_artifact(s3, target: ArtifactTarget, files: dict[str, Path]) -> bytes | None:
    """One zip object (ZIP; its bytes are returned for checksums) or one object per file
    under the key (NONE)."""
    if target.packaging == "NONE":
        for name, path in sorted(files.items()):
            s3.put_object(Bucket=target.bucket, Key=f"{target.key}/{name}",
                          Body=path.read_bytes())
        return None
    data = make_zip(files)
    s3.put_object(Bucket=target.bucket, Key=target.key, Body=data)
    return data
