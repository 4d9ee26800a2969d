"""Live progress of one pipeline execution: a widget in JupyterLab, plain text headless.

Both views take the :class:`~runbook_lib.operate.watch.ExecutionProgress` that
:func:`~runbook_lib.operate.watch.watch_execution`
hands them on every look, and never call AWS.
The text view prints a line only when a stage ends, so a headless run (papermill, nbval) prints
the same lines whatever the polling rhythm; the widget redraws on every look, with elapsed
times and a progress bar.
"""

from __future__ import annotations

import html
import sys
import time
from collections.abc import Callable

from runbook_lib.core.text import format_duration
from runbook_lib.operate.executions import FailureDetails, FollowedRun
from runbook_lib.operate.pipeline_state import PendingApproval
from runbook_lib.operate.watch import ExecutionProgress, StageProgress
from runbook_lib.views import display, palette

STAGE_HEADERS = ("stage", "status", "actions", "time")
ACTION_HEADERS = ("stage", "action", "status", "time")

# The house palette's colour and symbol per status (runbook_lib.views.palette).
STATUS_STYLE = {s: (palette.style(s).colour, palette.style(s).symbol)
                for s in ("Succeeded", "Failed", "InProgress", "Stopped", "Abandoned", "Pending")}


def text_bar(fraction: float, width: int = 20) -> str:
    """[#######.............] 35%: a progress bar for plain text."""
    fraction = min(1.0, max(0.0, fraction))
    filled = round(fraction * width)
    return f"[{'#' * filled}{'.' * (width - filled)}] {fraction:.0%}"


def stage_rows(progress: ExecutionProgress) -> list[tuple[str, str, str, str]]:
    """(stage, status, actions finished/total, time) per stage, in pipeline order."""
    return [(s.name, s.status, f"{sum(a.finished for a in s.actions)}/{len(s.actions)}",
             format_duration(s.elapsed_seconds(progress.now))) for s in progress.stages]


def action_rows(progress: ExecutionProgress) -> list[tuple[str, str, str, str]]:
    """(stage, action, status, time) per action, in pipeline and run order."""
    return [(a.stage, a.action, a.status, format_duration(a.elapsed_seconds(progress.now)))
            for s in progress.stages for a in s.actions]


def final_line(progress: ExecutionProgress) -> str:
    """One sentence: how the execution ended and how long it took."""
    line = (f"execution {progress.execution_id} of {progress.pipeline}: {progress.status} "
            f"after {format_duration(progress.elapsed_seconds())}")
    waiting = progress.waiting_for_approval
    if waiting and not progress.finished:
        line += f"; waiting for approval at {waiting.stage}/{waiting.action}"
    return line + (f" ({progress.status_summary})" if progress.status_summary else "")


def describe_waiting(progress: ExecutionProgress, pending: list[PendingApproval]) -> str:
    """How to answer the approval a watched run stopped at: the cockpit or the AWS CLI.

    A headless run reports a run waiting on a human and moves on instead of waiting for one.
    """
    waiting = progress.waiting_for_approval
    if waiting is None or progress.finished:
        return "no approval is waiting"
    mine = [p for p in pending if (p.stage, p.action) == (waiting.stage, waiting.action)]
    lines = [f"{progress.pipeline} waits for approval at {waiting.stage}/{waiting.action}: "
             "answer it in notebook 11_approvals (with a summary for the audit trail)"]
    if mine:
        lines.append("or with the AWS CLI:\n  " + approval_command(mine[0]))
    return "\n".join(lines)


def approval_command(approval: PendingApproval, status: str = "Approved") -> str:
    """The exact ``aws codepipeline put-approval-result`` line for one pending approval."""
    return (f"aws codepipeline put-approval-result --pipeline-name {approval.pipeline} "
            f"--stage-name {approval.stage} --action-name {approval.action} "
            f"--token {approval.token} "
            f"--result 'summary=\"your summary\",status={status}'")


def describe_failure(failure: FailureDetails | None) -> str:
    """Where to look when a run failed: the action, its build, its log (and the CLI line)."""
    if failure is None:
        return "no action failed"
    lines = [f"{what}: {value}" for what, value in failure.rows()]
    if failure.log_command:
        lines.append(f"read the log: {failure.log_command}")
    return "\n".join(lines)


def final_status(progress: ExecutionProgress) -> display.StatusBadge:
    """:func:`final_line` with the execution's status badge (the text form is the line)."""
    state = "Waiting" if progress.waiting_for_approval and not progress.finished else \
        progress.status
    return display.StatusBadge(state, final_line(progress))


def failure_display(failure: FailureDetails | None) -> display.Preformatted:
    """:func:`describe_failure` as a finding: badged Failed, or Succeeded when none failed."""
    if failure is None:
        return display.Preformatted(describe_failure(None), "Succeeded", "no failure")
    return display.Preformatted(describe_failure(failure), "Failed", "failed action")


def show_followed(session, pipeline: str, followed: FollowedRun) -> None:
    """How the followed run ended or where it waits, how to answer it and what the gates did;
    with no run to follow, what is missing and the next step (a state, not a traceback)."""
    from runbook_lib.operate import gates, pipeline_state

    if followed.progress is None:
        display.show(display.StatusBadge("info", followed.note))
        return
    display.show(final_status(followed.progress))
    print(describe_waiting(followed.progress, pipeline_state.pending_approvals(session, pipeline)))
    print(gates.run_gate_text(session, pipeline, followed.execution_id))


