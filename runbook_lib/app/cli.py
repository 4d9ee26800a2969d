"""The ``runbook`` command: parses options and hands over to the library.

    runbook local serve|start|stop|status|reset   the embedded local AWS
    runbook local repo add|list|remove            local git repositories as pipeline sources
    runbook run [--only NAME ...]                 the notebook suite, headless (papermill)
    runbook teardown                              the teardown notebook
    runbook report --pipeline NAME --out FILE     the pipeline health report, as HTML
    runbook report --schedule EXPR | --list-scheduled   the report, scheduled inside AWS
    runbook triage --pipeline NAME | --build-id ID why a build failed (exit 1 if it did)
    runbook lab                                   JupyterLab on the notebooks, guided mode
    runbook status                                setup overview (exit 0 converged, 2 drift)
    runbook buildspec check [--strict] PATH...    validate and lint buildspec files
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from runbook_lib.app import cli_checks, cmd_buildspec, cmd_report, cmd_status, cmd_triage
from runbook_lib.core.errors import RunbookError


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        cli_checks.check_paths(args)
        return int(args.func(args) or 0)
    except RunbookError as err:
        print(f"runbook: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("runbook: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # one paragraph, never a traceback (RUNBOOK_DEBUG=1 shows it)
        if cli_checks.debugging():
            raise
        print(cli_checks.explain(err), file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="runbook", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")

    from runbook_lib.app.cmd_local import add_local_parser

    add_local_parser(sub)

    run = sub.add_parser("run", help="run the notebook suite headless")
    _add_run_options(run)
    run.add_argument("--only", nargs="+", metavar="NAME", default=None,
                     help="run only these notebooks (names from `runbook run --list`)")
    run.add_argument("--list", action="store_true", help="list notebook names and exit")
    run.add_argument("--report", action="store_true",
                     help="end with the pipeline health report (HTML) in the output folder")
    run.set_defaults(func=_run)

    teardown = sub.add_parser("teardown", help="delete everything the suite created")
    _add_run_options(teardown)
    teardown.set_defaults(func=_teardown)

    report = sub.add_parser("report", help="render the pipeline health report to HTML")
    report.add_argument("--pipeline", help="name of the pipeline to report on")
    report.add_argument("--days", type=int, default=30,
                        help="window: executions started in the last N days (default 30)")
    report.add_argument("--out", type=Path, metavar="FILE.html",
                        help="where to write the HTML (the executed notebook goes beside it)")
    report.add_argument("--target", choices=("local", "aws"), default="local",
                        help="the embedded local AWS (default) or real AWS")
    cmd_report.add_options(report)
    report.set_defaults(func=_report)

    cmd_triage.add_parser(sub)

    lab = sub.add_parser("lab", help="open the notebooks in JupyterLab (guided mode)")
    lab.add_argument("--target", choices=("local", "aws"), default="local")
    lab.add_argument("--port", type=int, default=8888)
    lab.add_argument("--dir", type=Path, default=None,
                     help="workspace for working copies of the notebooks (default lab/)")
    lab.set_defaults(func=_lab)
    cmd_status.register(sub)
    cmd_buildspec.register(sub)
    return parser


def _add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--target", choices=("local", "aws"), default="local",
                   help="where to build: the embedded local AWS (default) or real AWS")
    p.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                   help="set a notebook parameter (repeatable)")
    p.add_argument("-f", "--params-file", type=Path, default=None,
                   help="YAML file of parameters")
    p.add_argument("--out", type=Path, default=None, help="output folder (default out/<run-id>)")


# -- run / teardown / lab -------------------------------------------------------------------------


def _run(args) -> int:
    from runbook_lib.app import runner, suite

    if args.list:
        for nb in suite.NOTEBOOKS:
            print(f"{nb.name:<16} {nb.title}")
        return 0
    names = suite.resolve(args.only) if args.only else suite.default_run()
    parameters = runner.load_parameters(args.params_file, args.param, target=args.target)
    _require_prerequisites(args.target, parameters)
    result = runner.run_suite(names, parameters, target=args.target, out_dir=args.out,
                              report=args.report)
    return 0 if result.ok else 1


def _require_prerequisites(target: str, parameters: dict) -> None:
    """On the local target builds run on this machine: say what is missing before they fail."""
    from runbook_lib.app import prereqs

    if target != "local":
        return
    nodejs = parameters.get("build_template", "nodejs") == "nodejs"
    missing = prereqs.check_tools(sample_app=nodejs)
    if missing:
        raise RunbookError(prereqs.explain(missing))


def _teardown(args) -> int:
    from runbook_lib.app import runner

    parameters = runner.load_parameters(args.params_file, args.param, target=args.target)
    parameters.setdefault("apply", True)
    result = runner.run_suite(["teardown"], parameters, target=args.target, out_dir=args.out)
    return 0 if result.ok else 1


def _report(args) -> int:
    from runbook_lib.app import runner
    from runbook_lib.views import waiting

    scheduled = cmd_report.handle(args)  # --schedule, --list-scheduled; checks the options
    if scheduled is not None:
        return scheduled
    with waiting.for_terminal(f"rendering the health report of {args.pipeline}"):
        out = runner.run_report(args.pipeline, args.out, days=args.days, target=args.target)
    print(f"health report of {args.pipeline}: {out}")
    cmd_report.after_render(args, out)
    return 0


def _lab(args) -> int:
    from runbook_lib.app import runner

    return runner.run_lab(target=args.target, port=args.port, workspace=args.dir)


if __name__ == "__main__":
    sys.exit(main())
