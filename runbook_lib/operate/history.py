"""The canonical run's history on the local AWS: pushes, runs, a failure, a fix, approvals.

`make run` ends its setup by pushing the sample app through the pipeline the way a team would:
a green change that is approved and deployed, a change that breaks a test (the run fails in the
build, the failing test named from the build log), then the fix, approved and deployed. Then
the team turns on release gates (:mod:`.gate_rehearsal`): one release is kept out of production
by the alarm gate during an incident, one is rolled back after its deploy by the post-deploy
watch. It leaves a pipeline history that the operating notebooks can show.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from runbook_lib.core.errors import RunbookError
from runbook_lib.core.params import Params, ResourceNames
from runbook_lib.core.plan import Change, Plan, merge_plans
from runbook_lib.core.session import AwsSession
from runbook_lib.local.server import client
from runbook_lib.operate import (
    approvals,
    executions,
    gate_rehearsal,
    logs,
    pipeline_state,
    sample_repo,
    summaries,
)
from runbook_lib.setup import source


@dataclass
class HistoryStep:
    """One push and the run it started."""

    label: str
    commit: sample_repo.Commit
    execution_id: str
    status: str
    stages: list[tuple[str, str]] = field(default_factory=list)
    failed_action: str = ""
    failure_summary: str = ""
    failing_tests: list[str] = field(default_factory=list)
    approval_summary: str = ""
    gate_note: str = ""  # what a release gate did to this run

    def row(self) -> tuple[str, str, str, str]:
        detail = self.approval_summary and f"approved for you: {self.approval_summary}"
        if self.gate_note:
            approved = "approved for you, then " if self.approval_summary else ""
            detail = f"{approved}{self.gate_note}: {self.failure_summary}"
        elif self.failing_tests:
            detail = f"failed in {self.failed_action}: test {', '.join(self.failing_tests)}"
        elif self.failed_action:
            detail = f"failed in {self.failed_action}: {self.failure_summary}"
        return (self.label, self.commit.sha[:7], self.status, detail)


HEADERS = ("push", "commit", "run", "what happened")


# The local AWS looks at registered repositories about once a second; a repository it has not
# looked at yet has no "previous head", so a commit made in that moment would not count as a push.
_FIRST_LOOK_SECONDS = 3.0


STAGE_HEADERS = ("push", "stage", "status")


def history_rows(steps: list[HistoryStep]) -> list[tuple[str, str, str, str]]:
    """:data:`HEADERS` rows, one per push."""
    return [step.row() for step in steps]


def answered_text(steps: list[HistoryStep]) -> str:
    """Which approvals the history answered on the operator's behalf (their audit records name
    the operator), so nobody wonders who approved those releases."""
    answered = [s.label for s in steps if s.approval_summary]
    if not answered:
        return "the sample history answered no approval" if steps else ""
    return (f"the sample history approved {len(answered)} releases on your behalf, with a "
            f"summary each (audit trail: notebook 11): {', '.join(answered)}")


def stage_rows(steps: list[HistoryStep]) -> list[tuple[str, str, str]]:
    """:data:`STAGE_HEADERS` rows: where each push's run went, stage by stage."""
    return [(step.label, stage, status) for step in steps for stage, status in step.stages]


def ensure_local_repository(session: AwsSession, params: Params) -> Path:
    """Create the sample app's repository beside the local AWS and register it under
    ``params.source_repo``; a second call changes nothing."""
    if not session.is_local:
        raise RunbookError("the canonical history pushes to a local repository; on target "
                           "'aws' push to your real repository instead")
    info = client.server_info(session.local_endpoint_url)
    path = Path(info["state_dir"]) / "repos" / params.source_repo.replace("/", "__")
    registered = {r["id"]: r["path"] for r in client.list_repos(session.local_endpoint_url)}
    own = registered.get(params.source_repo)
    if own and own != str(path):
        raise RunbookError(
            f"{params.source_repo} is your repository at {own}, not the sample app: the "
            "canonical history only pushes the sample app. Push commits to your branch "
            f"{params.source_branch} instead, or run without push_sample_history")
    sample_repo.create_sample_repo(path, params.source_branch)
    if own != str(path):
        client.register_repo(session.local_endpoint_url, params.source_repo, path)
        if _any_pipeline(session):  # one may watch it: let the local AWS look at it first
            time.sleep(_FIRST_LOOK_SECONDS)
    return path


def _any_pipeline(session: AwsSession) -> bool:
    """A pipeline exists in the region. Where none does (notebook 07 registers the repository
    just before it creates the pipeline), no push can be missed: the pipeline created next
    starts its first run from the head, and its own first look follows."""
    pages = session.client("codepipeline").get_paginator("list_pipelines").paginate()
    return any(page.get("pipelines") for page in pages)


def _needs_local_repo(session: AwsSession, params: Params) -> bool:
    return session.is_local and (params.uses_connection or params.source_provider == "codecommit")


def describe_local_source(session: AwsSession, params: Params) -> str:
    """Where the pipeline's source comes from (reads only): on the local AWS a registered local
    git repository, which the pipeline's plan registers first when it is missing."""
    if not session.is_local:
        return f"source: {params.source_repo} through the connection (nothing to prepare)"
    if not _needs_local_repo(session, params):
        return f"source: {params.source_provider} (no local repository needed)"
    own = source.registered_checkout(session, params.source_repo)
    if own is None:
        return (f"source: not registered yet; the plan below registers the sample app as "
                f"{params.source_repo} before it creates the pipeline")
    if not _is_sample_checkout(session, params, own):
        return (f"source: your repository {own}, registered as {params.source_repo} "
                f"(branch {params.source_branch})")
    return (f"source: the sample app's local repository, registered as {params.source_repo} "
            f"(branch {params.source_branch})")


