"""The approvals cockpit: what is waiting for a decision, the evidence for it, and the decision.

An approver should not have to open five consoles to decide: the commit, the build and its
tests, the end of the build log, the staging URL and what production would gain are gathered
here. Every decision goes to the audit trail (:mod:`.audit`), beside CodePipeline's own record.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from runbook_lib.core.errors import ParameterError, RunbookError, StepError
from runbook_lib.core.session import AwsSession
from runbook_lib.operate import logs, pipeline_state, revisions, rollback, summaries, test_reports
from runbook_lib.operate.approval_history import past_approvals, past_rows
from runbook_lib.operate.audit import AuditRecord, operator_identity, write_audit_record
from runbook_lib.operate.pipeline_state import PendingApproval
from runbook_lib.operate.test_counts import TestSummary, test_summary

DECISIONS = ("approve", "reject")
_SUMMARY_EXAMPLE = "staging checked: greeting fixed, error rate flat"


class DecisionError(RunbookError):
    """A decision cannot be applied as asked (nothing pending, or which one is ambiguous)."""


# -- parameters (checked before any AWS call) ---------------------------------------------------


def check_decision(decision: str, summary: str) -> str:
    """'' (no decision: report only), 'approve' or 'reject'; a decision needs a summary."""
    choice = (decision or "").strip().lower()
    if not choice:
        return ""
    if choice not in DECISIONS:
        raise ParameterError("decision", decision, "must be approve, reject or empty (report "
                             "only)", "approve")
    if not (summary or "").strip():
        raise ParameterError("summary", summary, f"a decision to {choice} needs a summary: it "
                             "goes to CodePipeline and the audit trail", _SUMMARY_EXAMPLE)
    return choice


def parse_pipelines(pipelines: str, default: str) -> list[str]:
    """A comma list of pipeline names; empty means the app's own pipeline."""
    names = [p.strip() for p in (pipelines or "").split(",") if p.strip()]
    return list(dict.fromkeys(names)) or [default]


# -- evidence ---------------------------------------------------------------------------------


@dataclass
class Commit:
    commit_id: str
    message: str = ""

    def describe(self) -> str:
        return f"{self.commit_id[:rollback.SHORT_SHA]} {self.message}".rstrip()


@dataclass
class Evidence:
    """What an approver needs to decide about one pending approval."""

    commit: Commit
    build_id: str = ""
    build_status: str = ""
    tests: TestSummary = field(default_factory=TestSummary)
    failing_tests: list[str] = field(default_factory=list)
    log_tail: list[str] = field(default_factory=list)
    review_url: str = ""
    custom_data: str = ""
    production: rollback.Deployment | None = None  # what production runs now
    changes: list[Commit] = field(default_factory=list)  # since that deployment, oldest first


@dataclass
class ApprovalCard:
    approval: PendingApproval
    evidence: Evidence

    @property
    def title(self) -> str:
        a = self.approval
        return f"{a.pipeline} / {a.stage} / {a.action}, execution {a.execution_text}"


def pending(session: AwsSession, pipelines: list[str]) -> list[PendingApproval]:
    """Every approval waiting for an answer on the given pipelines, those whose token the
    state does not show included (they cannot be answered from here: see
    :data:`.pipeline_state.TOKEN_MISSING`)."""
    found: list[PendingApproval] = []
    for pipeline in pipelines:
        try:
            state = pipeline_state.read_state(session, pipeline)
            found.extend(pipeline_state.pending_in(session, pipeline, state))
            found.extend(pipeline_state.approvals_without_token(session, pipeline, state))
        except ClientError as err:
            if err.response["Error"]["Code"] == "PipelineNotFoundException":
                raise StepError(f"pipeline {pipeline} not found; fix the pipelines parameter "
                                "(a comma list of pipeline names) or set it up with notebook 7"
                                ) from err
            raise StepError(f"get pipeline state {pipeline}: {err}") from err
    return found


def cockpit(session: AwsSession, pipelines: list[str], production_stage: str,
            log_tail_lines: int = 20) -> list[ApprovalCard]:
    """One card per pending approval, with its evidence."""
    return [ApprovalCard(a, gather_evidence(session, a, production_stage, log_tail_lines))
            for a in pending(session, pipelines)]


