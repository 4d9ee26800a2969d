"""What every notebook does first: parameters in, session and names out, plan shown or applied.

Notebooks call these so that they stay narrative plus calls. Tables, plans and statuses are
displayed as rich objects (:mod:`runbook_lib.views.display`): their text form is what headless
runs (papermill, nbval, logs) always printed, their HTML form is what JupyterLab shows. In
JupyterLab the same calls add widgets (an Apply button under a plan).

The one view that reaches AWS, as the notebook's entry point: :func:`context` opens the session,
:func:`apply_plan` carries out a plan through the plan's own apply functions, and :func:`live`
re-reads an output through the library function it is handed. Every other view only shows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from runbook_lib.core.headless import is_headless
from runbook_lib.core.params import Params, ResourceNames
from runbook_lib.core.plan import Plan
from runbook_lib.core.session import AwsSession
from runbook_lib.views import display
from runbook_lib.views.console import console_links
from runbook_lib.views.review import PlanView

# Console links of the notebook's resources (target aws only); set by context().
_LINKS: dict[str, str] = {}
# Outputs that depend on AWS state, re-rendered in place after an Apply or a decision (by key,
# so re-running a cell replaces its entry instead of adding one).
_LIVE: dict[str, Callable[[], None]] = {}
# Outputs re-rendered after all the others (a table that shows what a followed run changed).
_LIVE_LAST: dict[str, Callable[[], None]] = {}


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
    _LINKS.clear()
    _LINKS.update(console_links(names, params.target))
    return Context(params, session, names)


def show_plan(plan: Plan, apply: bool) -> None:
    """Show the plan; apply it when asked, else offer an Apply button in JupyterLab.

    A refused plan (a resource it would touch is not the suite's) fails headless runs and
    ``apply=True``, so cron and CI notice; in JupyterLab its Apply button is disabled with the
    reason. Returns nothing, so a call at the end of a cell does not display the plan twice.
    """
    display.show(PlanView(plan, _LINKS))
    if plan.refusals and (apply or is_headless()):
        plan.apply()  # raises, naming the resource and the fix
    if apply:
        if plan.has_changes:
            apply_plan(plan)
        return
    if not plan.has_changes and not plan.refusals:
        return
    if is_headless():
        print("plan only: nothing was changed (pass apply=True to apply)")
    else:
        from runbook_lib.views import widgets

        widgets.offer_apply(plan, apply_plan)


def apply_plan(plan: Plan, on_applied: Callable[[], None] | None = None) -> None:
    """The one way a plan is carried out, by ``apply=True`` and by the Apply button alike:
    apply it, say so, then re-render the outputs that show the state it changed."""
    plan.apply()
    print(f"applied: {plan.step}")
    if on_applied is not None:
        on_applied()
    refresh()


def live(key: str, render: Callable[[], display.RichDisplay],
         first: display.RichDisplay | None = None, last: bool = False) -> None:
    """Show ``render()`` (or ``first``, already rendered); in JupyterLab, show it again in place
    after every Apply or decision made in this kernel, so an output never contradicts a click
    (``key`` names the output). ``last``: re-render it after the others, which may follow a
    run the Apply started (13's deployments, after the rollback's outcome)."""
    shown = first if first is not None else render()
    if is_headless():
        display.show(shown)
        return
    from IPython.display import display as ipy_display

    handle = ipy_display(shown, display_id=True)
    (_LIVE_LAST if last else _LIVE)[key] = lambda: handle.update(render())


def refresh() -> None:
    """Re-render every :func:`live` output (after an Apply or a decision); one that cannot be
    read says why in its place instead of a traceback."""
    for key, update in [*_LIVE.items(), *_LIVE_LAST.items()]:
        try:
            update()
        except Exception as err:  # noqa: BLE001 (shown where the output was)
            print(f"could not refresh {key}: {err}")


def next_link(notebook: str, text: str) -> None:
    """The notebook's last line: where to go next, as a link that JupyterLab opens in its own
    area (an open tab is reused)."""
    display.show(display.NextLink(notebook, text))


def next_setup_step(ctx: Context) -> None:
    """A setup notebook's last line: the overview's next step, read again after an Apply."""
    from runbook_lib.operate import overview

    def render() -> display.RichDisplay:
        steps = overview.read_steps_to_next(ctx.session, ctx.params, ctx.names)
        run = (overview.LatestRun() if steps[-1].state in overview.OPEN
               else overview.read_latest_run(ctx.session, ctx.names.pipeline))
        step = overview.next_step(steps, run)
        return display.NextLink(step.notebook, step.text)

    live("next step", render)


def review_plan(plan_fn, ctx: Context) -> Plan:
    """The step's plan; when a resource it would touch is not the suite's, an empty plan that
    carries the refusal instead of an error, so the review shows why Apply is disabled."""
    from runbook_lib.views.review import plan_or_refusal

    step = plan_fn.__name__.removeprefix("plan_").replace("_", " ")
    return plan_or_refusal(step, plan_fn, ctx.session, ctx.params, ctx.names)


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str],
          empty: str = "none yet") -> None:
    """Show a table: fixed-width text headless (readable, diffable), an HTML table in JupyterLab.

    With no rows, ``empty`` says so instead of a header-only table. Returns nothing, so a call
    at the end of a cell shows the table once.
    """
    display.show(display.Table(rows, headers, _LINKS, empty=empty))


def live_table(key: str, rows: Callable[[], Sequence[Sequence[Any]]], headers: Sequence[str],
               empty: str = "none yet", last: bool = False) -> None:
    """A :func:`table` read again after every Apply or decision (see :func:`live`)."""
    live(key, lambda: display.Table(rows(), headers, _LINKS, empty=empty), last=last)


def live_text(key: str, text: Callable[[], str], first: str | None = None) -> None:
    """Printed text read again after every Apply or decision (see :func:`live`)."""
    live(key, lambda: display.Preformatted(text()),
         display.Preformatted(first) if first is not None else None)


def show(obj) -> None:
    """Show a rich display (text headless, HTML in JupyterLab); returns nothing."""
    display.show(obj)


def waiting(label: str):
    """``with nb.waiting("..."):``: a spinner with elapsed time in JupyterLab, a line every few
    seconds headless (outside the cell's outputs); see :mod:`runbook_lib.views.waiting`."""
    from runbook_lib.views import waiting as _waiting

    return _waiting.waiting(label)


def status(state: str, message: str = "") -> None:
    """Show one status with its sentence: a coloured badge with a symbol in JupyterLab."""
    display.show(display.StatusBadge(state, message))


def overview(state) -> None:
    """Show the setup overview (:func:`runbook_lib.operate.overview.read_overview`)."""
    from runbook_lib.views.overview import OverviewView

    display.show(OverviewView(state))


def finding(text: str, state: str = "", title: str = "") -> None:
    """Show a block of text (a failure's details, a verdict) kept as it is, badged in HTML."""
    display.show(display.Preformatted(text, state, title))
