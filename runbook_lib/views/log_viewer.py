"""A build log viewer for JupyterLab: search, filter by phase, jump to the first error.

It takes a :class:`~runbook_lib.operate.log_text.BuildLog`
and its :class:`~runbook_lib.operate.triage.Triage`
and never calls AWS. The filtering and windowing are plain functions (tested without a
browser); the widget only wires them to a text box, a dropdown and buttons. Headless,
:func:`show` prints the triage report instead.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from runbook_lib.core import headless
from runbook_lib.operate.log_text import BuildLog, line_phases, shorten_paths
from runbook_lib.operate.triage import Triage, render_text

ALL_PHASES = "all phases"
PAGE_LINES = 60


@dataclass(frozen=True)
class Row:
    number: int  # 1-based line number in the whole log
    phase: str
    text: str
    is_error: bool = False
    is_match: bool = False


def make_rows(log: BuildLog, result: Triage) -> list[Row]:
    """Every line of the log with its phase; the first error line flagged."""
    lines = shorten_paths(log.lines, log.source_dir)
    return [Row(i + 1, phase, text, i == result.error_index)
            for i, (phase, text) in enumerate(zip(line_phases(lines), lines, strict=True))]


def phases_in(rows: list[Row]) -> list[str]:
    """Phases that wrote lines, in order of appearance, after "all phases"."""
    seen: list[str] = []
    for row in rows:
        if row.phase not in seen:
            seen.append(row.phase)
    return [ALL_PHASES, *seen]


def filter_rows(rows: list[Row], query: str = "", phase: str = ALL_PHASES) -> list[Row]:
    """Rows of ``phase`` containing ``query`` (case-insensitive; ``/regex/`` for a regex).

    An invalid regex is searched as plain text rather than raising in the middle of typing.
    """
    match = _matcher(query)
    out = []
    for row in rows:
        if phase not in ("", ALL_PHASES) and row.phase != phase:
            continue
        if query and not match(row.text):
            continue
        out.append(Row(row.number, row.phase, row.text, row.is_error, bool(query)))
    return out


LEAD_LINES = 5  # lines shown above the line jumped to, so it sits near the top of the view


def window(rows: list[Row], around: int | None = None, size: int = PAGE_LINES) -> list[Row]:
    """At most ``size`` rows; with ``around`` (a line number), starting a few lines above it,
    so the line is in the scroll box's first screen (it is not scrolled by a script)."""
    if around is None:
        return rows[:size]
    position = next((i for i, r in enumerate(rows) if r.number >= around), len(rows) - 1)
    start = max(position - LEAD_LINES, 0)
    return rows[start:start + size]


def render_rows(rows: list[Row], query: str = "") -> str:
    """HTML for the rows: line numbers, phase, the error line and search hits highlighted."""
    match = _highlighter(query)
    width = max((len(row.phase) for row in rows), default=0)  # phase names never cut
    body = []
    for row in rows:
        text = match(html.escape(row.text))
        mark = (" class='runbook-log-error' style='background:#f0e442'" if row.is_error
                else "")
        body.append(f"<div{mark}><span style='color:#767676'>{row.number:>5} "
                    f"{html.escape(row.phase):<{width}}</span> {text}</div>")
    if not body:
        body.append("<div><i>no line matches</i></div>")
    return ("<div style='font-family:monospace;white-space:pre;font-size:12px;"
            "max-height:32em;overflow:auto'>" + "".join(body) + "</div>")


def show(log: BuildLog, result: Triage) -> None:
    """Headless: print the triage report. In JupyterLab: the report, then the viewer.

    Returns nothing, so a call at the end of a cell does not display the widget twice.
    """
    print(render_text(result))
    if not headless.is_headless():
        build_widget(log, result)


def build_widget(log: BuildLog, result: Triage):
    import ipywidgets as w
    from IPython.display import display

    rows = make_rows(log, result)
    search = w.Text(placeholder="search (text, or /regex/)", description="Search")
    phase = w.Dropdown(options=phases_in(rows), value=ALL_PHASES, description="Phase",
                       layout=w.Layout(width="auto", min_width="18em"))
    jump = w.Button(description="Jump to first error", icon="arrow-down",
                    disabled=result.error_index is None, layout=w.Layout(width="auto"))
    view = w.HTML()
    status = w.Label()
    state: dict[str, int | None] = {"around": None}

    def _refresh(*_args) -> None:
        shown = filter_rows(rows, search.value, phase.value)
        view.value = render_rows(window(shown, state["around"]), search.value)
        status.value = f"{len(shown)} of {len(rows)} lines"

    def _jump(_btn) -> None:
        if result.error_index is None:  # the button is disabled then
            return
        search.value, phase.value = "", ALL_PHASES
        state["around"] = result.error_index + 1
        _refresh()

    def _typed(_change) -> None:
        state["around"] = None
        _refresh()

    search.observe(_typed, names="value")
    phase.observe(_typed, names="value")
    jump.on_click(_jump)
    _refresh()
    view.add_class("runbook-log-view")
    box = w.VBox([w.HBox([search, phase, jump], layout=w.Layout(flex_flow="row wrap")),
                  status, view])
    display(box)
    return box


def _matcher(query: str):
    pattern = _pattern(query)
    return (lambda text: bool(pattern.search(text))) if pattern else (lambda text: True)


def _highlighter(query: str):
    # escaped text is searched with the escaped query, so the marks never split an entity
    pattern = _pattern(html.escape(query)) if query else None
    if pattern is None:
        return lambda text: text
    return lambda text: pattern.sub(lambda m: f"<mark>{m[0]}</mark>", text)


def _pattern(query: str) -> re.Pattern | None:
    if not query:
        return None
    if len(query) > 2 and query.startswith("/") and query.endswith("/"):
        try:
            return re.compile(query[1:-1], re.IGNORECASE)
        except re.error:
            pass
    return re.compile(re.escape(query), re.IGNORECASE)