def next_after(followed: FollowedRun, failure: FailureDetails | None) -> display.NextLink:
    """Where to go after watching a run: the approval it waits for, the failed build's log,
    or, once it is through, where the time went."""
    if followed.progress is None:
        return display.NextLink("00_overview", "see where the setup stands and start a run")
    if followed.progress.waiting_for_approval and not followed.progress.finished:
        return display.NextLink("11_approvals", "answer the approval this run waits for")
    if failure is not None and failure.build_id:
        return display.NextLink("10_build_logs", "read the failed build's log: what to fix")
    return display.NextLink("12_stage_durations", "see where the time goes, run after run")


def followed_stage_rows(followed: FollowedRun) -> list[tuple[str, str, str, str]]:
    """:func:`stage_rows` of the followed run; none when no run was followed."""
    return stage_rows(followed.progress) if followed.progress else []


def _stage_line(stage: StageProgress, progress: ExecutionProgress) -> str:
    return f"{stage.name}: {stage.status} ({format_duration(stage.elapsed_seconds(progress.now))})"


def _process_stderr(line: str) -> None:
    err = sys.__stderr__ or sys.stderr  # __stderr__ is None without a console
    err.write(line + "\n")
    err.flush()


class TextProgress:
    """Prints one line per stage as it ends; deterministic under papermill and nbval.

    Between those, a heartbeat line (the headline) goes every ``heartbeat_every`` seconds to
    the process's own stderr: the terminal of ``runbook run`` sees a long stage move, the
    notebook's stored outputs do not.
    """

    def __init__(self, write: Callable[[str], None] = print,
                 heartbeat: Callable[[str], None] = _process_stderr,
                 heartbeat_every: float = 10.0) -> None:
        self._write = write
        self._reported: set[str] = set()
        self._heartbeat = heartbeat
        self._every = heartbeat_every
        self._last_beat = time.monotonic()

    def __call__(self, progress: ExecutionProgress) -> None:
        for stage in progress.stages:
            if stage.finished and stage.name not in self._reported:
                self._reported.add(stage.name)
                self._write(_stage_line(stage, progress))
        if time.monotonic() - self._last_beat >= self._every and not progress.finished:
            self._last_beat = time.monotonic()
            self._heartbeat(headline(progress))


def html_table(progress: ExecutionProgress) -> str:
    """The stages and actions as an HTML table with status badges and elapsed times."""
    rows = []
    for stage in progress.stages:
        rows.append(f"<tr><td><b>{html.escape(stage.name)}</b></td><td></td>"
                    f"<td>{display.badge(stage.status)}</td>"
                    f"<td>{format_duration(stage.elapsed_seconds(progress.now))}</td></tr>")
        for action in stage.actions:
            rows.append(f"<tr><td></td><td>{html.escape(action.action)}</td>"
                        f"<td>{display.badge(action.status)}</td>"
                        f"<td>{format_duration(action.elapsed_seconds(progress.now))}</td></tr>")
    return (f"{display._CSS}<table class='runbook-view'><tr><th>stage</th><th>action</th>"
            "<th>status</th><th>time</th></tr>" + "".join(rows) + "</table>")


def headline(progress: ExecutionProgress) -> str:
    kind = "rollback" if progress.is_rollback else "execution"
    target = (f" (back to {progress.rollback_target[:8]})"
              if progress.is_rollback and progress.rollback_target else "")
    return (f"{progress.pipeline} · {kind} {progress.execution_id[:8]}{target} · "
            f"{progress.status} · "
            f"{format_duration(progress.elapsed_seconds())} · "
            f"{progress.finished_actions}/{progress.total_actions} actions done")


class WidgetProgress:
    """An ipywidgets view: headline, progress bar over actions, the pipeline drawing coloured by
    status (redrawn in place on every look), the stage/action table, and at the end a link to
    the failed build's triage or to the approval waiting."""

    def __init__(self, show: bool = True) -> None:
        import ipywidgets as w

        self.title = w.HTML("waiting for the first look at the execution …")
        self.bar = w.FloatProgress(value=0.0, min=0.0, max=1.0, bar_style="info",
                                   layout=w.Layout(width="60%"))
        self.drawing = w.HTML("")
        self.drawing.add_class("runbook-live-pipeline")
        self.table = w.HTML("")
        self.outcome = w.HTML("")
        self.box = w.VBox([self.title, self.bar, self.drawing, self.table, self.outcome])
        if show:
            from IPython.display import display as show_widget

            show_widget(self.box)

    def __call__(self, progress: ExecutionProgress) -> None:
        from runbook_lib.views import live_pipeline

        self.title.value = f"<b>{html.escape(headline(progress))}</b>"
        self.bar.value = progress.fraction
        failed = progress.status == "Failed" or any(s.status == "Failed"
                                                    for s in progress.stages)
        self.bar.bar_style = ("danger" if failed else "success" if progress.finished
                              else "warning" if progress.waiting_for_approval else "info")
        self.drawing.value = live_pipeline.pipeline_svg(progress)
        self.table.value = html_table(progress)
        self.outcome.value = live_pipeline.outcome_link(progress)


def reporter(headless: bool | None = None) -> Callable[[ExecutionProgress], None]:
    """The view for where the notebook runs: text when headless, a widget in JupyterLab."""
    from runbook_lib.core.headless import is_headless

    if is_headless() if headless is None else headless:
        return TextProgress()
    return WidgetProgress()
