"""The ``runbook`` command: parses options and hands over to the library.

    runbook local serve|start|stop|status|reset   the embedded local AWS
    runbook local repo add|list|remove            local git repositories as pipeline sources
    runbook run [--only NAME ...]                 the notebook suite, headless (papermill)
    runbook teardown                              the teardown notebook
    runbook report --pipeline NAME --out FILE     the pipeline health report, as HTML
    runbook lab                                   JupyterLab on the notebooks, guided mode
    runbook status                                setup overview (exit 0 converged, 2 drift)
    runbook buildspec check [--strict] PATH...    validate and lint buildspec files
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path

from runbook_lib.app import cli_checks, cmd_buildspec, cmd_status
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

    local = sub.add_parser("local", help="the embedded local AWS")
    lsub = local.add_subparsers(dest="local_command")
    for name, func, helptext in (
        ("serve", _local_serve, "run in the foreground"),
        ("start", _local_start, "run in the background"),
        ("stop", _local_stop, "stop the background server"),
        ("status", _local_status, "is a background server running?"),
        ("reset", _local_reset, "stop the server and wipe its state directory"),
    ):
        p = lsub.add_parser(name, help=helptext)
        p.add_argument("--state-dir", type=Path, default=None,
                       help="state directory (default $RUNBOOK_STATE_DIR or ~/.runbook/local)")
        if name in ("serve", "start"):
            p.add_argument("--port", type=int, default=None,
                           help="port (default 4599 for serve, a free port for start)")
            p.add_argument("--host", default="127.0.0.1", help="bind address (default loopback)")
        p.set_defaults(func=func)
    _add_repo_parser(lsub)

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
    report.add_argument("--pipeline", required=True, help="name of the pipeline to report on")
    report.add_argument("--days", type=int, default=30,
                        help="window: executions started in the last N days (default 30)")
    report.add_argument("--out", type=Path, required=True, metavar="FILE.html",
                        help="where to write the HTML (the executed notebook goes beside it)")
    report.add_argument("--target", choices=("local", "aws"), default="local",
                        help="the embedded local AWS (default) or real AWS")
    report.set_defaults(func=_report)

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


# -- local ----------------------------------------------------------------------------------------


def _local_serve(args) -> int:
    from runbook_lib.local.server import process
    from runbook_lib.local.server.server import DEFAULT_PORT, LocalAwsServer

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    state_dir = args.state_dir or process.default_state_dir()
    port = DEFAULT_PORT if args.port is None else args.port
    server = LocalAwsServer(state_dir, host=args.host, port=port)
    process.write_status(Path(state_dir), server.host, server.port)

    def _stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    print(f"local AWS listening; use AWS_ENDPOINT_URL={server.endpoint_url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        current = process.read_status(Path(state_dir))
        if current and current.pid == os.getpid():
            process.clear_status(Path(state_dir))
    return 0


def _local_start(args) -> int:
    from runbook_lib.local.server import process

    status = process.start(args.state_dir, port=args.port or 0, host=args.host)
    print(f"local AWS running (pid {status.pid}); state in {status.state_dir}")
    print(f"export AWS_ENDPOINT_URL={status.endpoint_url}")
    return 0


def _local_stop(args) -> int:
    from runbook_lib.local.server import process

    stopped = process.stop(args.state_dir)
    print("local AWS stopped" if stopped else "no local AWS was running")
    return 0


def _local_status(args) -> int:
    from runbook_lib.local.server import process

    status = process.read_status(args.state_dir or process.default_state_dir())
    if status and status.alive:
        print(f"running (pid {status.pid}) at {status.endpoint_url}; state in {status.state_dir}")
        print(f"export AWS_ENDPOINT_URL={status.endpoint_url}")
        return 0
    print("not running; start it with `runbook local start`")
    return 3


def _local_reset(args) -> int:
    from runbook_lib.local.server import process

    state_dir = args.state_dir or process.default_state_dir()
    removed = process.reset(state_dir)
    print(f"local AWS state wiped ({removed} files removed from {state_dir})")
    return 0


def _add_repo_parser(lsub) -> None:
    repo = lsub.add_parser("repo", help="local git repositories that stand in for GitHub or "
                           "CodeCommit sources")
    rsub = repo.add_subparsers(dest="repo_command")
    add = rsub.add_parser("add", help="register a git repository under a repository id")
    add.add_argument("repo_id", metavar="OWNER/NAME",
                     help="the source's FullRepositoryId (or a CodeCommit RepositoryName)")
    add.add_argument("path", type=Path, help="folder of a git work tree or bare repository")
    add.set_defaults(func=_repo_add)
    listing = rsub.add_parser("list", help="registered repositories with branch and head")
    listing.set_defaults(func=_repo_list)
    remove = rsub.add_parser("remove", help="forget a registered repository (files stay)")
    remove.add_argument("repo_id", metavar="OWNER/NAME")
    remove.set_defaults(func=_repo_remove)
    for p in (add, listing, remove):
        p.add_argument("--state-dir", type=Path, default=None,
                       help="state directory (default $RUNBOOK_STATE_DIR or ~/.runbook/local)")
    repo.set_defaults(func=lambda _args: repo.print_help() or 2)


def _repo_registry(args):
    from runbook_lib.local.codepipeline.repos import RepoRegistry
    from runbook_lib.local.server import process

    return RepoRegistry(args.state_dir or process.default_state_dir())


def _repo_add(args) -> int:
    entry, replaced = _repo_registry(args).add(args.repo_id, args.path.expanduser().absolute())
    verb = "re-registered" if replaced else "registered"
    print(f"{verb} {entry.repo_id} -> {entry.path}")
    return 0


def _repo_list(args) -> int:
    rows = _repo_registry(args).listing()
    if not rows:
        print("no repositories registered; add one with `runbook local repo add OWNER/NAME PATH`")
        return 0
    table = [("ID", "PATH", "DEFAULT BRANCH", "HEAD")]
    for row in rows:
        head = row.head[:12] if row.head else "-"
        table.append((row.repo_id, row.path, row.default_branch or "-",
                      f"{head} ({row.problem})" if row.problem else head))
    widths = [max(len(r[i]) for r in table) for i in range(3)]
    for r in table:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + "  " + r[3])
    return 0


def _repo_remove(args) -> int:
    _repo_registry(args).remove(args.repo_id)
    print(f"removed {args.repo_id} (its folder is untouched)")
    return 0


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

    with waiting.for_terminal(f"rendering the health report of {args.pipeline}"):
        out = runner.run_report(args.pipeline, args.out, days=args.days, target=args.target)
    print(f"health report of {args.pipeline}: {out}")
    return 0


def _lab(args) -> int:
    from runbook_lib.app import runner

    return runner.run_lab(target=args.target, port=args.port, workspace=args.dir)


if __name__ == "__main__":
    sys.exit(main())
