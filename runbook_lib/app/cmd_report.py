"""``runbook report``'s schedule options: the health report on a schedule, and where it goes.

    runbook report --schedule "cron(0 6 * * ? *)" [--timezone Europe/Paris] [-p apply=true]
    runbook report --list-scheduled [-p app_name=...]
    runbook report --pipeline NAME --out FILE [--publish s3://b/prefix/] [--notify TOPIC_ARN]

``--schedule`` plans (and with ``-p apply=true`` applies) the schedule, its CodeBuild project,
roles and topic (:mod:`runbook_lib.setup.schedule`). On the local AWS the package the build
installs is a wheel built here from the working tree, so the build needs no network; the local
AWS must be running (``runbook local start``), since a stopped one fires nothing.
``--publish`` and ``--notify`` are what the report build itself runs.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from runbook_lib.core.errors import ParameterError
from runbook_lib.core.schedule_expressions import ExpressionError, parse_expression


def add_options(report: argparse.ArgumentParser) -> None:
    """Add the schedule and publish options to the ``report`` subcommand's parser."""
    report.add_argument("--schedule", metavar="EXPRESSION", default=None,
                        help='run the report inside AWS on this schedule: "cron(0 6 * * ? *)", '
                        '"rate(1 day)", "at(2030-01-01T06:00:00)" (plans; -p apply=true applies)')
    report.add_argument("--timezone", default="UTC",
                        help="time zone of --schedule (IANA name, default UTC)")
    report.add_argument("--list-scheduled", action="store_true",
                        help="the report schedule: next run, last report and its status")
    report.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                        help="suite parameter for --schedule/--list-scheduled (app_name, "
                        "apply, ...)")
    report.add_argument("-f", "--params-file", type=Path, default=None,
                        help="YAML file of suite parameters")
    report.add_argument("--publish", metavar="S3_FOLDER", default=None,
                        help="also put the HTML at S3_FOLDER<date>.html and latest.html")
    report.add_argument("--notify", metavar="TOPIC_ARN", default=None,
                        help="with --publish: send a presigned link to this SNS topic")


def handle(args) -> int | None:
    """Run --schedule or --list-scheduled; None when the call is a plain render."""
    if args.schedule and args.list_scheduled:
        raise ParameterError("--list-scheduled", "true", "cannot be combined with --schedule",
                             "runbook report --list-scheduled")
    if args.schedule:
        return _schedule(args)
    if args.list_scheduled:
        return _list_scheduled(args)
    for option, value, example in (("--pipeline", args.pipeline, "my-app-pipeline"),
                                   ("--out", args.out, "health.html")):
        if not value:
            raise ParameterError(option, "", "is required to render a report", example)
    if args.notify and not args.publish:
        raise ParameterError("--notify", args.notify, "needs --publish (the link points at the "
                             "published copy)", "--publish s3://bucket/reports/ --notify ARN")
    return None


def after_render(args, out: Path) -> None:
    """--publish / --notify: the rendered file to S3 and its link to the topic."""
    if not args.publish:
        return
    from runbook_lib.core.session import AwsSession
    from runbook_lib.operate import report_publish

    session = AwsSession(args.target)
    published = report_publish.publish_report(session, out, args.publish, args.pipeline,
                                              args.notify)
    print(f"published to s3://{published.bucket}/{published.dated_key} and latest.html"
          + (f"; link sent to {args.notify}" if args.notify else ""))


def _context(args):
    from runbook_lib.app import runner
    from runbook_lib.core.params import Params
    from runbook_lib.core.session import AwsSession

    parameters = runner.command_parameters(args)  # runbook.toml's app, as every command's
    params = Params.from_mapping(parameters)
    return parameters, params, params.names(), AwsSession.from_params(params)


def _schedule(args) -> int:
    from runbook_lib.setup import report_wheel, schedule
    from runbook_lib.views import schedule_view

    try:
        parse_expression(args.schedule, args.timezone)
    except ExpressionError as err:
        field = "--timezone" if "Timezone" in str(err) else "--schedule"
        raise ParameterError(field, args.timezone if field == "--timezone" else args.schedule,
                             str(err), "cron(0 6 * * ? *)" if field == "--schedule"
                             else "Europe/Paris") from err
    parameters, params, names, session = _context(args)
    local = args.target == "local"
    options = schedule.ReportSchedule(expression=args.schedule, timezone=args.timezone,
                                      days=min(args.days, 30))
    options = schedule.for_local_builds(options) if local else options
    with tempfile.TemporaryDirectory(prefix="runbook-wheel-") as folder:
        wheel = report_wheel.build_wheel(Path(folder)) if local else None
        plan = schedule.plan_report_schedule(session, params, names, options, wheel)
        print(plan.render())
        if not parameters.get("apply"):
            print("\nplan only: add -p apply=true to apply it")
            return 0
        plan.apply()
    print(schedule_view.next_run_line(args.schedule, args.timezone))
    return 0


def _list_scheduled(args) -> int:
    from runbook_lib.operate import report_schedules
    from runbook_lib.views import schedule_view

    _parameters, params, names, session = _context(args)
    status = report_schedules.read_status(session, params, names)
    print(schedule_view.status_text(status))
    return 0 if status.exists else 3
