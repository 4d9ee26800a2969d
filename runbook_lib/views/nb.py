"""What every notebook does first: parameters in, session and names out, plan shown or applied.

Notebooks call these so that they stay narrative plus calls. Headless runs (papermill, nbval)
print plain text; in JupyterLab the same calls show widgets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from runbook_lib.core.headless import is_headless
from runbook_lib.core.params import Params, ResourceNames
from runbook_lib.core.plan import Plan
from runbook_lib.core.session import AwsSession


@dataclass
class Context:
    """Parameters, session and derived names for one notebook run."""

    params: Params
    session: AwsSession
    names: ResourceNames


def context(namespace: Mapping[str, Any]) -> Context:
    """Validate the notebook's parameters (before any AWS call), then open a session."""
    params = Params.from_mapping(namespace)
    session = AwsSession.from_params(params)
    names = params.names(session.account_id())
    return Context(params, session, names)


def show_plan(plan: Plan, apply: bool) -> None:
    """Print the plan; apply it when asked, else offer an Apply button in JupyterLab.

    Returns nothing, so a call at the end of a cell does not display the plan a second time.
    """
    print(plan.render())
    if apply:
        if plan.has_changes:
            plan.apply()
            print(f"applied: {plan.step}")
        return
    if not plan.has_changes:
        return
    if is_headless():
        print("plan only: nothing was changed (pass apply=True to apply)")
    else:
        from runbook_lib.views import widgets

        widgets.offer_apply(plan)


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> None:
    """Print a fixed-width text table: headless outputs stay readable and diffable.

    Returns nothing, so a call at the end of a cell shows the table once.
    """
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
             for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    print("\n".join(lines))
