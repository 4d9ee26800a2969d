"""``runbook triage``: notebook 10's answer in a terminal, a CI job or a chat bot.

    runbook triage [--pipeline NAME] [--execution ID] [--action STAGE/ACTION]
    runbook triage --build-id PROJECT:UUID
    runbook triage --log-group GROUP --log-stream STREAM
        [--server-filter] [--context N] [--json] [--target local|aws] [--region R]

Prints which build was read, the failing command, the first error with the lines around it,
the classification and the next step. The log is read once, page by page, without keeping it.

Exit status: 0 no failure found (the build succeeded, or the pipeline has no failed execution
that ran a build); 1 a failure was found and reported; 2 usage error, or AWS could not be read
(the message says which call failed and what to do).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from runbook_lib.core.errors import RunbookError

if TYPE_CHECKING:
    from runbook_lib.core.session import AwsSession

NO_FAILURE, FAILURE, ERROR = 0, 1, 2


def add_parser(sub) -> None:
    """Register ``runbook triage`` on the ``runbook`` command's subparsers."""
    p = sub.add_parser("triage", help="why did a build fail: failing command, first error, "
                       "classification", description=__doc__.split("\n\n")[0],
                       epilog="exit status: 0 no failure found, 1 failure found, "
                       "2 usage or AWS error")
    where = p.add_argument_group("which log (one of)")
    where.add_argument("--pipeline", help="pipeline name: its latest failed execution's build")
    where.add_argument("--build-id", help="a CodeBuild build id (project:uuid)")
    where.add_argument("--log-group", help="a CloudWatch Logs group (with --log-stream)")
    p.add_argument("--execution", default="", help="with --pipeline: this execution id")
    p.add_argument("--action", default="", help="with --pipeline: this CodeBuild action")
    p.add_argument("--log-stream", help="with --log-group: the stream to read")
    p.add_argument("--server-filter", action="store_true",
                   help="let CloudWatch filter the log (FilterLogEvents): for large logs")
    p.add_argument("--context", type=int, default=3, help="lines shown either side of the "
                   "first error (default 3)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--target", choices=("local", "aws"), default=None)
    p.add_argument("--region", default=None, help="AWS region (default AWS_REGION)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    _default_pipeline(args)
    problem = _usage_problem(args)
    if problem:
        print(f"runbook triage: {problem}", file=sys.stderr)
        return ERROR
    # Imported here: every `runbook` command builds this parser, few of them triage.
    from botocore.exceptions import BotoCoreError, ClientError

    from runbook_lib.app.run_target import target_environment
    from runbook_lib.core.session import AwsSession
    from runbook_lib.operate import logs, triage

    args.target = args.target or "local"
    try:
        # Finds the local AWS of runbook.toml's state folder, or starts one for the command.
        with target_environment(args.target):
            session = AwsSession(args.target, args.region)
            located, (_, result) = _triage(session, args)
    except logs.NoFailedBuildError as err:
        _print_nothing(args, str(err))
        return NO_FAILURE
    except (RunbookError, BotoCoreError, ClientError) as err:
        print(f"runbook triage: {err}", file=sys.stderr)
        return ERROR
    if args.json:
        print(json.dumps({"located": located, **result.as_dict()}, indent=1))
    else:
        print(located)
        print(triage.render_text(result))
    return FAILURE if result.failure_found else NO_FAILURE


def _default_pipeline(args: argparse.Namespace) -> None:
    """No log named: the pipeline of the app runbook.toml remembers, when there is one."""
    project = getattr(args, "project", None)
    if args.pipeline or args.build_id or args.log_group or not (project and project.exists):
        return
    from runbook_lib.core.params import Params

    args.pipeline = Params.from_mapping(project.parameters).names().pipeline


def _usage_problem(args: argparse.Namespace) -> str:
    chosen = [bool(args.pipeline), bool(args.build_id), bool(args.log_group)]
    if sum(chosen) != 1:
        return ("name exactly one log: --pipeline NAME, --build-id ID, or --log-group G "
                "--log-stream S")
    if bool(args.log_group) != bool(args.log_stream):
        return "--log-group and --log-stream go together; pass both"
    if (args.execution or args.action) and not args.pipeline:
        return "--execution and --action choose a build of --pipeline; pass --pipeline too"
    if args.context < 0:
        return f"--context {args.context}: must be 0 or more, e.g. --context 3"
    return ""


def _triage(session: AwsSession, args: argparse.Namespace):
    from runbook_lib.operate import logs

    if args.log_group:
        return (f"log stream {args.log_group} {args.log_stream}",
                logs.triage_log_stream(session, args.log_group, args.log_stream,
                                       args.server_filter, args.context))
    ref = logs.locate_build(session, args.pipeline or "", args.execution, args.action,
                            args.build_id or "")
    return ref.describe(), logs.triage_build_log(session, ref.build_id, args.server_filter,
                                                 args.context)


def _print_nothing(args: argparse.Namespace, why: str) -> None:
    if args.json:
        print(json.dumps({"located": "", "failure_found": False, "reason": why}, indent=1))
    else:
        print(f"no failure to triage: {why}")
