"""Fleet health: every pipeline of an account, from the event archive, with DuckDB embedded.

The archive (:mod:`runbook_lib.setup.event_archive`) holds gzipped JSON lines under
``events/year=/month=/day=/``. :func:`read_archive` lists the window's day folders with a
paginator and downloads each object once into a temporary folder, keeping the bytes as they are
(gzip); DuckDB's built-in ``read_json`` then reads them all in one pass, in C++, so 2 million
events take seconds, not the minutes a Python JSON loop would. DuckDB is opened with extension
installing and autoloading off: the machine reaches no extension repository, and ``json`` is
built into the wheel (:func:`downloaded_extensions` lets a test prove nothing was fetched).
The metrics are :mod:`.fleet_queries`; Athena runs the same text (:mod:`.fleet_athena`).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from runbook_lib.core.errors import RunbookError
from runbook_lib.core.session import AwsSession
from runbook_lib.operate import fleet_queries as q
from runbook_lib.setup.event_archive_spec import EVENTS_PREFIX

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection

SPARK = "▁▂▃▄▅▆▇█"
BACKFILL_PREFIX = "backfill-"  # object names the backfill writes (fleet_backfill)
_EMPTY_SOURCE = ("SELECT * FROM (VALUES (NULL::VARCHAR, NULL::VARCHAR, NULL::TIMESTAMP, "
                 "NULL::VARCHAR, NULL::VARCHAR, NULL::TIMESTAMP, NULL::VARCHAR, NULL::VARCHAR, "
                 "NULL::VARCHAR)) t(event_id, kind, event_time, pipeline, execution_id, "
                 "start_time, stage, action, state) WHERE false")


class FleetError(RunbookError):
    """The fleet report cannot be produced; the message says why and what to do."""


@dataclass
class Table:
    """One query's answer: column names and rows of plain Python values."""

    columns: list[str]
    rows: list[tuple[Any, ...]]

    def dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


@dataclass
class FleetReport:
    """Every query's answer for one window, and where they came from."""

    window: q.Window
    engine: str  # duckdb | athena
    tables: dict[str, Table] = field(default_factory=dict)
    objects: int = 0  # archive objects read (duckdb)
    events: int = 0  # pipeline events in the relation (duckdb)
    bytes_scanned: int = 0  # athena