def gather_evidence(session: AwsSession, approval: PendingApproval, production_stage: str,
                    log_tail_lines: int = 20) -> Evidence:
    """Commit, build, tests, log tail, review URL and changes since production, read from the
    execution's action executions (one paginated listing) and the build's log. An approval
    whose execution is unknown gets no evidence rather than requests with an empty id."""
    evidence = Evidence(Commit(""))
    if not approval.execution_id:
        return evidence
    for item in _action_executions(session, approval.pipeline, approval.execution_id):
        _note_action(evidence, approval, item)
    if not evidence.commit.commit_id:
        summary = summaries.get_execution(session, approval.pipeline, approval.execution_id)
        evidence.commit = Commit(summary.commit_id, summary.commit_message)
    if evidence.build_id:
        build = logs.read_build_log(session, evidence.build_id)
        evidence.build_status = build.status
        evidence.tests = test_summary(build.lines)
        evidence.failing_tests = build.failing_tests
        reports = test_reports.read_test_reports(session, evidence.build_id)
        if reports.found:  # the build's test reports are exact; the log is a guess
            evidence.tests = TestSummary(*reports.counts)
            evidence.failing_tests = reports.names() or evidence.failing_tests
        evidence.log_tail = build.lines[-log_tail_lines:] if log_tail_lines > 0 else []
    evidence.production, evidence.changes = changes_since_production(
        session, approval.pipeline, approval.execution_id, production_stage)
    return evidence


def _note_action(evidence: Evidence, approval: PendingApproval, item: dict[str, Any]) -> None:
    """What one action execution adds: the commit (Source), the build id (Build), the review
    link and question (the approval itself)."""
    given = item.get("input") or {}
    category = (given.get("actionTypeId") or {}).get("category")
    if category == "Source" and not evidence.commit.commit_id:
        source = revisions.source_commit(item)
        if source:
            evidence.commit = Commit(source.commit_id, source.message)
    elif category == "Build":
        result = (item.get("output") or {}).get("executionResult") or {}
        build_id = result.get("externalExecutionId") or ""
        if ":" in build_id and not evidence.build_id:
            evidence.build_id = build_id
    elif (item.get("stageName"), item.get("actionName")) == (approval.stage, approval.action):
        config = given.get("resolvedConfiguration") or given.get("configuration") or {}
        evidence.review_url = config.get("ExternalEntityLink", "")
        evidence.custom_data = config.get("CustomData", "")


def changes_since_production(session: AwsSession, pipeline: str, execution_id: str,
                             production_stage: str
                             ) -> tuple[rollback.Deployment | None, list[Commit]]:
    """What production runs now, and the commits of the runs started after it up to this one
    (oldest first, once each): what approving would ship."""
    deployments = [d for d in rollback.production_deployments(session, pipeline,
                                                              production_stage)
                   if d.execution_id != execution_id]
    runs = summaries.list_executions(session, pipeline, limit=200)
    return commits_between(runs, deployments[0] if deployments else None, execution_id)


def commits_between(runs: list[summaries.ExecutionSummary],
                    production: rollback.Deployment | None, execution_id: str
                    ) -> tuple[rollback.Deployment | None, list[Commit]]:
    """Pure part of :func:`changes_since_production`; ``runs`` newest first."""
    by_id = {r.execution_id: r for r in runs}
    current = by_id.get(execution_id)
    if current is None:
        return production, []
    floor = by_id.get(production.execution_id) if production else None
    commits: dict[str, Commit] = {}
    for run in sorted(runs, key=lambda r: r.start_time.timestamp() if r.start_time else 0):
        if floor is not None and floor.start_time and run.start_time and \
                run.start_time <= floor.start_time:
            continue
        if run.start_time and current.start_time and run.start_time > current.start_time:
            continue
        commit_id = run.commit_id
        if not commit_id or (production and commit_id == production.commit_id):
            continue
        commits.setdefault(commit_id, Commit(commit_id, run.commit_message))
    return production, list(commits.values())


def _action_executions(session: AwsSession, pipeline: str,
                       execution_id: str) -> list[dict[str, Any]]:
    paginator = session.client("codepipeline").get_paginator("list_action_executions")
    out: list[dict[str, Any]] = []
    try:
        for page in paginator.paginate(pipelineName=pipeline,
                                       filter={"pipelineExecutionId": execution_id}):
            out.extend(page.get("actionExecutionDetails") or [])
    except ClientError as err:
        raise StepError(f"list action executions of {pipeline} {execution_id}: {err}") from err
    out.sort(key=lambda item: item.get("startTime") or datetime.min.replace(tzinfo=UTC))
    return out


