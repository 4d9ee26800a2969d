"""The fleet metrics, written once in SQL that DuckDB and Athena (Trino) both run.

Every query reads one relation, ``pipeline_events``: one row an archived event with the fields
the metrics need (``kind``, ``event_time``, ``pipeline``, ``execution_id``, ``start_time``,
``stage``, ``action``, ``state``). Each engine supplies that relation its own way over the raw
events, and only that part differs: DuckDB reads the downloaded objects with its built-in
``read_json`` (:data:`DUCKDB_SOURCE`); Athena reads the Glue table, whose ``detail`` is JSON
text (:func:`athena_source`, a CTE put in front of each query). The metric text itself uses
only what both dialects share: ``row_number``/``lag`` windows, ``date_diff('millisecond', ...)``,
``CASE``, ``floor``/``ceil`` and ``TIMESTAMP '...'`` literals. Percentiles are computed with
linear interpolation between closest ranks, as :func:`runbook_lib.operate.durations.percentile`
does, so numbers agree with the per-pipeline report exactly (no engine's approximate
percentile).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

TERMINAL = ("SUCCEEDED", "FAILED", "STOPPED", "SUPERSEDED", "CANCELED")
KINDS = {"CodePipeline Pipeline Execution State Change": "pipeline",
         "CodePipeline Stage Execution State Change": "stage",
         "CodePipeline Action Execution State Change": "action",
         "CodeBuild Build State Change": "build"}


@dataclass(frozen=True)
class Window:
    """The report's window, ``[since, until]`` in UTC, and the production stage's name."""

    since: datetime
    until: datetime
    production_stage: str = "Deploy-production"

    @property
    def days(self) -> float:
        return (self.until - self.since).total_seconds() / 86400

    def literals(self) -> dict[str, str]:
        """SQL literals of the window; made from datetimes and a checked name, never raw text."""
        if "'" in self.production_stage:
            raise ValueError(f"production_stage {self.production_stage!r}: a stage name has no "
                             "quote (CodePipeline allows letters, digits and . @ - _)")
        week = self.until - timedelta(days=7)
        return {"since": _ts(self.since), "until": _ts(self.until), "week": _ts(week),
                "prev_week": _ts(week - timedelta(days=7)), "days": repr(float(self.days)),
                "production": f"'{self.production_stage}'"}


def _ts(value: datetime) -> str:
    return f"TIMESTAMP '{value.strftime('%Y-%m-%d %H:%M:%S.%f')[:-3]}'"


def _quoted(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def _kind_case(column: str) -> str:
    arms = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in KINDS.items())
    return f"CASE {column} {arms} ELSE 'other' END"


# -- each engine's pipeline_events --------------------------------------------------------------

_ISO = "CAST(replace(replace({x}, 'T', ' '), 'Z', '') AS TIMESTAMP)"

# DuckDB: ``{files}`` is the list of downloaded objects (gzipped JSON lines), set by fleet.py.
DUCKDB_SOURCE = f"""
SELECT id AS event_id, {_kind_case('"detail-type"')} AS kind,
       {_ISO.format(x='"time"')} AS event_time,
       detail.pipeline AS pipeline, detail."execution-id" AS execution_id,
       {_ISO.format(x='detail."start-time"')} AS start_time,
       detail.stage AS stage, detail.action AS action, detail.state AS state
