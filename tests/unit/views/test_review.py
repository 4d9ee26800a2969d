"""Plans as a review: the text twin is Plan.render, the HTML groups by resource, puts the
counts on top and a unified diff under document updates; refused plans cannot be applied.
Against the local AWS: tests/integration/views/test_review.py."""

from __future__ import annotations

import pytest

from runbook_lib.core import plan as plans
from runbook_lib.core.errors import NotOwnedError, RunbookError
from runbook_lib.core.plan import Plan
from runbook_lib.views import review


def _noop() -> None:
    return None


def _bucket_plan() -> Plan:
    plan = Plan("artifact bucket")
    plan.add(plans.unchanged("s3 bucket b1"))
    plan.add(plans.update("s3 bucket b1 versioning", ["versioning: Suspended -> Enabled"], _noop))
    plan.add(plans.unchanged("s3 bucket b1 encryption"))
    plan.add(plans.converge("role policy p", {"Statement": [{"Action": "s3:Get*"}]},
                            {"Statement": [{"Action": "s3:GetObject"}]}, _noop, _noop))
    plan.add(plans.create("SNS topic t", _noop))
    return plan


def test_text_twin_is_plan_render():
    plan = _bucket_plan()
    assert review.PlanView(plan).text() == plan.render()


def test_summary_line_counts_only_what_is_there():
    assert review.summary_line(_bucket_plan()) == "1 to create, 2 to update, 2 unchanged"


def test_changes_are_grouped_by_resource():
    groups = review.group_changes(_bucket_plan())
    assert [(g.resource, len(g.changes)) for g in groups] == [
        ("s3 bucket b1", 3), ("role policy p", 1), ("SNS topic t", 1)]
    assert groups[0].aspect(groups[0].changes[1]) == "versioning"


def test_document_updates_get_a_unified_diff():
    change = _bucket_plan().changes[3]
    diff = review.unified_diff(change)
    assert '-      "Action": "s3:Get*"' in diff and '+      "Action": "s3:GetObject"' in diff
    assert review.unified_diff(plans.update("x", ["a -> b"], _noop)) == ""
    buildspec = plans.update("build project p", ["buildspec"], _noop,
                             "phases:\n  build:\n    - npm test\n",
                             "phases:\n  build:\n    - npm ci\n")
    assert "-    - npm test" in review.unified_diff(buildspec)


def test_html_has_summary_groups_badges_and_diff():
    markup = review.PlanView(_bucket_plan()).html()
    assert markup.index("1 to create, 2 to update") < markup.index("<table")
    assert markup.count("<th colspan='3'>") == 3
    assert "data-status='update'" in markup and "data-status='create'" in markup
    assert "unified diff" in markup
    assert markup == review.PlanView(_bucket_plan()).html()


def _refuse(*_args):
    raise NotOwnedError("s3 bucket b1", "runbook:app", "sample-app")


def test_a_plan_touching_a_resource_not_owned_is_refused():
    plan = review.plan_or_refusal("artifact bucket", _refuse)
    reason = review.apply_blocked_reason(plan)
    assert "s3 bucket b1 exists but is not managed by this suite" in reason
    assert "refused: s3 bucket b1" in review.PlanView(plan).text()
    assert "data-status='not owned'" in review.PlanView(plan).html()
    with pytest.raises(RunbookError, match="was not applied"):
        plan.apply()


def test_an_owned_plan_is_not_blocked():
    plan = review.plan_or_refusal("artifact bucket", _bucket_plan)
    assert review.apply_blocked_reason(plan) == "" and len(plan.changes) == 5


def test_the_apply_button_is_disabled_with_the_reason(capsys):
    pytest.importorskip("ipywidgets")
    from runbook_lib.views import nb, widgets

    box = widgets.offer_apply(review.plan_or_refusal("artifact bucket", _refuse), nb.apply_plan)
    button, note = box.children
    assert button.disabled and "not managed by this suite" in button.tooltip
    assert "Apply is disabled" in note.value
    open_box = widgets.offer_apply(_bucket_plan(), nb.apply_plan)
    assert not open_box.children[0].disabled


def test_the_unified_diff_never_shows_a_secret():
    secret = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
    change = plans.converge(
        "build project p",
        {"environment": {"environmentVariables": [
            {"name": "API_TOKEN", "value": "old-value", "type": "PLAINTEXT"},
            {"name": "DB_URL", "value": "/app/db", "type": "PARAMETER_STORE"}]}},
        {"environment": {"environmentVariables": [
            {"name": "API_TOKEN", "value": secret, "type": "PLAINTEXT"},
            {"name": "DB_URL", "value": "/app/db2", "type": "PARAMETER_STORE"}]}},
        _noop, _noop)
    view = review.PlanView(Plan("p", [change]))
    shown = review.unified_diff(change) + view.html() + view.text()
    assert secret not in shown and "old-value" not in shown
    assert "/app/db2" in review.unified_diff(change)  # a reference is not a secret
