"""The log viewer's logic (rows, phase filter, search, windowing, HTML) without a browser."""

from __future__ import annotations

import pytest

from runbook_lib.operate import triage
from runbook_lib.operate.log_text import BuildLog
from runbook_lib.views import log_viewer

C = "[Container] 2026/11/27 11:01:25.010355 "
LINES = [C + "Phase is DOWNLOAD_SOURCE", C + "Entering phase INSTALL", "npm ci", "added 3",
         C + "Entering phase PRE_BUILD", "npm test", "not ok 1 - greets <b>", "# fail 1"]


@pytest.fixture
def rows():
    log = BuildLog("p:1", "FAILED", "g", "s", list(LINES), "PRE_BUILD",
                   "Error while executing command: npm test. Reason: exit status 1")
    return log_viewer.make_rows(log, triage.triage_build(log))


def test_rows_carry_phase_and_the_first_error(rows):
    assert [r.phase for r in rows] == ["DOWNLOAD_SOURCE", "INSTALL", "INSTALL", "INSTALL",
                                       "PRE_BUILD", "PRE_BUILD", "PRE_BUILD", "PRE_BUILD"]
    assert [r.number for r in rows if r.is_error] == [7]
    assert log_viewer.phases_in(rows) == [log_viewer.ALL_PHASES, "DOWNLOAD_SOURCE", "INSTALL",
                                          "PRE_BUILD"]


@pytest.mark.parametrize("case, query, phase, numbers", [
    ("everything", "", log_viewer.ALL_PHASES, [1, 2, 3, 4, 5, 6, 7, 8]),
    ("one phase", "", "INSTALL", [2, 3, 4]),
    ("search is case-insensitive", "NPM", log_viewer.ALL_PHASES, [3, 6]),
    ("search within a phase", "npm", "PRE_BUILD", [6]),
    ("regex", r"/^not ok \d+/", log_viewer.ALL_PHASES, [7]),
    ("broken regex is plain text", "/[/", log_viewer.ALL_PHASES, []),
    ("no match", "zzz", log_viewer.ALL_PHASES, []),
])
def test_filter_rows(rows, case, query, phase, numbers):
    shown = log_viewer.filter_rows(rows, query, phase)
    assert [r.number for r in shown] == numbers, case
    assert all(r.is_match for r in shown) == bool(query) or not shown


@pytest.mark.parametrize("around, size, first, last", [
    (None, 10, 1, 10), (50, 10, 45, 54), (100, 10, 95, 100), (2, 10, 1, 10), (None, 200, 1, 100),
])
def test_window_starts_just_above_the_line(around, size, first, last):
    """The line jumped to is the sixth shown, so it is in the scroll box's first screen."""
    rows = [log_viewer.Row(i, "BUILD", f"l{i}") for i in range(1, 101)]
    shown = log_viewer.window(rows, around, size)
    assert (shown[0].number, shown[-1].number) == (first, last)


def test_html_escapes_highlights_and_marks_the_error(rows):
    markup = log_viewer.render_rows(log_viewer.filter_rows(rows, "greets"), "greets")
    assert "<mark>greets</mark> &lt;b&gt;" in markup
    assert "background:#f0e442" in markup
    assert "no line matches" in log_viewer.render_rows([], "x")


def test_phase_names_are_not_cut():
    rows = [log_viewer.Row(1, "DOWNLOAD_SOURCE", "a"), log_viewer.Row(2, "UPLOAD_ARTIFACTS", "b")]
    markup = log_viewer.render_rows(rows)
    assert "DOWNLOAD_SOURCE " in markup and "UPLOAD_ARTIFACTS" in markup


def test_show_prints_the_report_headless(monkeypatch, capsys):
    monkeypatch.setenv("RUNBOOK_HEADLESS", "1")
    log = BuildLog("p:1", "FAILED", "g", "s", list(LINES), "PRE_BUILD",
                   "Error while executing command: npm test. Reason: exit status 1")
    assert log_viewer.show(log, triage.triage_build(log)) is None
    out = capsys.readouterr().out
    assert "classification   test failure" in out and ">    7 | not ok 1 - greets <b>" in out


def test_widget_builds_and_jumps_without_aws(monkeypatch):
    pytest.importorskip("ipywidgets")
    monkeypatch.setattr("IPython.display.display", lambda *_a, **_k: None)
    log = BuildLog("p:1", "FAILED", "g", "s", [f"line {i}" for i in range(300)] + ["Error: x"],
                   "BUILD", "")
    box = log_viewer.build_widget(log, triage.triage_build(log))
    (search, _phase, jump), status, view = box.children[0].children, *box.children[1:]
    assert status.value == "301 of 301 lines" and "line 0" in view.value
    jump.click()
    assert "Error: x" in view.value and "line 0<" not in view.value
    search.value = "line 29"
    assert status.value.startswith("11 of")
