"""The approvals cockpit: evidence, decisions through the local AWS, the audit trail."""

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
    test_counts,
)
from runbook_lib.operate.pipeline_state import PendingApproval
from runbook_lib.operate.rollback import Deployment
from runbook_lib.operate.summaries import ExecutionSummary

# -- pure ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("decision,summary,expected", [
    ("", "", ""),
    ("", "a summary alone decides nothing", ""),
    ("approve", "staging checked", "approve"),
    (" Reject ", "error rate doubled", "reject"),
], ids=["none", "summary-only", "approve", "reject-normalised"])
def test_check_decision_accepts(decision, summary, expected):
    assert approvals.check_decision(decision, summary) == expected


@pytest.mark.parametrize("decision,summary,field", [
    ("approve", "", "summary"),
    ("reject", "   ", "summary"),
    ("ship-it", "looks fine", "decision"),
], ids=["approve-without-summary", "reject-blank-summary", "unknown-decision"])
def test_check_decision_refuses(decision, summary, field):
    with pytest.raises(ParameterError) as err:
        approvals.check_decision(decision, summary)
    assert err.value.field == field
    assert "Fix:" in str(err.value)


TAP = ["TAP version 13", "ok 1 - a", "not ok 2 - b", "1..2", "# tests 2", "# suites 0",
       "# pass 1", "# fail 1", "# skipped 0"]
PYTEST = ["collected 5 items", "FAILED tests/test_x.py::test_y",
          "===== 1 failed, 3 passed, 1 skipped in 0.12s ====="]


@pytest.mark.parametrize("lines,rendered", [
    (TAP, "1 passed, 1 failed (of 2)"),
    (PYTEST, "3 passed, 1 failed, 1 skipped (of 5)"),
    (["npm ci", "built"], "no test summary in the log"),
], ids=["node-tap", "pytest", "none"])
def test_test_summary(lines, rendered):
    assert test_counts.test_summary(lines).render() == rendered


@pytest.mark.parametrize("text,expected", [
    ("", ["p"]),
    ("a, b ,a", ["a", "b"]),
], ids=["default", "comma-list-deduplicated"])
def test_parse_pipelines(text, expected):
    assert approvals.parse_pipelines(text, "p") == expected


def _run(n, commit, message=""):
    from datetime import UTC, datetime
    return ExecutionSummary(f"e{n}", "Succeeded", start_time=datetime(2026, 1, 1, 9, n, tzinfo=UTC),
                            revisions=[{"revisionId": commit, "revisionSummary": message}])


def test_commits_between_lists_what_approving_ships():
    runs = [_run(4, "d" * 40, "fix"), _run(3, "c" * 40, '{"CommitMessage": "break"}'),
            _run(2, "b" * 40, "deployed"), _run(1, "a" * 40, "older")]  # newest first
    production = Deployment("e2", "b" * 40, "deployed")
    current, commits = approvals.commits_between(runs, production, "e4")
    assert current is production
    assert [(c.commit_id[0], c.message) for c in commits] == [("c", "break"), ("d", "fix")]
    assert [c.commit_id[0] for c in approvals.commits_between(runs, None, "e3")[1]] == [
        "a", "b", "c"]


def test_select_needs_one_pending():
    cards = [approvals.ApprovalCard(PendingApproval("p", "S", "A", "t", f"x{i}"),
                                    approvals.Evidence(approvals.Commit(""))) for i in range(2)]
    with pytest.raises(approvals.DecisionError):
        approvals.select([], "")
    with pytest.raises(approvals.DecisionError):
        approvals.select(cards, "")
    assert approvals.select(cards, "x1") is cards[1]


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


def test_widget_buttons_wait_for_a_summary_and_call_decide():
    pytest.importorskip("ipywidgets")
    from runbook_lib.views import approval_widgets

    approval = PendingApproval("p", "Approve-production", "Approve", "tok", "exec-1")
    card = approvals.ApprovalCard(approval, approvals.Evidence(approvals.Commit("a" * 40, "m")))
    calls = []

    def decide(a, choice, summary):
        calls.append((a, choice, summary))
        return audit.AuditRecord("arn:who", "2026-01-01T00:00:00Z", a.pipeline,
                                     a.execution_id, a.stage, a.action, a.token, choice,
                                     summary, "audit/approvals/p/x.json")

    box = approval_widgets.approval_card(card, decide)
    _evidence, summary, buttons, _out = box.children
    approve, reject = buttons.children
    assert (approve.description, reject.description) == ("Approve", "Reject")
    assert summary.placeholder == approval_widgets.SUMMARY_PLACEHOLDER == "Summary (required)"
    assert approve.disabled and reject.disabled
    summary.value = "staging checked"
    assert not approve.disabled and not reject.disabled
    approve.click()
    assert calls == [(approval, "approve", "staging checked")]
    assert approve.disabled and reject.disabled and summary.disabled


def test_past_approvals_and_audit_rows_cover_the_pipelines_asked_for(deployed):
    session, params = deployed
    names = params.names()
    rows = approvals.past_rows_for(session, [names.pipeline])
    assert rows and {r[0] for r in rows} == {names.pipeline}
    assert "first" in [r[5] for r in rows]  # the full stack's first run was approved so
    assert audit.audit_rows_for(session, names.artifact_bucket, ["no-such-pipeline"]) == []