def plan_local_source(session: AwsSession, params: Params, names: ResourceNames) -> Plan:
    """On the local AWS the source is a local git repository, registered before the pipeline
    exists so that creating the pipeline starts its first run as on AWS. A plan (empty once
    registered), so ``apply=True`` and the Apply button register it the same way."""
    plan = Plan("local source")
    if not _needs_local_repo(session, params):
        return plan
    if source.registered_checkout(session, params.source_repo) is None:
        plan.add(Change(f"local repository {params.source_repo}", "create",
                        [f"the sample app's git repository (branch {params.source_branch}), "
                         f"registered as {params.source_repo}"],
                        apply_fn=lambda: ensure_local_repository(session, params)))
    return plan


def plan_pipeline_and_source(session: AwsSession, params: Params, names: ResourceNames) -> Plan:
    """Notebook 07's plan: the local source (when missing), then the pipeline and its topic."""
    from runbook_lib.setup import pipeline

    parts = (plan_local_source(session, params, names),
             pipeline.plan_pipeline(session, params, names))
    merged = merge_plans("pipeline", *parts)
    merged.refusals = [reason for part in parts for reason in part.refusals]
    return merged


def _is_sample_checkout(session: AwsSession, params: Params, checkout: Path) -> bool:
    info = client.server_info(session.local_endpoint_url)
    return checkout == Path(info["state_dir"]) / "repos" / params.source_repo.replace("/", "__")


def run_canonical_history(session: AwsSession, params: Params, names: ResourceNames,
                          timeout: float = 600,
                          on_step: Callable[[HistoryStep], None] | None = None,
                          rehearse_gates: bool = True) -> list[HistoryStep]:
    """First run (approved), breaking change (fails in the build), fix (approved), then with
    ``rehearse_gates`` a release blocked by the alarm gate and one rolled back after deploy.

    The first run is the one creating the pipeline started, when it is still going; otherwise
    a release note is pushed to start one.
    """
    repo = ensure_local_repository(session, params)
    branch = params.source_branch
    first = [e for e in summaries.list_executions(session, names.pipeline) if not e.finished]
    plan = [
        ("first run" if first else "release note",
         (lambda: sample_repo.head(repo, branch)) if first else
         (lambda: sample_repo.push_release_note(repo, "first release", branch)),
         "Staging checked: first release", first[-1].execution_id if first else None),
        ("breaking change", lambda: sample_repo.push_breaking_change(repo, branch), "", None),
        ("fix", lambda: sample_repo.push_fix(repo, branch), "Staging checked: greeting fixed",
         None),
    ]
    steps = []
    for label, push, approval, running in plan:
        step = push_and_follow(session, names.pipeline, label, push, approval, timeout,
                               running, audit_bucket=names.artifact_bucket)
        steps.append(step)
        if on_step:
            on_step(step)
    if rehearse_gates:
        for step in gate_rehearsal.rehearse(session, params, names, repo, push_and_follow,
                                            timeout):
            steps.append(step)
            if on_step:
                on_step(step)
    return steps


def run_requested_history(session: AwsSession, params: Params, names: ResourceNames,
                          wait_seconds: float, requested: bool) -> list[HistoryStep]:
    """:func:`run_canonical_history` when the operator asked for it (``push_sample_history``),
    else no step."""
    if not requested:
        return []
    return run_canonical_history(session, params, names, wait_seconds)


def push_and_follow(session: AwsSession, pipeline: str, label: str,
                    push: Callable[[], sample_repo.Commit], approval_summary: str,
                    timeout: float, running: str | None = None,
                    audit_bucket: str = "") -> HistoryStep:
    """Push, wait for the run the push starts (or follow ``running``), approve it when asked,
    and report."""
    known = {e.execution_id for e in summaries.list_executions(session, pipeline)}
    commit = push()
    run_id = running or executions.wait_for_new_execution(session, pipeline, known,
                                                          timeout=60).execution_id
    result = executions.wait_for_execution(session, pipeline, run_id, timeout,
                                           stop_at_approval=True)
    approved = ""
    if not result.finished and approval_summary:
        for pending in pipeline_state.pending_approvals(session, pipeline):
            if pending.execution_id == run_id:
                # Through the cockpit's decision, so the approval lands in the audit trail too.
                approvals.decide(session, pending, "approve", approval_summary, audit_bucket)
                approved = approval_summary
        result = executions.wait_for_execution(session, pipeline, run_id, timeout)
    step = HistoryStep(label, commit, run_id, result.status,
                       pipeline_state.stage_statuses(session, pipeline, run_id),
                       approval_summary=approved)
    failed = executions.failed_action(session, pipeline, run_id)
    if result.status == "Failed" and not failed:
        step.failure_summary = result.status_summary  # a gate, not an action, ended it
    if failed:
        step.failed_action = f"{failed.stage}/{failed.action}"
        step.failure_summary = failed.summary
        if failed.external_id and ":" in failed.external_id:
            step.failing_tests = logs.read_build_log(session, failed.external_id).failing_tests
    return step
