"""The fleet report with ``--engine athena``: the same queries, run where the archive is.

For accounts whose archive is too big to download, each query of :mod:`.fleet_queries` runs in
the archive's Athena workgroup (which enforces its result location and bytes-scanned cutoff):
StartQueryExecution, then GetQueryExecution until the query ends, saying state, bytes scanned
and time as it goes, then GetQueryResults page by page (its paginator). Values come back as
text and are typed here from the result's column metadata, so both engines give the same
Python values to the report.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from botocore.exceptions import ClientError

from runbook_lib.core.session import AwsSession
from runbook_lib.operate import fleet_queries as q
from runbook_lib.operate.fleet import FleetError, FleetReport, Table, day_prefixes
from runbook_lib.setup.event_archive_spec import ArchiveNames

RUNNING = ("QUEUED", "RUNNING")
_INTEGER = ("tinyint", "smallint", "integer", "bigint")
_FLOAT = ("double", "float", "real", "decimal")


def partitions(window: q.Window) -> list[tuple[str, str, str]]:
    """(year, month, day) of each day folder of the window."""
    out = []
    for prefix in day_prefixes(window):
        parts = dict(p.split("=", 1) for p in prefix.strip("/").split("/")[1:])
        out.append((parts["year"], parts["month"], parts["day"]))
    return out


def build_fleet_report(session: AwsSession, archive: ArchiveNames, window: q.Window,
                       on_progress: Callable[[str], None] | None = None,
                       timeout_s: float = 600.0) -> FleetReport:
    """Every fleet query, run in Athena one after the other."""
    athena = session.client("athena")
    source = q.athena_source(archive.database, archive.table, partitions(window))
    report = FleetReport(window, "athena")
    for name in q.QUERIES:
        sql = q.with_source(q.render(name, window), source)
        query_id = _start(athena, archive, name, sql)
        report.bytes_scanned += wait_for_query(athena, name, query_id, timeout_s, on_progress)
        report.tables[name] = read_results(athena, query_id)
    return report


def _start(athena: Any, archive: ArchiveNames, name: str, sql: str) -> str:
    try:
        return str(athena.start_query_execution(
            QueryString=sql, WorkGroup=archive.workgroup,
            QueryExecutionContext={"Database": archive.database})["QueryExecutionId"])
    except ClientError as err:
        raise FleetError(f"start Athena query {name} in workgroup {archive.workgroup}: {err}. "
                         "Fix: run the event archive step (notebook 08b) first") from err


def wait_for_query(athena: Any, name: str, query_id: str, timeout_s: float,
                   on_progress: Callable[[str], None] | None = None) -> int:
    """Poll until the query ends; its bytes scanned. Says each state change and, while it
    runs, bytes scanned every few seconds."""
    started, delay, last = time.monotonic(), 0.2, ""
    while True:
        execution = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
        status = execution.get("Status", {})
        state = status.get("State", "QUEUED")
        scanned = int(execution.get("Statistics", {}).get("DataScannedInBytes", 0) or 0)
        elapsed = time.monotonic() - started
        line = f"{name}: {state}, {scanned / 1e6:.1f} MB scanned, {elapsed:.0f} s"
        if on_progress and (state != last or state in RUNNING):
            on_progress(line)
        last = state
        if state == "SUCCEEDED":
            return scanned
        if state not in RUNNING:
            reason = status.get("StateChangeReason", "no reason given")
            raise FleetError(f"Athena query {name} ({query_id}) {state}: {reason}. Fix: a "
                             "bytes-scanned cutoff stops a query at the workgroup's limit; "
                             "shorten --days or raise the limit in the event archive step")
        if elapsed > timeout_s:
            athena.stop_query_execution(QueryExecutionId=query_id)
            raise FleetError(f"Athena query {name} ({query_id}) still {state} after "
                             f"{timeout_s:.0f} s: stopped. Fix: shorten --days")
        time.sleep(delay)
        delay = min(delay * 2, 5.0)


def read_results(athena: Any, query_id: str) -> Table:
    """All result pages; the first row of the first page is the header, as Athena sends it."""
    columns: list[str] = []
    types: list[str] = []
    rows: list[tuple[Any, ...]] = []
    first = True
    for page in athena.get_paginator("get_query_results").paginate(QueryExecutionId=query_id):
        result = page.get("ResultSet", {})
        if first:
            info = result.get("ResultSetMetadata", {}).get("ColumnInfo", [])
            columns = [c["Name"] for c in info]
            types = [c.get("Type", "varchar").lower() for c in info]
        data = result.get("Rows", [])
        if first and data:
            data = data[1:]  # the header row
        first = False
        for row in data:
            cells = [c.get("VarCharValue") for c in row.get("Data", [])]
            rows.append(tuple(typed(v, t) for v, t in zip(cells, types, strict=False)))
    return Table(columns, rows)


def typed(value: str | None, type_name: str) -> Any:
    """Athena's text value as the Python value DuckDB gives for the same column."""
    if value is None:
        return None
    if type_name in _INTEGER:
        return int(value)
    if type_name.startswith(_FLOAT):
        return float(value)
    if type_name.startswith("timestamp"):
        return datetime.fromisoformat(value.replace(" UTC", ""))
    if type_name == "date":
        return date.fromisoformat(value)
    return value
