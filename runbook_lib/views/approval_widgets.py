"""The approvals cockpit in JupyterLab: one card per pending approval, with its evidence, a
required summary and Approve / Reject buttons.

The widgets render :class:`~runbook_lib.operate.approvals.ApprovalCard` and never
call AWS: a click runs the ``decide`` callback it was given
(:func:`runbook_lib.operate.approvals.decider`). The buttons'
descriptions ("Approve", "Reject") and the summary box's placeholder are stable, because the
browser test finds them by those.
"""

from __future__ import annotations

import html
from collections.abc import Callable

from runbook_lib.operate.approvals import ApprovalCard, pending_text, render_card
from runbook_lib.operate.audit import AuditRecord
from runbook_lib.operate.pipeline_state import PendingApproval

SUMMARY_PLACEHOLDER = "Summary (required)"
Decide = Callable[[PendingApproval, str, str], AuditRecord]


def show_cockpit(cards: list[ApprovalCard], pipelines: list[str], decide: Decide,
                 headless: bool) -> None:
    """Print the evidence headless; in JupyterLab show a card per pending approval.

    Returns nothing, so a call at the end of a cell shows the cards once (no repr of them).
    """
    if headless or not cards:
        print(pending_text(cards, pipelines))
        return
    from IPython.display import display

    for card in cards:
        if card.approval.answerable:
            display(approval_card(card, decide))
        else:  # no buttons for an approval whose token is not visible: say why
            print(render_card(card))


def approval_card(card: ApprovalCard, decide: Decide):
    """Evidence, a summary box and the two buttons; disabled until a summary is typed."""
    import ipywidgets as w

    evidence = w.HTML(f"<pre style='white-space: pre-wrap'>{html.escape(render_card(card))}"
                      "</pre>")
    summary = w.Textarea(placeholder=SUMMARY_PLACEHOLDER, continuous_update=True,
                         layout=w.Layout(width="100%"))
    approve = w.Button(description="Approve", button_style="success", icon="check",
                       disabled=True, tooltip="approve with the summary above")
    reject = w.Button(description="Reject", button_style="danger", icon="times",
                      disabled=True, tooltip="reject with the summary above")
    result = w.Output()
    state = {"decided": False}

    def _sync(_change=None) -> None:
        ready = bool(summary.value.strip()) and not state["decided"]
        approve.disabled = reject.disabled = not ready

    def _click(choice: str) -> None:
        approve.disabled = reject.disabled = True
        with result:
            try:
                record = decide(card.approval, choice, summary.value)
            except Exception as err:  # shown in the card; the operator may try again
                print(f"{choice} failed: {err}")
                _sync()
                return
            state["decided"] = True
            summary.disabled = True
            print(f"{record.decision}d by {record.who} at {record.when}: {record.summary}")
            print(f"audit record: {record.key}")
        from runbook_lib.views import nb

        nb.refresh()  # the tables of answered approvals and of the audit trail

    summary.observe(_sync, names="value")
    approve.on_click(lambda _b: _click("approve"))
    reject.on_click(lambda _b: _click("reject"))
    box = w.VBox([evidence, summary, w.HBox([approve, reject]), result],
                 layout=w.Layout(border="1px solid #999", padding="6px", margin="6px 0"))
    box.add_class("runbook-approval-card")
    return box
