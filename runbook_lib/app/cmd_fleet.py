"""``runbook fleet``: every pipeline of the account, from the event archive, as one HTML page.

    runbook fleet --days 30 --out fleet.html [--engine duckdb|athena] [--app-name NAME]
        [--production-stage STAGE] [--health-reports] [--target local|aws] [--region R]

Runs notebooks/reports/fleet_health.ipynb with papermill and renders it with the code hidden
(the executed notebook is kept beside the HTML). ``--health-reports`` also renders each
pipeline's own health report into ``health/NAME.html`` beside it, which the fleet page links.
Options are checked before any AWS call. Exit status 0 written; 1 an option breaks a rule (the
message names it and the fix) or the report failed (the message says why); 2 usage error.
Every ``runbook`` command builds this parser, so what only a fleet report needs (papermill,
boto3, DuckDB) is imported when one runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from runbook_lib.app import suite
from runbook_lib.core.errors import NotebookRunError, ParameterError

if TYPE_CHECKING:
    from runbook_lib.core.params import Params

FLEET_NOTEBOOK = suite.NOTEBOOK_DIR / "reports" / "fleet_health.ipynb"


def register(sub) -> None:
    """Add ``runbook fleet`` to the ``runbook`` command's subparsers."""
    p = sub.add_parser("fleet", help="render the fleet health report (every pipeline) to HTML",
                       description=__doc__.split("\n\n")[0])
    p.add_argument("--days", type=int, default=30,
                   help="window: executions started in the last N days (default 30)")
    p.add_argument("--out", type=Path, required=True, metavar="FILE.html",
                   help="where to write the HTML (the executed notebook goes beside it)")
    p.add_argument("--engine", default="duckdb",
                   help="duckdb: download the archive and query here (default); athena: "
                   "query it in the archive's Athena workgroup")
    p.add_argument("--app-name", default="sample-app",
                   help="the app whose event archive to read (default sample-app)")
    p.add_argument("--production-stage", default="Deploy-production",
                   help="the stage whose success counts as a deployment")
    p.add_argument("--health-reports", action="store_true",
                   help="also render each pipeline's own health report (health/NAME.html)")
    p.add_argument("--target", choices=("local", "aws"), default="local")
    p.add_argument("--region", default="", help="AWS region (default AWS_REGION)")
    p.set_defaults(func=run_fleet)


def check_options(args: argparse.Namespace) -> Params:
    """Every option, before any AWS call; the app's parameters."""
    from runbook_lib.core.params import Params
    from runbook_lib.operate.fleet_report import ENGINES

    if args.engine not in ENGINES:
        raise ParameterError("--engine", args.engine, f"must be one of {', '.join(ENGINES)}",
                             "duckdb")
    if Path(args.out).suffix.lower() not in (".html", ".htm"):
        raise ParameterError("--out", str(args.out), "must be an .html file", "fleet.html")
    if args.days < 1:
        raise ParameterError("--days", str(args.days), "must be a whole number of days, 1 or "
                             "more", "30")
    if not args.production_stage.replace("-", "").replace("_", "").replace(".", "").replace(
            "@", "").isalnum():
        raise ParameterError("--production-stage", args.production_stage,
                             "must be a CodePipeline stage name (letters, digits, . @ - _)",
                             "Deploy-production")
    return Params(app_name=args.app_name, target=args.target, region=args.region)


def run_fleet(args: argparse.Namespace) -> int:
    from runbook_lib.views import waiting

    params = check_options(args)
    out = Path(args.out)
    parameters = {"app_name": params.app_name, "target": params.target,
                  "region": params.region, "days": args.days, "engine": args.engine,
                  "production_stage": args.production_stage}
    with waiting.for_terminal("rendering the fleet health report"):
        written = render_fleet_report(parameters, out)
    print(f"fleet health report: {written}")
    if args.health_reports:
        _health_reports(params, args.days, out.parent / "health")
    return 0


def render_fleet_report(parameters: dict, out: Path, notebook: Path = FLEET_NOTEBOOK) -> Path:
    """Execute the fleet notebook, render it to ``out`` with the code hidden."""
    import shutil

    import papermill as pm

    from runbook_lib.app import html_pages, run_target, runner

    if not notebook.exists():
        raise NotebookRunError(f"{notebook} is missing. Fix: python tools/build_notebooks.py "
                               "--only fleet_health")
    out.parent.mkdir(parents=True, exist_ok=True)
    executed = out.with_suffix(".ipynb")
    # the operator's files alone, as the health report's (`runbook report`) are
    with runner.private_files(), run_target.target_environment(parameters["target"]):
        try:
            runner.execute_notebook(notebook, executed, parameters)
        except pm.PapermillExecutionError as err:
            raise NotebookRunError(f"cannot produce the fleet report: {err.ename}: "
                                   f"{err.evalue} (executed notebook: {executed})") from err
        rendered = html_pages.render_html(executed, hide_code=True)
    if rendered != out:
        shutil.move(rendered, out)
    return out


def _health_reports(params: Params, days: int, folder: Path) -> None:
    """Each pipeline's own report; one without runs in the window is said and skipped."""
    from runbook_lib.app import run_target, runner
    from runbook_lib.core.session import AwsSession

    with run_target.target_environment(params.target):
        session = AwsSession.from_params(params)
        pages = session.client("codepipeline").get_paginator("list_pipelines").paginate()
        names = [p["name"] for page in pages for p in page["pipelines"]]
    for name in names:
        try:
            path = runner.run_report(name, folder / f"{name}.html", days, params.target)
            print(f"health report of {name}: {path}")
        except NotebookRunError as err:
            print(f"health report of {name} skipped: {err}")
