"""The ``runbook`` command: parses options and hands over to the library.

    runbook local serve|start|stop|status|reset   the embedded local AWS
    runbook local repo add|list|remove            local git repositories as pipeline sources
    runbook run [--only NAME ...]                 the notebook suite, headless (papermill);
                                                  exit 0 the pipeline run it followed succeeded
                                                  or waits for approval, 3 it failed, 1 error
    runbook teardown [-p apply=true]              plan the teardown; apply=true deletes
    runbook report [--pipeline NAME] --out FILE   the pipeline health report, as HTML
    runbook report --schedule EXPR | --list-scheduled   the report, scheduled inside AWS
    runbook triage [--pipeline NAME | --build-id ID] why a build failed (exit 1 if it did)
    runbook lab                                   JupyterLab on the notebooks, guided mode
    runbook status                                setup overview (exit 0 converged, 2 drift)
    runbook buildspec check [--strict] PATH...    validate and lint buildspec files

run, status, teardown, report, triage and lab read ./runbook.toml, which the first
`runbook run -p ...` writes (parameters, never secrets, and the local AWS's state folder).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from runbook_lib.app import (
    cli_checks,
    cmd_buildspec,
    cmd_fleet,
    cmd_report,
    cmd_status,
    cmd_triage,
    deferred_imports,
)
from runbook_lib.core.errors import RunbookError


def main(argv: list[str] | None = None) -> int:
    deferred_imports.defer_iri_grammar()
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        _project_context(args)
        cli_checks.check_paths(args)
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not as a message at interpreter exit
        return code
    except RunbookError as err:
        print(f"runbook: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("runbook: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `runbook ... | head`: the reader has all it wanted
        return _quiet_after_broken_pipe()
    except Exception as err:  # one paragraph, never a traceback (RUNBOOK_DEBUG=1 shows it)
        if cli_checks.debugging():
            raise
        print(cli_checks.explain(err), file=sys.stderr)
        return 1


# Commands that read runbook.toml and say which file and which local AWS they use.
_READS_PROJECT_FILE = {"run", "teardown", "status", "report", "triage", "lab"}


def _project_context(args: argparse.Namespace) -> None:
    """Read runbook.toml: its target (unless --target), its local AWS state folder (unless
    RUNBOOK_STATE_DIR); then say on stderr which file and which local AWS this command uses."""
    from runbook_lib.app import project_file

    command = args.command
    local_env = command == "local" and getattr(args, "local_command", None) == "env"
    if command == "local" and not local_env:
        _local_state_from_file(args)
        return
    if command not in _READS_PROJECT_FILE and not local_env:
        return
    found = project_file.read()
    args.project = found
    if getattr(args, "target", "local") is None:
        args.target = found.target or "local"
    if getattr(args, "list", False) or found.path is None:
        return  # RUNBOOK_PARAMS_FILE=off: behave as before the file existed, quietly
    if getattr(args, "target", "local") == "aws":
        print(f"runbook: {found.describe()}; target: real AWS", file=sys.stderr)
        return
    state_dir = project_file.adopt_state_dir(found)
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    where = (f"the local AWS at {endpoint} (AWS_ENDPOINT_URL)" if endpoint and not local_env
             else f"the local AWS with state in {state_dir}")
    print(f"runbook: {found.describe()}; {where}", file=sys.stderr, flush=True)


def _local_state_from_file(args: argparse.Namespace) -> None:
    """`runbook local ...` without --state-dir or RUNBOOK_STATE_DIR: runbook.toml's folder, so
    a new shell reaches the local AWS `runbook run` used, not a second one."""
    from runbook_lib.app import project_file

    if getattr(args, "state_dir", None) or os.environ.get(project_file.STATE_ENV):
        return
    found = project_file.read()
    if found.state_dir:
        project_file.adopt_state_dir(found)
        print(f"runbook: local AWS state in {found.state_dir} (from {found.path})",
              file=sys.stderr, flush=True)


def _quiet_after_broken_pipe() -> int:
    """End as `cat | head` does: no message, and no second error when Python flushes stdout at
    exit (stdout is pointed at /dev/null). 141 is what a shell reports for SIGPIPE."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return 141


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="runbook", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")

    from runbook_lib.app.cmd_local import add_local_parser

    add_local_parser(sub)

    run = sub.add_parser("run", help="run the notebook suite headless")
    _add_run_options(run)
    run.add_argument("--only", nargs="+", action="extend", metavar="NAME", default=None,
                     help="run only these notebooks (names from `runbook run --list`)")
    run.add_argument("--list", action="store_true", help="list notebook names and exit")
    run.add_argument("--report", action="store_true",
                     help="end with the pipeline health report (HTML) in the output folder")
    run.set_defaults(func=_run)

    teardown = sub.add_parser("teardown", help="plan the deletion of everything the suite "
                              "created; -p apply=true deletes it")
    _add_run_options(teardown)
    teardown.set_defaults(func=_teardown)

    _add_report_parser(sub)
    cmd_triage.add_parser(sub)

    lab = sub.add_parser("lab", help="open the notebooks in JupyterLab (guided mode)")
    lab.add_argument("--target", choices=("local", "aws"), default=None)
    lab.add_argument("--port", type=int, default=8888)
    lab.add_argument("--dir", type=Path, default=None,
                     help="workspace for working copies of the notebooks (default lab/)")
    lab.set_defaults(func=_lab)
    cmd_status.register(sub)
    cmd_buildspec.register(sub)
    cmd_fleet.register(sub)
    return parser


