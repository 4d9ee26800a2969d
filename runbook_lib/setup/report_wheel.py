"""A wheel of this package, built from the working tree, for the report build to install.

The local AWS has no network to offer a build, and the version under test is the working tree,
not a release. pip's own build needs the build backend of pyproject.toml (a download); a pure
Python wheel is only a zip with a ``.dist-info`` folder, so it is written here. Entries are
sorted and dated 1980-01-01, so the same tree gives the same bytes: a re-run of the schedule's
plan finds the package unchanged. The report notebook is packed beside the templates, since an
installed package has no ``notebooks/`` folder (see ``runner.REPORT_NOTEBOOK``).
"""

from __future__ import annotations

import base64
import hashlib
import zipfile
from importlib import metadata
from pathlib import Path

import runbook_lib

DIST_NAME = "pipeline-runbooks"
PACKED_REPORT = Path("runbook_lib") / "templates" / "reports" / "pipeline_health.ipynb"
_EPOCH = (1980, 1, 1, 0, 0, 0)
_SKIPPED_SUFFIXES = (".pyc", ".pyo")


def build_wheel(out_dir: Path) -> Path:
    """Write ``pipeline_runbooks-<version>-py3-none-any.whl`` into ``out_dir``; its path."""
    version = _version()
    dist_info = f"pipeline_runbooks-{version}.dist-info"
    files = dict(_package_files())
    # A source checkout keeps the notebooks beside the package (see app/suite.py).
    report = Path(runbook_lib.__file__).resolve().parents[1] / "notebooks" / "reports" / (
        "pipeline_health.ipynb")
    if report.exists():
        files[PACKED_REPORT.as_posix()] = report.read_bytes()
    files[f"{dist_info}/METADATA"] = _metadata(version).encode()
    files[f"{dist_info}/WHEEL"] = (b"Wheel-Version: 1.0\nGenerator: runbook_lib.app.report_wheel"
                                   b"\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
    files[f"{dist_info}/entry_points.txt"] = (b"[console_scripts]\n"
                                              b"runbook = runbook_lib.app.cli:main\n")
    record = [f"{name},sha256={_digest(data)},{len(data)}" for name, data in files.items()]
    record.append(f"{dist_info}/RECORD,,")
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    out = Path(out_dir) / f"pipeline_runbooks-{version}-py3-none-any.whl"
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, _EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[name])
    return out


def _package_files():
    root = Path(runbook_lib.__file__).resolve().parent
    for path in sorted(root.rglob("*")):
        if (path.is_file() and "__pycache__" not in path.parts
                and not path.name.endswith(_SKIPPED_SUFFIXES)):
            yield (Path("runbook_lib") / path.relative_to(root)).as_posix(), path.read_bytes()


def _version() -> str:
    try:
        return metadata.version(DIST_NAME)
    except metadata.PackageNotFoundError:
        return "0.0.0"


def _metadata(version: str) -> str:
    try:
        requires = metadata.requires(DIST_NAME) or []
    except metadata.PackageNotFoundError:
        requires = []
    lines = ["Metadata-Version: 2.1", f"Name: {DIST_NAME}", f"Version: {version}",
             "Requires-Python: >=3.11", *(f"Requires-Dist: {r}" for r in requires)]
    return "\n".join(lines) + "\n"


def _digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