FROM read_json({{files}}, format = 'newline_delimited', compression = 'gzip',
     columns = {{{{'id': 'VARCHAR', 'detail-type': 'VARCHAR', 'time': 'VARCHAR',
                'detail': 'STRUCT(pipeline VARCHAR, "execution-id" VARCHAR,
                          "start-time" VARCHAR, stage VARCHAR, action VARCHAR,
                          state VARCHAR)'}}}})
WHERE "detail-type" LIKE 'CodePipeline %'
"""


def athena_source(database: str, table: str, partitions: list[tuple[str, str, str]]) -> str:
    """The raw table flattened; ``partitions`` (year, month, day) limits the scan to the
    window's days: one IN list a partition column, which partition projection prunes on (it
    may read a few days more than the window, never fewer)."""
    years, months, days = (", ".join(sorted({f"'{p[i]}'" for p in partitions})) or "''"
                           for i in range(3))
    field = "json_extract_scalar(detail, '$[\"{0}\"]')"
    return f"""pipeline_events AS (
SELECT id AS event_id, {_kind_case('detail_type')} AS kind,
       {_ISO.format(x='"time"')} AS event_time,
       {field.format('pipeline')} AS pipeline, {field.format('execution-id')} AS execution_id,
       {_ISO.format(x=field.format('start-time'))} AS start_time,
       {field.format('stage')} AS stage, {field.format('action')} AS action,
       {field.format('state')} AS state
FROM "{database}"."{table}"
WHERE detail_type LIKE 'CodePipeline %'
  AND year IN ({years}) AND month IN ({months}) AND day IN ({days})
)"""


def with_source(query: str, source_cte: str) -> str:
    """``query`` with ``pipeline_events`` defined in front (its own WITH joins the list)."""
    body = query.strip()
    if body.upper().startswith("WITH "):
        return f"WITH {source_cte},\n{body[5:]}"
    return f"WITH {source_cte}\n{body}"


# -- the metrics --------------------------------------------------------------------------------

_STATUS = ("CASE state WHEN 'SUCCEEDED' THEN 'Succeeded' WHEN 'FAILED' THEN 'Failed' "
           "WHEN 'STOPPED' THEN 'Stopped' WHEN 'STOPPING' THEN 'Stopping' "
           "WHEN 'SUPERSEDED' THEN 'Superseded' WHEN 'CANCELED' THEN 'Cancelled' "
           "ELSE 'InProgress' END")

# One row an execution started in the window: its final state is its last terminal event (a
# terminal event wins over a later non-terminal one), its duration from start to that event.
_EXECUTIONS = f"""executions AS (
  SELECT pipeline, execution_id, start_time, event_time AS end_time, {_STATUS} AS status,
         CASE WHEN state IN ({_quoted(TERMINAL)})
              THEN date_diff('millisecond', start_time, event_time) END AS duration_ms
  FROM (
    SELECT pipeline, execution_id, start_time, event_time, state,
           row_number() OVER (PARTITION BY pipeline, execution_id
                              ORDER BY CASE WHEN state IN ({_quoted(TERMINAL)}) THEN 0 ELSE 1 END,
                                       event_time DESC) AS rn
    FROM pipeline_events
    WHERE kind = 'pipeline' AND start_time >= {{since}} AND start_time <= {{until}}
  ) latest
  WHERE rn = 1
)"""


def _ranked(name: str, source: str, keys: str, value: str, where: str) -> str:
    """A CTE of ``value`` ranked within ``keys`` (0-based ``i``, group size ``n``)."""
    return f"""{name} AS (
  SELECT {keys}, CAST({value} AS DOUBLE) AS v,
         row_number() OVER (PARTITION BY {keys} ORDER BY {value}) - 1 AS i,
         count(*) OVER (PARTITION BY {keys}) AS n
  FROM {source} WHERE {where}
)"""


def _percentile(p: float, alias: str) -> str:
    """Linear interpolation between closest ranks, over a ``_ranked`` CTE grouped by its keys."""
    rank = f"CAST(n - 1 AS DOUBLE) * {p}"
    low = f"max(CASE WHEN i = floor({rank}) THEN v END)"
    high = f"max(CASE WHEN i = ceil({rank}) THEN v END)"
    return f"{low} + ({high} - {low}) * max({rank} - floor({rank})) AS {alias}"


PIPELINE_SUMMARY = f"""
WITH {_EXECUTIONS},
{_ranked('ok_runs', 'executions', 'pipeline', 'duration_ms', "status = 'Succeeded'")},
medians AS (SELECT pipeline, {_percentile(0.5, 'p50_ms')}, {_percentile(0.9, 'p90_ms')}
            FROM ok_runs GROUP BY pipeline)
SELECT e.pipeline, count(*) AS runs,
       sum(CASE WHEN status = 'Succeeded' THEN 1 ELSE 0 END) AS succeeded,
       sum(CASE WHEN status = 'Failed' THEN 1 ELSE 0 END) AS failed,
       sum(CASE WHEN status IN ('InProgress', 'Stopping') THEN 1 ELSE 0 END) AS in_progress,
       CAST(sum(CASE WHEN status = 'Failed' THEN 1 ELSE 0 END) AS DOUBLE)
         / nullif(sum(CASE WHEN status IN ('InProgress', 'Stopping') THEN 0 ELSE 1 END), 0)
         AS failure_rate,
       max(m.p50_ms) AS p50_ms, max(m.p90_ms) AS p90_ms, max(e.start_time) AS last_start
FROM executions e LEFT JOIN medians m ON m.pipeline = e.pipeline
GROUP BY e.pipeline
ORDER BY e.pipeline
"""

_STAGE_RUNS = f"""stage_runs AS (
  SELECT s.pipeline, s.stage, s.execution_id,
         max(CASE WHEN s.state = 'FAILED' THEN 1 ELSE 0 END) AS failed,
         max(CASE WHEN s.state = 'SUCCEEDED' THEN 1 ELSE 0 END) AS succeeded,
         date_diff('millisecond', min(CASE WHEN s.state = 'STARTED' THEN s.event_time END),
                   max(CASE WHEN s.state IN ({_quoted(TERMINAL)}) THEN s.event_time END))
           AS duration_ms
  FROM pipeline_events s JOIN executions e
    ON e.pipeline = s.pipeline AND e.execution_id = s.execution_id
  WHERE s.kind = 'stage'
  GROUP BY s.pipeline, s.stage, s.execution_id
)"""

_STAGE_STATS = f"""WITH {_EXECUTIONS},
{_STAGE_RUNS},
{_ranked('ok_stages', 'stage_runs', 'pipeline, stage', 'duration_ms',
         'succeeded = 1 AND duration_ms IS NOT NULL')},
stage_stats AS (
  SELECT r.pipeline, r.stage, count(*) AS runs, sum(r.failed) AS failures,
         max(q.p50_ms) AS p50_ms, max(q.p90_ms) AS p90_ms
  FROM stage_runs r LEFT JOIN (
    SELECT pipeline, stage, {_percentile(0.5, 'p50_ms')}, {_percentile(0.9, 'p90_ms')}
    FROM ok_stages GROUP BY pipeline, stage) q
    ON q.pipeline = r.pipeline AND q.stage = r.stage
  GROUP BY r.pipeline, r.stage
)"""

STAGE_DURATIONS = _STAGE_STATS + """
SELECT pipeline, stage, runs, failures, p50_ms, p90_ms FROM stage_stats
ORDER BY pipeline, stage
"""

SLOWEST_STAGES = _STAGE_STATS + """
SELECT pipeline, stage, runs, p50_ms, p90_ms FROM stage_stats
WHERE p90_ms IS NOT NULL
ORDER BY p90_ms DESC, pipeline, stage
LIMIT 10
"""

FAILING_ACTIONS = f"""
WITH {_EXECUTIONS}
SELECT a.pipeline, a.stage, a.action, count(*) AS failures
FROM pipeline_events a JOIN executions e
  ON e.pipeline = a.pipeline AND e.execution_id = a.execution_id
WHERE a.kind = 'action' AND a.state = 'FAILED'
GROUP BY a.pipeline, a.stage, a.action
ORDER BY failures DESC, a.pipeline, a.stage, a.action
LIMIT 10
"""

# DORA from events. A deployment is an execution whose production stage succeeded; lead time is
# from the execution's start to that success (the commit's time is not in the events: this is
# the pipeline's part of lead time); a restore runs from the first production failure of a
# streak to the next production success.
_PRODUCTION = f"""prod AS (
  SELECT s.pipeline, s.execution_id, min(e.start_time) AS start_time,
         max(s.event_time) AS end_time,
         max(CASE WHEN s.state = 'FAILED' THEN 1 ELSE 0 END) AS failed,
         max(CASE WHEN s.state = 'SUCCEEDED' THEN 1 ELSE 0 END) AS succeeded
  FROM pipeline_events s JOIN executions e
    ON e.pipeline = s.pipeline AND e.execution_id = s.execution_id
  WHERE s.kind = 'stage' AND s.stage = {{production}} AND s.state IN ({_quoted(TERMINAL)})
  GROUP BY s.pipeline, s.execution_id
)"""

DORA = f"""
WITH {_EXECUTIONS},
{_PRODUCTION},
streaks AS (
  SELECT pipeline, end_time AS failed_at FROM (
    SELECT pipeline, end_time, failed,
           lag(failed) OVER (PARTITION BY pipeline ORDER BY end_time) AS previous
    FROM prod) x
  WHERE failed = 1 AND (previous IS NULL OR previous = 0)
),
restores AS (
  SELECT f.pipeline, f.failed_at, min(s.end_time) AS restored_at
  FROM streaks f JOIN prod s
    ON s.pipeline = f.pipeline AND s.succeeded = 1 AND s.end_time > f.failed_at
  GROUP BY f.pipeline, f.failed_at
),
{_ranked('leads', 'prod', 'pipeline', "date_diff('millisecond', start_time, end_time)",
         'succeeded = 1')},
{_ranked('restore_times', 'restores', 'pipeline',
         "date_diff('millisecond', failed_at, restored_at)", '1 = 1')},
lead_p AS (SELECT pipeline, {_percentile(0.5, 'lead_p50_ms')} FROM leads GROUP BY pipeline),
restore_p AS (SELECT pipeline, {_percentile(0.5, 'restore_p50_ms')}
              FROM restore_times GROUP BY pipeline),
counts AS (
  SELECT pipeline, sum(succeeded) AS deployments, sum(failed) AS production_failures
  FROM prod GROUP BY pipeline
),
pipelines AS (SELECT DISTINCT pipeline FROM executions)
SELECT p.pipeline, coalesce(c.deployments, 0) AS deployments,
       CAST(coalesce(c.deployments, 0) AS DOUBLE) / {{days}} AS deploys_per_day,
       CAST(c.production_failures AS DOUBLE)
         / nullif(c.deployments + c.production_failures, 0) AS change_failure_rate,
       l.lead_p50_ms, r.restore_p50_ms
FROM pipelines p
LEFT JOIN counts c ON c.pipeline = p.pipeline
LEFT JOIN lead_p l ON l.pipeline = p.pipeline
LEFT JOIN restore_p r ON r.pipeline = p.pipeline
ORDER BY p.pipeline
"""

HEALTH_CHANGE = f"""
WITH {_EXECUTIONS},
weeks AS (
  SELECT pipeline,
    sum(CASE WHEN start_time >= {{week}} AND status = 'Failed' THEN 1 ELSE 0 END) AS failed_now,
    sum(CASE WHEN start_time >= {{week}} AND duration_ms IS NOT NULL THEN 1 ELSE 0 END)
      AS finished_now,
    sum(CASE WHEN start_time >= {{prev_week}} AND start_time < {{week}} AND status = 'Failed'
             THEN 1 ELSE 0 END) AS failed_before,
    sum(CASE WHEN start_time >= {{prev_week}} AND start_time < {{week}}
                  AND duration_ms IS NOT NULL THEN 1 ELSE 0 END) AS finished_before
  FROM executions GROUP BY pipeline
)
SELECT pipeline, finished_now, finished_before,
       CAST(failed_now AS DOUBLE) / finished_now AS failure_rate_now,
       CAST(failed_before AS DOUBLE) / finished_before AS failure_rate_before,
       CAST(failed_now AS DOUBLE) / finished_now
         - CAST(failed_before AS DOUBLE) / finished_before AS change
FROM weeks
WHERE finished_now > 0 AND finished_before > 0
ORDER BY abs(CAST(failed_now AS DOUBLE) / finished_now
             - CAST(failed_before AS DOUBLE) / finished_before) DESC, pipeline
LIMIT 10
"""

DAILY_RUNS = f"""
WITH {_EXECUTIONS}
SELECT pipeline, CAST(start_time AS DATE) AS day, count(*) AS runs,
       sum(CASE WHEN status = 'Failed' THEN 1 ELSE 0 END) AS failed
FROM executions
GROUP BY pipeline, CAST(start_time AS DATE)
ORDER BY pipeline, day
"""

QUERIES: dict[str, str] = {
    "pipelines": PIPELINE_SUMMARY, "stages": STAGE_DURATIONS, "slowest_stages": SLOWEST_STAGES,
    "failing_actions": FAILING_ACTIONS, "dora": DORA, "health_change": HEALTH_CHANGE,
    "daily": DAILY_RUNS,
}


def render(name: str, window: Window) -> str:
    """The query ``name`` with the window's literals in place (still without its source)."""
    return QUERIES[name].format(**window.literals())
