"""Say what a build's own status means when no log line explains it.

A stopped build, a build that timed out, or one still running is not an "unknown" failure: the
build record says so, and what to do next differs. Used by :mod:`.triage` ahead of its log
rules; pure, nothing here calls AWS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class _BuildRecord(Protocol):
    status: str
    failed_phase: str
    failed_context: str


@dataclass(frozen=True)
class StatusWording:
    """The classification triage shows, with the same three fields as a triage rule."""

    category: str
    title: str
    next_step: str


def status_wording(status: str, phase: str = "", context: str = "") -> StatusWording | None:
    """Wording for STOPPED, TIMED_OUT and IN_PROGRESS builds; None for any other status.

    ``phase`` is the phase that did not succeed and ``context`` its message (CodeBuild puts who
    or what stopped the build there when it knows, e.g. "Build was stopped by a StopBuild
    call."); both are added to the title when present.
    """
    where = f" during {phase}" if phase else ""
    said = f" ({context.strip().rstrip('.')})" if context and context.strip() else ""
    if status == "STOPPED":
        return StatusWording(
            "stopped", f"stopped{where}{said}",
            "Someone or something stopped this build (StopBuild, a superseded pipeline run, or "
            "a stopped execution); nothing failed in it. Re-run the stage if it should finish.")
    if status == "TIMED_OUT":
        return StatusWording(
            "timeout", f"timed out{where}{said}",
            "Find the command that hung (the last lines before the timeout); if the build is "
            "just slow, raise the project's timeoutInMinutes (notebook 05_build_project).")
    if status == "IN_PROGRESS":
        running = f" in {phase}" if phase else ""
        return StatusWording(
            "running", f"still running{running}",
            "Nothing to diagnose yet: wait for the build to end (notebook 09 follows it), then "
            "triage it again.")
    return None


def reword(build: _BuildRecord) -> StatusWording | None:
    """:func:`status_wording` for a build log record (``.status``, ``.failed_phase``,
    ``.failed_context``)."""
    return status_wording(build.status, build.failed_phase, build.failed_context)


# What a finished build's status says about what to do, where FAILED would mislead: a FAULT is
# CodeBuild's own failure (retry), a timeout and a stop are not a failing command.
_MEANINGS = {
    "FAULT": "a CodeBuild service fault, not your commands: retry the build or the stage",
    "TIMED_OUT": "timed out: find the command that hung, or raise the project's timeout",
    "STOPPED": "stopped: someone or something stopped it; nothing failed in it",
}


def status_meaning(status: str) -> str:
    """``status`` with what it means for FAULT, TIMED_OUT and STOPPED (a FAILED build, or
    any other status, is shown as it is): the line under a failed action and in reports."""
    meaning = _MEANINGS.get(status or "")
    return f"{status}: {meaning}" if meaning else (status or "unknown")
