"""ipywidgets for guided mode in JupyterLab; they render library results and never call AWS
themselves (the callbacks they run are the library's)."""

from __future__ import annotations

import html
from collections.abc import Callable

from runbook_lib.core.plan import Plan

# How a plan is carried out: ``apply(plan, on_applied)`` (``nb.apply_plan``, the same call as
# ``apply=True``), handed in so that this module does not import ``nb``, which imports it.
ApplyPlan = Callable[[Plan, Callable[[], None]], None]


def offer_apply(plan: Plan, apply: ApplyPlan):
    """An Apply button under a plan; clicking it applies the plan with ``apply`` and shows the
    outcome.

    The button is disabled, with the reason beside it, when the plan would touch a resource the
    suite does not own.
    """
    import ipywidgets as w
    from IPython.display import display

    from runbook_lib.views.review import apply_blocked_reason

    blocked = apply_blocked_reason(plan)
    button = w.Button(description=f"Apply {plan.step}", button_style="primary",
                      icon="check", tooltip=blocked or "carry out the changes shown above",
                      disabled=bool(blocked), layout=w.Layout(width="auto"))
    output = w.Output()
    if blocked:
        box = w.VBox([button, w.HTML(f"<i>Apply is disabled: {html.escape(blocked)}</i>")])
        display(box)
        return box

    def _applied() -> None:
        button.description = "Applied"
        button.button_style = "success"

    def _on_click(_btn) -> None:
        button.disabled = True
        with output:
            try:
                apply(plan, _applied)
            except Exception as err:  # show it in the notebook, allow another try
                print(f"apply failed: {err}")
                button.disabled = False
                button.button_style = "danger"

    button.on_click(_on_click)
    box = w.VBox([button, output])
    display(box)
    return box
