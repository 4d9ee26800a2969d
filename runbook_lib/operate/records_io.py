"""Durations records out to files: flat CSV and nested JSON, for other tools.

Column names are a contract (:data:`CSV_COLUMNS`, ``columns_version`` in the JSON): other tools
read these files, so a column is added at the end and never renamed.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runbook_lib.core.text import iso_time

if TYPE_CHECKING:
    from runbook_lib.operate.durations import ActionRecord, ExecutionRecord, StageRecord

CSV_COLUMNS = (
    "pipeline", "execution_id", "execution_status", "execution_type", "trigger", "commit_id",
    "commit_time", "execution_start", "execution_end", "execution_duration_s", "stage",
    "stage_status", "stage_start", "stage_end", "stage_duration_s", "action", "category",
    "provider", "action_status", "action_start", "action_end", "action_duration_s",
    "external_id",
)


def record_rows(records: Sequence[ExecutionRecord]) -> list[dict[str, object]]:
    """One flat row per action execution, keyed by :data:`CSV_COLUMNS` (times in ISO 8601,
    durations in seconds); an execution that reached no stage gets one row without them."""
    rows: list[dict[str, object]] = []
    for r in records:
        base: dict[str, object] = {
            "pipeline": r.pipeline, "execution_id": r.execution_id,
            "execution_status": r.status, "execution_type": r.execution_type,
            "trigger": r.trigger, "commit_id": r.commit_id,
            "commit_time": _iso(r.commit_time), "execution_start": _iso(r.start),
            "execution_end": _iso(r.end), "execution_duration_s": _round(r.duration_s)}
        pairs: list[tuple[StageRecord | None, ActionRecord | None]] = [
            (s, a) for s in r.stages for a in s.actions] or [(None, None)]
        for stage, action in pairs:
            row = dict.fromkeys(CSV_COLUMNS, "") | base
            if stage is not None and action is not None:
                row |= {"stage": stage.stage, "stage_status": stage.status,
                        "stage_start": _iso(stage.start), "stage_end": _iso(stage.end),
                        "stage_duration_s": _round(stage.duration_s), "action": action.action,
                        "category": action.category, "provider": action.provider,
                        "action_status": action.status, "action_start": _iso(action.start),
                        "action_end": _iso(action.end),
                        "action_duration_s": _round(action.duration_s),
                        "external_id": action.external_id}
            rows.append(row)
    return rows


def records_json(records: Sequence[ExecutionRecord]) -> list[dict[str, Any]]:
    """Executions with nested stages and actions, times in ISO 8601, durations in seconds."""
    def convert(value: Any) -> Any:
        if isinstance(value, datetime):
            return _iso(value)
        if isinstance(value, dict):
            return {k: convert(v) for k, v in value.items()}
        if isinstance(value, list):
            return [convert(v) for v in value]
        return value

    out = []
    for r in records:
        item = convert(asdict(r))
        item["duration_s"] = _round(r.duration_s)
        for stage, stage_item in zip(r.stages, item["stages"], strict=True):
            stage_item["duration_s"] = _round(stage.duration_s)
            for action, action_item in zip(stage.actions, stage_item["actions"], strict=True):
                action_item["duration_s"] = _round(action.duration_s)
        out.append(item)
    return out


def save_records(records: Sequence[ExecutionRecord], folder: str | os.PathLike[str]
                 ) -> tuple[Path, Path]:
    """Write ``<pipeline>-durations.csv`` (flat, :data:`CSV_COLUMNS`) and
    ``<pipeline>-durations.json`` (nested) into ``folder``; returns both paths as given
    (a relative folder gives relative paths)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stem = (records[0].pipeline if records else "pipeline") + "-durations"
    csv_path, json_path = folder / f"{stem}.csv", folder / f"{stem}.json"
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(record_rows(records))
    json_path.write_text(json.dumps({"columns_version": 1, "executions": records_json(records)},
                                    indent=2) + "\n", encoding="utf-8")
    return csv_path, json_path


def export_records(records: Sequence[ExecutionRecord], folder: str) -> str:
    """Write :func:`save_records`'s two files into ``folder`` when one is named; what to print:
    the files written, or why there are none."""
    if not folder:
        return "export_folder is empty: no files written"
    return "\n".join(shown_path(p) for p in save_records(records, folder))


def shown_path(path: str | os.PathLike[str]) -> str:
    """A path for outputs: relative to the working directory when under it, else the file's
    name only, so stored outputs never hold a machine path."""
    path = Path(path)
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix() if not path.is_absolute() else path.name


def _iso(value: datetime | None) -> str:
    return iso_time(value, "auto")  # exports keep every digit


def _round(value: float | None) -> float | str:
    return round(value, 3) if value is not None else ""
