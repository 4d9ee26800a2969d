"""Zip files as CodeBuild and CodePipeline exchange them: one routine to make, one to extract.

Build outputs, pipeline artifacts and source bundles are all zips in S3; making and reading
them in one place keeps names, compression and file modes (executable bits survive a round
trip) the same everywhere.
"""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Mapping
from pathlib import Path


def make_zip(files: Mapping[str, Path] | Path) -> bytes:
    """A deflated zip of ``files`` (archive name to file on disk), in name order, modes kept;
    given a folder, of every file under it (named relative to it)."""
    if isinstance(files, Path):
        root = files
        files = {p.relative_to(root).as_posix(): p for p in root.rglob("*") if p.is_file()}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, path in sorted(files.items()):
            info = zipfile.ZipInfo.from_file(path, arcname=name)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, Path(path).read_bytes())
    return buffer.getvalue()


def extract_zip(data: bytes, dest: Path) -> None:
    """Extract a zip into ``dest``, refusing entries that would escape it; keeps file modes.

    Raises ``zipfile.BadZipFile`` for data that is not a zip and ``ValueError`` for an entry
    that escapes ``dest``.
    """
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
