"""Executed notebooks as HTML pages: one at a time, or in the background while the next runs.

nbconvert takes seconds to import and a fraction of a second per notebook; `runbook run`
writes each page in a thread of its own while the next notebook executes.
"""

from __future__ import annotations

import functools
import threading
from pathlib import Path
from typing import Any

_EXPORTING = threading.Lock()  # an exporter renders one notebook at a time


@functools.cache
def _exporter(hide_code: bool) -> Any:
    """One exporter per kind of page for the process: a new one compiled its templates again,
    more than half of what a page costs (1.3 s of CPU over a run's sixteen pages)."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter()
    exporter.exclude_input = hide_code
    exporter.exclude_input_prompt = hide_code
    return exporter


def render_html(notebook_path: Path, hide_code: bool = False) -> Path:
    """HTML next to the notebook; ``hide_code`` for reports."""
    import nbformat

    notebook = nbformat.read(notebook_path, as_version=4)
    with _EXPORTING:
        body, _ = _exporter(hide_code).from_notebook_node(notebook)
    target = notebook_path.with_suffix(".html")
    target.write_text(body, encoding="utf-8")
    return target


class HtmlWriter:
    """Writes each executed notebook's HTML in a thread of its own, while the next notebook
    runs; leaving the ``with`` block waits for every page (and raises the first error)."""

    def __enter__(self) -> HtmlWriter:
        from concurrent.futures import ThreadPoolExecutor

        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="runbook-html")
        self._pending: list[Any] = []
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown(wait=True)
        if exc[0] is None:
            for future in self._pending:
                future.result()

    def write(self, result: Any) -> None:
        """Render ``result.path`` (a runner ``NotebookResult``); ``result.html_path`` names the
        page, written by the time the ``with`` block ends."""
        result.html_path = result.path.with_suffix(".html")
        self._pending.append(self._pool.submit(render_html, result.path))
