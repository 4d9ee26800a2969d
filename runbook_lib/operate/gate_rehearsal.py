"""The canonical history's release-gate chapter: one release blocked, one rolled back.

After the first three pushes, the team turns on two release gates (an alarm gate before
production and a one-minute post-deploy watch, notebook 07's parameters) and the release alarm
(notebook 08). Then:

1. **blocked**: an incident is under way (the release alarm fires); the next release is built,
   deployed to staging and approved, but the alarm gate keeps it out of production: it waits for
   the alarm to clear, then fails the run. The incident ends (the alarm goes back to OK).
2. **rolled back**: a release that raises the error rate is approved and deployed; during the
   post-deploy watch the error count climbs and the alarm fires; CodePipeline rolls production
   back to the last good release by itself.

On the local AWS alarms do not evaluate metrics, so the error count is published and the alarm
is set the way ``aws cloudwatch set-alarm-state`` would.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from runbook_lib.core.params import Params, ResourceNames
from runbook_lib.core.session import AwsSession
from runbook_lib.operate import gates, sample_repo, summaries
from runbook_lib.operate.new_runs import NewRuns
from runbook_lib.operate.summaries import ExecutionSummary, WaitTimeout, list_summaries
from runbook_lib.operate.watch import read_progress
from runbook_lib.setup import pipeline, release_alarm

# The shortest gates CodePipeline accepts: one minute each.
REHEARSAL_GATES = {"gate_alarm_wait_minutes": 1, "post_deploy_watch_minutes": 1}


def gated_params(params: Params) -> Params:
    """The team's parameters once the release gates are on (kept if already on)."""
    return params.replace(**{k: getattr(params, k) or v for k, v in REHEARSAL_GATES.items()})


def turn_gates_on(session: AwsSession, params: Params, names: ResourceNames) -> Params:
    """Apply notebook 08's alarm and notebook 07's pipeline with the gates on."""
    gated = gated_params(params)
    release_alarm.plan_release_alarm(session, gated, names).apply()
    pipeline.plan_pipeline(session, gated, names).apply()
    set_alarm(session, names, "OK", "no incident")
    return gated


def set_alarm(session: AwsSession, names: ResourceNames, state: str, reason: str) -> None:
    session.client("cloudwatch").set_alarm_state(AlarmName=names.release_alarm,
                                                 StateValue=state, StateReason=reason)


def publish_errors(session: AwsSession, params: Params, count: float) -> None:
    """The application metric a bad release moves (the sample app's production errors)."""
    session.client("cloudwatch").put_metric_data(
        Namespace=release_alarm.metric_namespace(params),
        MetricData=[{"MetricName": release_alarm.METRIC_NAME, "Value": count, "Unit": "Count",
                     "Dimensions": [{"Name": "Environment", "Value": params.production_name}]}])


def fire_during_watch(session: AwsSession, params: Params, names: ResourceNames,
                      stop: threading.Event) -> Callable[[], None]:
    """A watcher that, once a post-deploy watch is waiting, raises the error count and fires
    the alarm (as the bad release would). Returns the function to run in a thread."""
    stage = f"Deploy-{params.production_name}"

    def watch() -> None:
        while not stop.wait(0.5):
            if _post_deploy_watch_running(session, names.pipeline, stage):
                publish_errors(session, params, 42)
                set_alarm(session, names, "ALARM", "errors climbed after the deploy")
                return

    return watch


def _post_deploy_watch_running(session: AwsSession, pipeline: str, stage: str) -> bool:
    """The onSuccess watch of ``stage`` is waiting: from its condition state, or, where AWS
    leaves that optional state out, from a run still in progress whose ``stage`` actions all
    succeeded (ListActionExecutions' required fields)."""
    if any(g.stage == stage and g.block == "onSuccess" and g.waiting
           for g in gates.gate_states(session, pipeline)):
        return True
    for run in summaries.list_executions(session, pipeline, limit=5):
        if run.status != "InProgress":
            continue
        progress = read_progress(session, pipeline, run.execution_id)
        done = [s for s in progress.stages if s.name == stage and s.actions
                and all(a.status == "Succeeded" for a in s.actions)]
        if done:
            return True
    return False


def rehearse(session: AwsSession, params: Params, names: ResourceNames, repo: Path,
             follow: Callable[..., Any], timeout: float) -> list[Any]:
    """The two gate steps, each followed with ``follow`` (history's push_and_follow)."""
    gated = turn_gates_on(session, params, names)
    branch = params.source_branch
    set_alarm(session, names, "ALARM", "incident under way: error rate high")
    blocked = follow(session, names.pipeline, "release during an incident",
                     lambda: sample_repo.push_release_note(repo, "release during an incident",
                                                           branch),
                     "Staging checked: release during an incident", timeout,
                     audit_bucket=names.artifact_bucket)
    blocked.gate_note = "kept out of production by the alarm gate"
    set_alarm(session, names, "OK", "incident over")
    earlier = _run_ids(session, names.pipeline)
    stop = threading.Event()
    watcher = threading.Thread(target=fire_during_watch(session, gated, names, stop),
                               daemon=True)
    watcher.start()
    try:
        rolled_back = follow(session, names.pipeline, "release that raises errors",
                             lambda: sample_repo.push_release_note(
                                 repo, "release that raises errors", branch),
                             "Staging checked: new error handling", timeout,
                             audit_bucket=names.artifact_bucket)
    finally:
        stop.set()
        watcher.join(timeout=5)
    _wait_rollback(session, names.pipeline, earlier | {rolled_back.execution_id}, timeout)
    rolled_back.gate_note = "rolled back after the deploy by the post-deploy watch"
    set_alarm(session, names, "OK", "rolled back: errors back to normal")
    publish_errors(session, gated, 0)
    return [blocked, rolled_back]


def _run_ids(session: AwsSession, pipeline: str) -> set[str]:
    return {e.execution_id for e in list_summaries(session, pipeline)}


def _wait_rollback(session: AwsSession, pipeline: str, known: set[str],
                   timeout: float) -> list[ExecutionSummary]:
    """The automated rollback starts just after the watched run fails; let it finish.

    Nobody pushes meanwhile, so the rollback is the run not in ``known`` (every run listed
    before the release, and the release's own): its id and status are all this waits on, not
    ``trigger`` or ``executionType``, which AWS may leave out. Raises :class:`WaitTimeout`
    with what it saw when no such run has finished in ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    watch = NewRuns(session, pipeline, known)
    new: list[ExecutionSummary] = []
    confirm = False
    while time.monotonic() < deadline:
        new, complete = watch.poll(full=confirm)
        ended = bool(new) and all(e.finished for e in new)
        if ended and complete:
            return new
        confirm = ended  # all it read have ended: read every page to know none is left
        if not confirm:
            time.sleep(0.5)
    seen = ", ".join(f"{e.execution_id} {e.status or 'unknown'}" for e in new) or "none"
    raise WaitTimeout(
        f"the automated rollback of {pipeline} did not finish within {timeout:.0f}s (runs "
        f"started after the release: {seen}). Check the production stage's onFailure "
        "result (ROLLBACK) and the release alarm's state.")
