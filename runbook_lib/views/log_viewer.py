"""A build log viewer for JupyterLab: search, filter by phase, jump to the first error.

It takes a :class:`~runbook_lib.operate.logs.BuildLog`
and its :class:`~runbook_lib.operate.triage.Triage`
and never calls AWS. The filtering and windowing are plain functions (tested without a
browser); the widget only wires them to a text box, a dropdown and buttons. Headless,
:func:`show` prints the triage report instead.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from runbook_lib.operate.logs import BuildLog, line_phases
from runbook_lib.operate.triage import Triage, render_text, shorten_paths
from runbook_lib.views import nb

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


def window(rows: list[Row], around: int | None = None, size: int = PAGE_LINES) -> list[Row]:
    """At most ``size`` rows; with ``around`` (a line number), centred on that line."""
    if around is None or len(rows) <= size:
        return rows[:size]
    position = next((i for i, r in enumerate(rows) if r.number >= around), len(rows) - 1)
    start = min(max(position - size // 3, 0), max(len(rows) - size, 0))
    return rows[start:start + size]


def render_rows(rows: list[Row], query: str = "") -> str:
    """HTML for the rows: line numbers, phase, the error line and search hits highlighted."""
    match = _highlighter(query)
    body = []
    for row in rows:
        text = match(html.escape(row.text))
        style = " style='background:#f0e442'" if row.is_error else ""
        body.append(f"<div{style}><span style='color:#999'>{row.number:>5} "
                    f"{row.phase[:10]:<10}</span> {text}</div>")
    if not body:
        body.append("<div><i>no line matches</i></div>")
    return ("<div style='font-family:monospace;white-space:pre;font-size:12px;"
            "max-height:32em;overflow:auto'>" + "".join(body) + "</div>")


def show(log: BuildLog, result: Triage) -> None:
    """Headless: print the triage report. In JupyterLab: the report, then the viewer.

    Returns nothing, so a call at the end of a cell does not display the widget twice.
    """
    print(render_text(result))
    if not nb.is_headless():
        build_widget(log, result)


def build_widget(log: BuildLog, result: Triage):
    import ipywidgets as w
    from IPython.display import display

    rows = make_rows(log, result)
    search = w.Text(placeholder="search (text, or /regex/)", description="Search")
    phase = w.Dropdown(options=phases_in(rows), value=ALL_PHASES, description="Phase")
    jump = w.Button(description="Jump to first error", icon="arrow-down",
                    disabled=result.error_index is None)
    view = w.HTML()
    status = w.Label()
    state = {"around": None}

    def _refresh(*_args) -> None:
        shown = filter_rows(rows, search.value, phase.value)
        view.value = render_rows(window(shown, state["around"]), search.value)
        status.value = f"{len(shown)} of {len(rows)} lines"

    def _jump(_btn) -> None:
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
    box = w.VBox([w.HBox([search, phase, jump]), status, view])
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
