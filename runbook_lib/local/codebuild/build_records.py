"""Where build records live on disk: one file per build, written before memory changes.

``<state>/codebuild-builds/<region>/<build id>.json``, so a phase change rewrites only its own
build's record. A write is atomic (temporary file, fsync, rename); a failed one (a full disk)
raises :class:`~runbook_lib.local.server.store.StoreWriteError` (AWS's ServiceUnavailable)
and leaves the file as it was, so the build service changes its memory only after a write
reached the disk (see docs/security.md, "Write before you acknowledge").
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from runbook_lib.local.server.store import StoreWriteError, write_atomic

log = logging.getLogger("runbook.local.builds")

BUILDS_DIR = "codebuild-builds"  # <state>/codebuild-builds/<region>/<build id>.json


def record_path(builds_dir: Path, region: str, build_id: str) -> Path:
    return Path(builds_dir) / region / f"{build_id}.json"


def save_record(builds_dir: Path, region: str, build: dict[str, Any]) -> None:
    """Write one build's record atomically; StoreWriteError when the write fails."""
    path = record_path(builds_dir, region, build["id"])
    try:
        write_atomic(path, json.dumps(build, default=str).encode())
    except OSError as err:
        raise StoreWriteError(path, err) from err


def load_records(builds_dir: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """Every saved record, region -> id -> record; an unreadable file is skipped, said."""
    builds: dict[str, dict[str, dict[str, Any]]] = {}
    for path in sorted(Path(builds_dir).glob("*/*.json")):
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError) as err:
            log.warning("build record %s unreadable, skipped: %s", path, err)
            continue
        builds.setdefault(path.parent.name, {})[record["id"]] = record
    return builds


def mark_ended(build: dict, status: str, code: str, message: str) -> None:
    """End a build that cannot finish by itself (a runner fault, a restart)."""
    now = time.time()
    last = build["phases"][-1] if build.get("phases") else None
    if last is not None and "endTime" not in last:
        last.update(phaseStatus=status, endTime=now,
                    durationInSeconds=int(now - last["startTime"]),
                    contexts=[{"statusCode": code, "message": message}])
    build["phases"].append({"phaseType": "COMPLETED", "startTime": now})
    build.update(buildStatus=status, currentPhase="COMPLETED", buildComplete=True,
                 endTime=now)
