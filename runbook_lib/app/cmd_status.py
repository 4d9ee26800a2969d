"""``runbook status``: the setup overview in the terminal, with an exit code for cron and CI.

Exit codes: 0 when every setup step is converged, 2 when changes are pending (drift, or steps
not applied yet), 1 on error (a step that cannot be read, a resource the suite does not own,
no credentials). The logic is :mod:`runbook_lib.operate.overview`; this module only parses
options and prints.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_CONVERGED, EXIT_ERROR, EXIT_PENDING = 0, 1, 2


def register(sub) -> None:
    """Add the ``status`` subcommand to the ``runbook`` parser."""
    p = sub.add_parser("status", help="setup overview: 0 converged, 2 changes pending, 1 error")
    p.add_argument("--target", choices=("local", "aws"), default=None,
                   help="the embedded local AWS (default) or real AWS")
    p.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                   help="set a parameter (repeatable), e.g. app_name=sample-app")
    p.add_argument("-f", "--params-file", type=Path, default=None, help="YAML file of parameters")
    p.set_defaults(func=run_status)


def run_status(args: argparse.Namespace) -> int:
    from runbook_lib.app.run_target import target_environment
    from runbook_lib.app.runner import load_parameters
    from runbook_lib.core.params import Params
    from runbook_lib.core.session import AwsSession
    from runbook_lib.operate.overview import read_overview
    from runbook_lib.views.overview import OverviewView

    project = getattr(args, "project", None)
    params = Params.from_mapping(load_parameters(
        args.params_file, args.param, target=args.target or "local",
        base=project.parameters if project else None))
    # Finds the local AWS of runbook.toml's state folder, or starts one for the command.
    with target_environment(params.target):
        session = AwsSession.from_params(params)
        overview = read_overview(session, params, params.names(session.account_id()))
    print(OverviewView(overview).text())
    for step in overview.errors:
        print(f"runbook status: {step.step.name}: {step.detail}", file=sys.stderr)
    return exit_code(overview)


def exit_code(overview) -> int:
    if overview.errors:
        return EXIT_ERROR
    return EXIT_CONVERGED if overview.converged else EXIT_PENDING
