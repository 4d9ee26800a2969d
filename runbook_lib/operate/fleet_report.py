"""The fleet report's entry point: the notebook and ``runbook fleet`` call :func:`report_for`,
which checks the engine and the window before any AWS call and runs DuckDB (:mod:`.fleet`) or
Athena (:mod:`.fleet_athena`)."""

from __future__ import annotations

from runbook_lib.core.params import Params, ResourceNames
from runbook_lib.core.session import AwsSession
from runbook_lib.operate import fleet, fleet_athena
from runbook_lib.setup.event_archive_spec import ArchiveNames

ENGINES = ("duckdb", "athena")


def report_for(session: AwsSession, params: Params, names: ResourceNames, days: int,
               engine: str = "duckdb", production_stage: str = "Deploy-production"
               ) -> fleet.FleetReport:
    """The report notebook's one call: the window, then the engine asked for."""
    if engine not in ENGINES:
        raise fleet.FleetError(f"engine={engine!r}: must be one of {', '.join(ENGINES)}. "
                               "Fix: --engine duckdb (small accounts, local) or --engine athena")
    window = fleet.window_for(days, production_stage=production_stage)
    archive = ArchiveNames.derive(names, params)
    if engine == "athena":
        return fleet_athena.build_fleet_report(session, archive, window, print)
    return fleet.build_fleet_report(session, archive.bucket, window, print)


def describe(report: fleet.FleetReport) -> str:
    """Where the figures came from, in one line."""
    span = (f"{report.window.since:%Y-%m-%d %H:%M:%S} to "
            f"{report.window.until:%Y-%m-%d %H:%M:%S} UTC")
    pipelines = len(report.tables.get("pipelines", fleet.Table([], [])).rows)
    if report.engine == "athena":
        return (f"{pipelines} pipelines, {span}; Athena scanned "
                f"{report.bytes_scanned / 1e6:.1f} MB")
    return (f"{pipelines} pipelines, {span}; DuckDB read {report.events} events from "
            f"{report.objects} archive objects")
