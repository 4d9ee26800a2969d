"""Zip files as CodeBuild and CodePipeline exchange them: one routine to make, one to extract.

Build outputs, pipeline artifacts and source bundles are all zips in S3; making and reading
them in one place keeps names, compression and file modes (executable bits survive a round
trip) the same everywhere.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping
from pathlib import Path


def make_zip(files: Mapping[str, Path] | Path) -> bytes:
    """A deflated zip of ``files`` (archive name to file on disk), in name order, modes kept;
    given a folder, of every file under it (named relative to it), links whose real path
    leaves the folder left out (they are never followed out of it)."""
    if isinstance(files, Path):
        root, real_root = files, files.resolve()
        files = {p.relative_to(root).as_posix(): p for p in root.rglob("*")
                 if p.is_file() and (real_root == p.resolve()
                                     or real_root in p.resolve().parents)}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, path in sorted(files.items()):
            info = zipfile.ZipInfo.from_file(path, arcname=name)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, Path(path).read_bytes())
    return buffer.getvalue()


def extract_zip(data: bytes, dest: Path, keep_links: bool = False) -> None:
    """Extract a zip into ``dest``, keeping file modes; every member is checked first by
    :mod:`runbook_lib.local.safe_paths` (absolute, ``..``, links, devices, links on disk).

    ``keep_links`` (a build's source, as CodeBuild downloads it) makes symbolic-link members
    links again when they point inside ``dest``; otherwise a link member is refused.
    Raises ``zipfile.BadZipFile`` for data that is not a zip and ``UnsafePathError`` (a
    ``ValueError``) for a member that would land outside ``dest``.
    """
    from runbook_lib.local.safe_paths import extract_zip as extract_checked

    extract_checked(data, dest, "zip member", keep_links=keep_links)
