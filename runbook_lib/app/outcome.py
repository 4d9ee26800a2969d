"""How the pipeline run that ``runbook run`` followed ended, as the command's last words.

Every notebook can succeed while the pipeline run they started fails in its Build stage: a
terminal that says "ok" nine times and exits 0 then lies. So after notebook 09 (run and watch)
the runner reads the run it followed and ends with its outcome and the next command:

- Succeeded: exit 0;
- waiting for a manual approval: exit 0 (nobody is made to wait on a human), with the exact
  ``aws codepipeline put-approval-result`` line and the approvals cockpit command;
- failed (or stopped): exit :data:`EXIT_RUN_FAILED`, naming the stage and action, triage's
  one-line cause and the ``runbook triage`` command;
- still running after ``wait_minutes``: exit 0, with the command to follow it.

The run followed is the pipeline's newest execution, the one notebook 09 follows by default
(``watch=latest``; ``start`` and ``push`` make the newest one too).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from botocore.exceptions import BotoCoreError, ClientError

from runbook_lib.core.errors import RunbookError
from runbook_lib.core.params import Params
from runbook_lib.core.session import AwsSession
from runbook_lib.operate.build_status import status_meaning

EXIT_OK, EXIT_ERROR, EXIT_RUN_FAILED = 0, 1, 3
FAILED_STATUSES = ("Failed", "Stopped", "Stopping")


@dataclass
class RunOutcome:
    """The followed run's end: a headline, the lines that say what next, the exit code."""

    pipeline: str
    execution_id: str
    status: str
    lines: list[str] = field(default_factory=list)
    exit_code: int = EXIT_OK

    def text(self) -> str:
        return "\n".join(self.lines)

    def rehearsed(self) -> None:
        """The sample history breaks a test and rolls a release back on purpose: its last
        run's failure is the rehearsal working, not the operator's problem (exit 0)."""
        if self.exit_code == EXIT_RUN_FAILED:
            self.lines.insert(0, "the sample history fails runs on purpose (a broken test, "
                              "a gate, a rollback); its last run:")
            self.exit_code = EXIT_OK


def followed_run(session: AwsSession, params: Params) -> RunOutcome | None:
    """The outcome of the pipeline's newest run; None when the pipeline has no run."""
    from runbook_lib.operate import summaries

    pipeline = params.names(session.account_id()).pipeline
    runs = summaries.list_executions(session, pipeline, limit=1)
    if not runs:
        return None
    run = runs[0]
    outcome = RunOutcome(pipeline, run.execution_id, run.status or "unknown")
    head = f"pipeline run {run.execution_id} of {pipeline}"
    if run.status == "Succeeded":
        outcome.lines = [f"{head}: Succeeded (deployed to every stage)."]
    elif run.status in FAILED_STATUSES:
        outcome.lines = _failed(session, pipeline, run.execution_id, head, run.status)
        outcome.exit_code = EXIT_RUN_FAILED
    elif run.status == "InProgress":
        outcome.lines = _in_progress(session, pipeline, run.execution_id, head)
    else:  # Superseded, or a status this suite does not know yet
        outcome.lines = [f"{head}: {run.status}. A newer run took its place; follow it with:",
                         "  runbook run --only run"]
    return outcome


def _in_progress(session: AwsSession, pipeline: str, execution_id: str, head: str
                 ) -> list[str]:
    from runbook_lib.operate import pipeline_state
    from runbook_lib.views import progress

    waiting = [p for p in pipeline_state.pending_approvals(session, pipeline)
               if p.execution_id == execution_id]
    if not waiting:
        return [f"{head}: still running (not waiting for anyone). Follow it with:",
                "  runbook run --only run -p watch=latest"]
    approval = waiting[0]
    return [
        f"{head}: waiting for approval at {approval.stage}/{approval.action}.",
        "Approve it (or reject: -p decision=reject) in the approvals cockpit:",
        f"  runbook run --only approvals -p decision=approve -p execution_id={execution_id} "
        "-p 'summary=what you checked in staging'",
        "or with the AWS CLI:",
        f"  {progress.approval_command(approval)}",
    ]


def _failed(session: AwsSession, pipeline: str, execution_id: str, head: str, status: str
            ) -> list[str]:
    from runbook_lib.operate import executions

    failure = executions.failure_details(session, pipeline, execution_id)
    where = f" at {failure.stage}/{failure.action}" if failure else ""
    lines = [f"{head}: {status.upper()}{where}."]
    if failure is not None and failure.build_id:
        if failure.build_status not in ("", "FAILED"):  # a fault, a timeout, a stop
            lines.append(f"build: {status_meaning(failure.build_status)}")
        lines.append(f"cause: {_cause(session, failure.build_id)}")
    elif failure is not None and failure.summary:
        lines.append(f"cause: {failure.summary}")
    lines += ["the failing command, the first error and the lines around it:",
              f"  runbook triage --pipeline {pipeline} --execution {execution_id}"]
    return lines


def _cause(session: AwsSession, build_id: str) -> str:
    """Triage's one line: its classification, then the failing tests or the first error."""
    from runbook_lib.operate import logs

    try:
        _, result = logs.triage_build_log(session, build_id)
    except (RunbookError, BotoCoreError, ClientError) as err:
        return f"the build log of {build_id} could not be read ({err})"
    said = result.detail or result.error_line.strip()
    command = f" in `{result.command}`" if result.command else ""
    return f"{result.title}{command}" + (f": {said}" if said else "")
