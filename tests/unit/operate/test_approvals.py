"""The approvals cockpit's pure parts: decisions checked, test summaries, pipelines parsed,
commits an approval ships, the one pending approval, the widget's buttons. Decisions through the
local AWS and the audit trail: tests/integration/operate/test_approvals.py."""

from __future__ import annotations

import pytest

from runbook_lib.core.errors import ParameterError
from runbook_lib.operate import (
    approvals,
    audit,
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
