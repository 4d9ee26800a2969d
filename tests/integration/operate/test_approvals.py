"""The approvals cockpit on the local AWS: evidence, decisions, the audit trail."""

from __future__ import annotations

import pytest
from helpers import push_to_approval

from runbook_lib.core.errors import ParameterError
from runbook_lib.operate import (
    approval_history,
    approvals,
    audit,
    executions,
    history,
    sample_repo,
)

# -- through the local AWS ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def deployed(full_stack):
    """One app with one release in production."""
    return full_stack


def _cards(session, params, tail=5):
    names = params.names()
    return approvals.cockpit(session, [names.pipeline], f"Deploy-{params.production_name}",
                             tail)


def test_nothing_pending_changes_nothing(deployed):
    session, params = deployed
    cards = _cards(session, params)
    assert cards == []
    assert "no approval is pending" in approvals.pending_text(cards, [params.names().pipeline])
    session.recorder.reset()
    assert approvals.apply_decision(session, cards, "", "", "",
                                    params.names().artifact_bucket) is None
    assert session.recorder.mutating_count == 0
    with pytest.raises(approvals.DecisionError):
        approvals.apply_decision(session, cards, "approve", "why", "",
                                 params.names().artifact_bucket)
    assert session.recorder.mutating_count == 0


def test_approve_and_reject_with_evidence_and_audit_trail(deployed):
    session, params = deployed
    names = params.names()
    repo = history.ensure_local_repository(session, params)
    deployed_before = approvals.rollback.production_deployments(
        session, names.pipeline, "Deploy-production")[0]

    run = push_to_approval(session, params,
                           lambda: sample_repo.push_release_note(repo, "second", "main"))
    cards = _cards(session, params)
    assert [c.approval.execution_id for c in cards] == [run]
    evidence = cards[0].evidence
    assert evidence.commit.message == "Release note: second"
    assert len(evidence.commit.commit_id) == 40
    assert evidence.build_status == "SUCCEEDED"
    assert evidence.tests.failed == 0 and evidence.tests.passed > 0
    assert len(evidence.log_tail) == 5
    assert evidence.production.commit_id == deployed_before.commit_id
    assert [c.commit_id for c in evidence.changes] == [evidence.commit.commit_id]
    assert "Release note: second" in approvals.render_card(cards[0])

    # A decision without a summary is refused before any call.
    session.recorder.reset()
    with pytest.raises(ParameterError):
        approvals.apply_decision(session, cards, "approve", "", "", names.artifact_bucket)
    assert sum(session.recorder.calls.values()) == 0

    record = approvals.apply_decision(session, cards, "approve", "staging checked", run,
                                      names.artifact_bucket)
    assert record.who.startswith("arn:aws:sts::123456789012:")
    result = executions.wait_for_execution(session, names.pipeline, run, 300)
    assert result.status == "Succeeded"

    rejected = push_to_approval(session, params,
                                lambda: sample_repo.push_release_note(repo, "third", "main"))
    card = approvals.select(_cards(session, params, 0), "")
    assert card.evidence.log_tail == []
    approvals.decide(session, card.approval, "reject", "error rate up in staging",
                     names.artifact_bucket)
    assert executions.wait_for_execution(session, names.pipeline, rejected, 300).status == \
        "Failed"

    trail = audit.read_audit_trail(session, names.artifact_bucket, names.pipeline)
    assert [(r.execution, r.decision, r.summary) for r in trail] == [
        (run, "approve", "staging checked"), (rejected, "reject", "error rate up in staging")]
    assert all(r.key.startswith(f"audit/approvals/{names.pipeline}/") for r in trail)
    assert trail[0].token and trail[0].stage == "Approve-production"
    past = approval_history.past_approvals(session, names.pipeline)
    assert [(p.execution_id, p.summary) for p in past[:2]] == [
        (rejected, "error rate up in staging"), (run, "staging checked")]


def test_past_approvals_and_audit_rows_cover_the_pipelines_asked_for(deployed):
    session, params = deployed
    names = params.names()
    rows = approvals.past_rows_for(session, [names.pipeline])
    assert rows and {r[0] for r in rows} == {names.pipeline}
    assert "first" in [r[5] for r in rows]  # the full stack's first run was approved so
    assert audit.audit_rows_for(session, names.artifact_bucket, ["no-such-pipeline"]) == []
