"""Pages of executed notebooks: code shown or hidden as asked, each page its own notebook's,
with one exporter per kind of page reused across a run."""

from __future__ import annotations

import nbformat
from nbformat.v4 import new_code_cell, new_notebook, new_output

from runbook_lib.app import html_pages


def _notebook(path, code: str, printed: str):
    cell = new_code_cell(code, outputs=[new_output("stream", name="stdout", text=printed)])
    nbformat.write(new_notebook(cells=[cell]), path)
    return path


def test_pages_show_or_hide_code_and_hold_only_their_own_notebook(tmp_path):
    html_pages._exporter.cache_clear()
    first = html_pages.render_html(_notebook(tmp_path / "one.ipynb", "x_alphacode = 1",
                                             "ALPHAOUT"))
    second = html_pages.render_html(_notebook(tmp_path / "two.ipynb", "x_betacode = 2",
                                              "BETAOUT"))
    report = html_pages.render_html(_notebook(tmp_path / "rep.ipynb", "x_gammacode = 3",
                                              "GAMMAOUT"), hide_code=True)
    one, two, rep = (p.read_text() for p in (first, second, report))
    assert "x_alphacode" in one and "ALPHAOUT" in one and "BETA" not in one
    assert "x_betacode" in two and "BETAOUT" in two and "ALPHA" not in two
    assert "GAMMAOUT" in rep and "x_gammacode" not in rep
    assert first == tmp_path / "one.html"
    info = html_pages._exporter.cache_info()
    assert (info.misses, info.hits) == (2, 1)  # one exporter per kind of page