def render_card(card: ApprovalCard) -> str:
    """The evidence as plain text (headless output, and the widget's card body)."""
    if not card.approval.answerable:
        return (f"waiting, token not visible: {card.title}\n  the run waits on this approval; "
                + pipeline_state.TOKEN_MISSING)
    e = card.evidence
    build = (f"{e.build_status or 'unknown'} ({e.build_id})" if e.build_id
             else "no CodeBuild action in this run")
    lines = [
        f"pending: {card.title}",
        f"  commit:  {e.commit.describe() or '(unknown)'}",
        f"  build:   {build}",
        f"  tests:   {e.tests.render()}"
        + (f"; failing: {', '.join(e.failing_tests)}" if e.failing_tests else ""),
        f"  review:  {e.review_url or '(no review URL: set review_url in notebook 7)'}",
    ]
    if e.custom_data:
        lines.append(f"  asks:    {e.custom_data}")
    if e.production:
        lines.append(f"  production runs {e.production.describe()} (execution "
                     f"{e.production.execution_id}); approving ships:")
    else:
        lines.append("  nothing deployed to production yet; approving ships:")
    lines.extend(f"    {c.describe() or '(commit unknown)'}" for c in e.changes or [e.commit])
    if e.log_tail:
        lines.append(f"  build log, last {len(e.log_tail)} lines:")
        lines.extend(f"    | {line}" for line in e.log_tail)
    return "\n".join(lines)


def pending_text(cards: list[ApprovalCard], pipelines: list[str]) -> str:
    if not cards:
        return f"no approval is pending on {', '.join(pipelines)}"
    return "\n\n".join(render_card(c) for c in cards)


# -- decisions --------------------------------------------------------------------------------


def decide(session: AwsSession, approval: PendingApproval, decision: str, summary: str,
           audit_bucket: str) -> AuditRecord:
    """Answer the approval (PutApprovalResult), then append the decision to the audit trail."""
    choice = check_decision(decision, summary)
    if not choice:
        raise ParameterError("decision", decision, "must be approve or reject", "approve")
    who = operator_identity(session)
    pipeline_state.answer_approval(session, approval, choice == "approve", summary.strip())
    return write_audit_record(
        session, audit_bucket, f"the approval was {choice}d in CodePipeline", who=who,
        pipeline=approval.pipeline, execution=approval.execution_id, stage=approval.stage,
        action=approval.action, token=approval.token, decision=choice, summary=summary.strip())


def decider(session: AwsSession, audit_bucket: str
            ) -> Callable[[PendingApproval, str, str], AuditRecord]:
    """:func:`decide` bound to a session and bucket, for the widget's buttons."""
    return functools.partial(decide, session, audit_bucket=audit_bucket)


def select(cards: list[ApprovalCard], execution_id: str = "") -> ApprovalCard:
    """The card a headless decision is about: the only one, or the one ``execution_id`` names."""
    if execution_id:
        chosen = [c for c in cards if c.approval.execution_id == execution_id]
        if not chosen:
            raise DecisionError(f"no approval is pending for execution {execution_id}; pending: "
                                f"{', '.join(c.approval.execution_id for c in cards) or 'none'}")
        cards = chosen
    if not cards:
        raise DecisionError("a decision was given but no approval is pending, so nothing was "
                            "changed; check the pipelines parameter, or run notebook 9 first")
    if len(cards) > 1:
        raise DecisionError(
            f"{len(cards)} approvals are pending; say which with execution_id=... (one of "
            f"{', '.join(c.approval.execution_id for c in cards)})")
    if not cards[0].approval.answerable:
        raise DecisionError(f"nothing was changed: {cards[0].title} waits on an approval, but "
                            + pipeline_state.TOKEN_MISSING)
    return cards[0]


def apply_decision(session: AwsSession, cards: list[ApprovalCard], decision: str,
                   summary: str, execution_id: str, audit_bucket: str) -> AuditRecord | None:
    """The headless path: no decision changes nothing (no call at all); otherwise decide the
    selected approval."""
    choice = check_decision(decision, summary)
    if not choice:
        return None
    card = select(cards, execution_id)
    return decide(session, card.approval, choice, summary, audit_bucket)


def decision_text(record: AuditRecord | None, bucket: str, interactive: bool = False) -> str:
    """The headless decision's outcome; in JupyterLab, where the cards' buttons decide, it
    points at them instead of saying that nothing was decided."""
    if record is None and interactive:
        return ("no decision parameter given: decide on the cards above; each decision is "
                "shown on its card and in the tables below")
    if record is None:
        return ("no decision given: nothing was changed (pass decision=approve or reject, and "
                "a summary)")
    return (f"{record.decision}d {record.pipeline} execution {record.execution} "
            f"({record.stage}/{record.action}) as {record.who}: {record.summary}\n"
            f"audit record: s3://{bucket}/{record.key}")


def past_rows_for(session: AwsSession, pipelines: list[str]) -> list[tuple[str, ...]]:
    """:data:`PAST_HEADERS` rows of each pipeline's recent approvals, pipeline by pipeline."""
    return [row for name in pipelines for row in past_rows(past_approvals(session, name))]
