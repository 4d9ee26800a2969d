"""Rich displays with a plain-text twin: one object, shown as HTML in JupyterLab and as text
everywhere else.

Every object here answers IPython's display protocol (``_repr_mimebundle_``) with two forms:
``text/plain``, exactly the fixed-width text the suite always printed (headless runs, nbval and
logs stay readable and diffable), and ``text/html``, a real table with status badges from the
house palette (colour and symbol, never colour alone), long values folded in ``<details>``, and
resource names linked to the AWS console when a link map is given. The HTML is deterministic
(no ids, no timestamps of its own) so nbval can compare it.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from runbook_lib.views import palette

FOLD_AFTER = 80  # characters; longer or multi-line cell values fold into <details>
STATUS_HEADERS = frozenset({"status", "state", "action", "decision", "severity", "level",
                            "result", "outcome", "change"})
# Statuses unambiguous enough to badge in any column.
_PIPELINE_STATUSES = frozenset({"Succeeded", "Failed", "InProgress", "Stopped", "Stopping",
                                "Superseded", "Abandoned"})
_CSS = ("<style>.runbook-view{border-collapse:collapse;font-size:13px}"
        ".runbook-view th,.runbook-view td{padding:2px 10px!important;text-align:left!important;"
        "vertical-align:top!important;border-bottom:1px solid #ddd}"
        ".runbook-badge{display:inline-block;padding:0 6px;border-radius:3px;"
        "white-space:nowrap}</style>")


class RichDisplay:
    """Base of the displays: subclasses give :meth:`text` and :meth:`html`."""

    def text(self) -> str:
        raise NotImplementedError

    def html(self) -> str:
        raise NotImplementedError

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, str]:
        return {"text/plain": self.text(), "text/html": self.html()}

    def _repr_html_(self) -> str:
        return self.html()

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        return self.text()


def badge(status: str, label: str | None = None) -> str:
    """A status as an HTML badge: the palette's colour behind the symbol and the word."""
    style = palette.style(status)
    shown = html.escape(label if label is not None else status)
    return (f"<span class='runbook-badge' data-status='{html.escape(status)}' "
            f"style='background:{style.colour};color:{style.text_colour}'>"
            f"{style.symbol} {shown}</span>")


def fold(value: str, limit: int = FOLD_AFTER) -> str:
    """Escaped text; long or multi-line values fold into <details> with their first line shown."""
    if len(value) <= limit and "\n" not in value:
        return html.escape(value)
    first = value.split("\n", 1)[0]
    head = first[: limit - 1] + "…" if len(first) > limit else first + " …"
    return (f"<details><summary>{html.escape(head)}</summary>"
            f"<pre style='margin:0'>{html.escape(value)}</pre></details>")


def link_names(escaped: str, links: Mapping[str, str] | None) -> str:
    """Link every resource name of ``links`` found in an escaped cell (longest names first)."""
    if not links:
        return escaped
    for name in sorted(links, key=len, reverse=True):
        token = html.escape(name)
        if token and token in escaped and "<a " not in escaped:
            anchor = (f"<a href='{html.escape(links[name])}' target='_blank' "
                      f"rel='noopener'>{token}</a>")
            return escaped.replace(token, anchor, 1)
    return escaped


def is_status_cell(header: str, value: str) -> bool:
    known = value in palette.STATUS_STYLES
    return known and (header.strip().lower() in STATUS_HEADERS or value in _PIPELINE_STATUSES)


def cell_html(header: str, value: Any, links: Mapping[str, str] | None = None) -> str:
    text = str(value)
    if is_status_cell(header, text):
        return badge(text)
    return link_names(fold(text), links)


def text_table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> str:
    """A fixed-width text table: headers, a rule, rows; trailing spaces trimmed."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
             for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


class Table(RichDisplay):
    """Rows under headers: a fixed-width text table and an HTML <table> with status badges."""

    def __init__(self, rows: Sequence[Sequence[Any]], headers: Sequence[str],
                 links: Mapping[str, str] | None = None, caption: str = "",
                 empty: str = "") -> None:
        self.rows = [list(r) for r in rows]
        self.headers = [str(h) for h in headers]
        self.links = dict(links or {})
        self.caption = caption
        self.empty = empty  # said instead of a header-only table when there are no rows

    def text(self) -> str:
        if not self.rows and self.empty:
            return self.empty
        table = text_table(self.rows, self.headers)
        return f"{self.caption}\n{table}" if self.caption else table

    def html(self) -> str:
        if not self.rows and self.empty:
            return f"{_CSS}<p class='runbook-empty'><i>{html.escape(self.empty)}</i></p>"
        head = "".join(f"<th>{html.escape(h)}</th>" for h in self.headers)
        body = "".join(
            "<tr>" + "".join(f"<td>{cell_html(h, v, self.links)}</td>"
                             for h, v in zip(self.headers, row, strict=False)) + "</tr>"
            for row in self.rows)
        caption = f"<caption>{html.escape(self.caption)}</caption>" if self.caption else ""
        return (f"{_CSS}<table class='runbook-view'>{caption}<thead><tr>{head}</tr></thead>"
                f"<tbody>{body}</tbody></table>")


class StatusBadge(RichDisplay):
    """One status and a sentence: ``✔ Succeeded: ...`` as text, a coloured badge as HTML."""

    def __init__(self, status: str, message: str = "") -> None:
        self.status = status
        self.message = message

    def text(self) -> str:
        return self.message or self.status

    def html(self) -> str:
        message = f" {html.escape(self.message)}" if self.message else ""
        return f"{_CSS}<div>{badge(self.status)}{message}</div>"


class Preformatted(RichDisplay):
    """Text kept as it is (a finding, a failure's details) with a status badge on top in HTML."""

    def __init__(self, text: str, status: str = "", title: str = "") -> None:
        self._text = text
        self.status = status
        self.title = title

    def text(self) -> str:
        return self._text

    def html(self) -> str:
        top = badge(self.status, self.title or None) if self.status else (
            f"<b>{html.escape(self.title)}</b>" if self.title else "")
        return f"{_CSS}<div>{top}<pre>{html.escape(self._text)}</pre></div>"


class NextLink(RichDisplay):
    """A notebook's last line: the next step and a relative link to its notebook, which
    JupyterLab opens in its main area (revealing the tab when it is already open)."""

    def __init__(self, notebook: str, text: str) -> None:
        self.notebook = notebook if notebook.endswith(".ipynb") else f"{notebook}.ipynb"
        self.message = text

    def text(self) -> str:
        return f"next: {self.message} ({self.notebook})"

    def html(self) -> str:
        name = html.escape(self.notebook)
        return (f"<p class='runbook-next'><b>Next:</b> {html.escape(self.message)} → "
                f"<a href='{name}' data-notebook='{name}'>{name}</a></p>")


def show(obj: RichDisplay) -> None:
    """Display in a notebook (both forms); print the text anywhere else."""
    from IPython.display import display

    display(obj)