def window_for(days: int, now: datetime | None = None,
               production_stage: str = "Deploy-production") -> q.Window:
    """The last ``days`` days up to ``now``; a bad ``days`` is refused before any call."""
    if not isinstance(days, int) or days < 1:
        raise FleetError(f"days={days!r}: the window must be a whole number of days, 1 or "
                         "more. Fix: --days 30")
    until = (now or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
    return q.Window(until - timedelta(days=days), until, production_stage)


def day_prefixes(window: q.Window) -> list[str]:
    """The archive folders of the window's days (Firehose files by arrival, which is never
    before the event: the first day's folder is enough to start from)."""
    first, last = window.since.date(), window.until.date()
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return [f"{EVENTS_PREFIX}year={d:%Y}/month={d:%m}/day={d:%d}/" for d in days]


def list_objects(session: AwsSession, bucket: str, window: q.Window,
                 backfilled: bool = True) -> Iterator[str]:
    """Keys of the window's archive objects, page by page (ListObjectsV2's paginator);
    without the backfill's own objects when ``backfilled`` is False."""
    paginator = session.client("s3").get_paginator("list_objects_v2")
    for prefix in day_prefixes(window):
        try:
            for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
                for obj in page.get("Contents", []):
                    if backfilled or not obj["Key"].rsplit("/", 1)[-1].startswith(
                            BACKFILL_PREFIX):
                        yield obj["Key"]
        except ClientError as err:
            raise FleetError(f"list s3://{bucket}/{prefix}: {err}. Fix: run the event archive "
                             "step (notebook 08b) or check --bucket") from err


def download(session: AwsSession, bucket: str, keys: Iterator[str], folder: Path,
             on_progress: Callable[[str], None] | None = None) -> int:
    """Each object once into ``folder`` as N.json.gz (names made here, never from the key)."""
    s3 = session.client("s3")
    count = 0
    for key in keys:
        try:
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as err:
            raise FleetError(f"get s3://{bucket}/{key}: {err}") from err
        (folder / f"{count}.json.gz").write_bytes(body)
        count += 1
        if on_progress and count % 500 == 0:
            on_progress(f"read {count} archive objects")
    return count


def connect(extension_dir: Path) -> DuckDBPyConnection:
    """An in-memory DuckDB that never installs or autoloads an extension."""
    import duckdb

    con = duckdb.connect(config={
        "autoinstall_known_extensions": False, "autoload_known_extensions": False,
        "allow_community_extensions": False, "extension_directory": str(extension_dir),
    })
    con.execute("SET enable_progress_bar = false")  # it would print into the report's output
    return con


def downloaded_extensions(con: DuckDBPyConnection) -> list[str]:
    """Loaded or installed extensions that are not built into DuckDB (none, expected)."""
    rows = con.execute("SELECT extension_name, install_path FROM duckdb_extensions() "
                       "WHERE (installed OR loaded) AND install_path <> '(BUILT-IN)' "
                       "AND install_path <> ''").fetchall()
    return [name for name, _ in rows]


def load_events(con: DuckDBPyConnection, folder: Path) -> int:
    """``pipeline_events`` from every object in ``folder``; the number of events."""
    files = sorted(folder.glob("*.json.gz"))
    source = (q.DUCKDB_SOURCE.format(files=f"'{folder.as_posix()}/*.json.gz'") if files
              else _EMPTY_SOURCE)
    con.execute(f"CREATE OR REPLACE TABLE pipeline_events AS {source}")
    (count,) = con.execute("SELECT count(*) FROM pipeline_events").fetchone() or (0,)
    return int(count)


def run_queries(con: DuckDBPyConnection, window: q.Window) -> dict[str, Table]:
    """Every fleet query over the connection's ``pipeline_events``."""
    tables = {}
    for name in q.QUERIES:
        cursor = con.execute(q.render(name, window))
        tables[name] = Table([d[0] for d in cursor.description], cursor.fetchall())
    return tables


def build_fleet_report(session: AwsSession, bucket: str, window: q.Window,
                       on_progress: Callable[[str], None] | None = None) -> FleetReport:
    """Download the window's archive objects and answer every query with DuckDB."""
    with tempfile.TemporaryDirectory(prefix="fleet-") as tmp:
        folder, ext_dir = Path(tmp) / "objects", Path(tmp) / "extensions"
        folder.mkdir()
        ext_dir.mkdir()
        objects = download(session, bucket, list_objects(session, bucket, window), folder,
                           on_progress)
        con = connect(ext_dir)
        try:
            report = FleetReport(window, "duckdb", objects=objects,
                                 events=load_events(con, folder))
            report.tables = run_queries(con, window)
            fetched = downloaded_extensions(con)
        finally:
            con.close()
        if fetched or any(ext_dir.iterdir()):
            raise FleetError(f"DuckDB loaded extensions that are not built in: {fetched}")
    return report


def archived_runs(session: AwsSession, bucket: str, since: datetime) -> set[str]:
    """Execution ids with an end state in the archive's own events (the backfill's objects
    left out) since ``since``: what the backfill must not write again."""
    window = q.Window(since.astimezone(UTC).replace(tzinfo=None),
                      datetime.now(UTC).replace(tzinfo=None))
    with tempfile.TemporaryDirectory(prefix="fleet-") as tmp:
        folder, ext_dir = Path(tmp) / "objects", Path(tmp) / "extensions"
        folder.mkdir()
        ext_dir.mkdir()
        download(session, bucket, list_objects(session, bucket, window, backfilled=False),
                 folder)
        con = connect(ext_dir)
        try:
            load_events(con, folder)
            terminal = ", ".join(f"'{s}'" for s in q.TERMINAL)
            rows = con.execute("SELECT DISTINCT execution_id FROM pipeline_events WHERE "
                               f"kind = 'pipeline' AND state IN ({terminal})").fetchall()
        finally:
            con.close()
    return {r[0] for r in rows}


# -- presentation helpers (pure) ------------------------------------------------------------------


def sparkline(counts: list[int]) -> str:
    """One block character a day, scaled to the busiest day."""
    top = max(counts, default=0)
    if top <= 0:
        return " " * len(counts)
    return "".join(SPARK[round(c / top * (len(SPARK) - 1))] for c in counts)


def daily_counts(report: FleetReport) -> dict[str, list[int]]:
    """Runs a day per pipeline over the window, zero-filled, oldest first."""
    first = report.window.since.date()
    span = (report.window.until.date() - first).days + 1
    out: dict[str, list[int]] = {}
    for row in report.tables["daily"].dicts():
        day = row["day"] if isinstance(row["day"], date) else date.fromisoformat(str(row["day"]))
        series = out.setdefault(row["pipeline"], [0] * span)
        index = (day - first).days
        if 0 <= index < span:
            series[index] += int(row["runs"])
    return out