def _add_report_parser(sub) -> None:
    report = sub.add_parser("report", help="render the pipeline health report to HTML")
    report.add_argument("--pipeline", default=None, help="name of the pipeline to report on "
                        "(default: the app's in runbook.toml)")
    report.add_argument("--days", type=int, default=30,
                        help="window: executions started in the last N days (default 30)")
    report.add_argument("--out", type=Path, metavar="FILE.html",
                        help="where to write the HTML (the executed notebook goes beside it)")
    report.add_argument("--target", choices=("local", "aws"), default=None,
                        help="the embedded local AWS (default) or real AWS")
    cmd_report.add_options(report)
    report.set_defaults(func=_report)


def _add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--target", choices=("local", "aws"), default=None,
                   help="where to build: the embedded local AWS (default, or runbook.toml's) "
                   "or real AWS")
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
    parameters = runner.command_parameters(args)
    _require_prerequisites(args.target, parameters)  # a run refused here remembers nothing
    _remember(args, parameters)
    result = runner.run_suite(names, parameters, target=args.target, out_dir=args.out,
                              report=args.report)
    if result.ok and len(names) == 1 and names != ["run"]:  # "run" ends with the outcome
        # one notebook asked for (an approval, a plan): what it said, not only "ok"
        print(f"\n{runner.notebook_text(result.notebooks[0].path)}")
    return result.exit_code


def _remember(args: argparse.Namespace, parameters: dict) -> None:
    """The first run with overrides writes them to runbook.toml; later ones update it."""
    from runbook_lib.app import project_file

    project = getattr(args, "project", None)
    if project is None:
        return
    state_dir = os.environ.get(project_file.STATE_ENV, "") if args.target == "local" else ""
    if args.target == "local" and not state_dir:
        state_dir = project_file.adopt_state_dir(project)
    if project_file.remember(project, parameters, args.target, state_dir):
        print(f"runbook: remembered in {project.path}: "
              f"{', '.join(sorted(project.parameters)) or 'no parameters'} (never secrets); "
              "status, teardown, report, triage and lab read it", file=sys.stderr, flush=True)


def pipeline_of(args: argparse.Namespace) -> str:
    """--pipeline, else the pipeline of the app in runbook.toml."""
    from runbook_lib.core.params import Params

    if getattr(args, "pipeline", None):
        return args.pipeline
    project = getattr(args, "project", None)
    if project is None or not project.exists:
        raise RunbookError("name the pipeline: --pipeline NAME (or run `runbook run -p "
                           "app_name=...` once here, and runbook.toml remembers the app)")
    return Params.from_mapping(project.parameters).names().pipeline


def _require_prerequisites(target: str, parameters: dict) -> None:
    """What the run needs before anything is remembered or called: on AWS, credentials; on the
    local target (builds run on this machine), the tools the build uses."""
    from runbook_lib.app import prereqs

    if target == "aws":
        from runbook_lib.app import run_target

        run_target.require_aws_credentials(parameters.get("region") or None)
        return
    if target != "local":
        return
    from runbook_lib.core.params import Params

    nodejs = Params.from_mapping(parameters).build_template == "nodejs"
    missing = prereqs.check_tools(sample_app=nodejs)
    if missing:
        raise RunbookError(prereqs.explain(missing))


def _teardown(args) -> int:
    from runbook_lib.app import runner

    parameters = runner.command_parameters(args)
    result = runner.run_suite(["teardown"], parameters, target=args.target, out_dir=args.out)
    if result.ok:
        print(f"\n{runner.notebook_text(result.notebooks[0].path)}")
    if result.ok and not parameters.get("apply"):
        print("\nplan only: nothing was deleted. The plan is above (and in the teardown "
              "notebook's HTML). To delete what it lists:\n  runbook teardown -p apply=true")
    return 0 if result.ok else 1


def _report(args) -> int:
    from runbook_lib.app import runner
    from runbook_lib.views import waiting

    project = getattr(args, "project", None)
    if not args.pipeline and project is not None and project.exists:
        args.pipeline = pipeline_of(args)  # the app's pipeline, remembered in runbook.toml
    scheduled = cmd_report.handle(args)  # --schedule, --list-scheduled; checks the options
    if scheduled is not None:
        return scheduled
    pipeline = args.pipeline
    with waiting.for_terminal(f"rendering the health report of {pipeline}"):
        out = runner.run_report(pipeline, args.out, days=args.days, target=args.target)
    print(f"health report of {pipeline}: {out}")
    cmd_report.after_render(args, out)
    return 0


def _lab(args) -> int:
    from runbook_lib.app import lab

    project = getattr(args, "project", None)
    return lab.run_lab(target=args.target, port=args.port, workspace=args.dir,
                       parameters=project.parameters if project else None)


if __name__ == "__main__":
    sys.exit(main())
