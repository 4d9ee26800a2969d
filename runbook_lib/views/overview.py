"""The setup overview as a rich display: text for ``runbook status`` and headless runs, HTML
with state badges and links to the notebooks in JupyterLab."""

from __future__ import annotations

import html

from runbook_lib.operate.overview import RUN_HEADERS, STEP_HEADERS, Overview
from runbook_lib.views import display


def _notebook_link(notebook: str) -> str:
    """A relative link: the notebooks sit side by side, in the repo and in the lab workspace."""
    name = html.escape(f"{notebook}.ipynb")
    return f"<a href='{name}' data-notebook='{name}'>{name}</a>"


def headline(overview: Overview) -> str:
    counts: dict[str, int] = {}
    for s in overview.steps:
        counts[s.state] = counts.get(s.state, 0) + 1
    parts = ", ".join(f"{n} {state}" for state, n in counts.items())
    return f"setup of {overview.app_name}: {parts}"


def run_text(overview: Overview) -> str:
    run = overview.run
    if not run.execution_id:
        return f"latest run: none ({run.note})"
    lines = [f"latest run: {run.execution_id} {run.status}"
             + (" (a rollback)" if run.rollback else ""),
             display.text_table(run.stages, RUN_HEADERS)]
    lines += [f"waiting for approval: {a.stage}/{a.action} (execution {a.execution_id})"
              for a in run.approvals]
    return "\n".join(lines)


class OverviewView(display.RichDisplay):
    """Steps with their state, the latest run and its stages, approvals, the next step."""

    def __init__(self, overview: Overview) -> None:
        self.overview = overview

    def text(self) -> str:
        nxt = self.overview.next_step
        return "\n\n".join([
            headline(self.overview),
            display.text_table(self.overview.step_rows(), STEP_HEADERS),
            run_text(self.overview),
            f"next: {nxt.text} ({nxt.notebook}.ipynb)",
        ])

    def _steps_html(self) -> str:
        rows = []
        for s in self.overview.steps:
            title, _notebook, state, count, aspects = s.row()
            rows.append(f"<tr data-step='{html.escape(s.step.name)}'><td>{html.escape(title)}"
                        f"</td><td>{_notebook_link(s.step.notebook)}</td>"
                        f"<td>{display.badge(state)}</td><td>{html.escape(count)}</td>"
                        f"<td>{display.fold(aspects)}</td></tr>")
        head = "".join(f"<th>{h}</th>" for h in STEP_HEADERS)
        return (f"<table class='runbook-view runbook-overview'><thead><tr>{head}</tr></thead>"
                f"<tbody>{''.join(rows)}</tbody></table>")

    def _run_html(self) -> str:
        run = self.overview.run
        if not run.execution_id:
            return f"<p>Latest run: none ({html.escape(run.note)})</p>"
        stages = display.Table(run.stages, RUN_HEADERS).html()
        approvals = "".join(
            f"<p>{display.badge('Waiting', 'waiting for approval')} "
            f"{html.escape(a.stage)}/{html.escape(a.action)}: "
            f"{_notebook_link('11_approvals')}</p>" for a in run.approvals)
        kind = " (a rollback)" if run.rollback else ""
        return (f"<p>Latest run: <code>{html.escape(run.execution_id)}</code> "
                f"{display.badge(run.status)}{kind}</p>{stages}{approvals}")

    def html(self) -> str:
        nxt = self.overview.next_step
        return (f"{display._CSS}<div class='runbook-overview-view'>"
                f"<p><b>{html.escape(headline(self.overview))}</b></p>{self._steps_html()}"
                f"{self._run_html()}<p class='runbook-next'><b>Next:</b> "
                f"{html.escape(nxt.text)} → {_notebook_link(nxt.notebook)}</p></div>")
