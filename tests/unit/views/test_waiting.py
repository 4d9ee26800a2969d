"""Waits show their elapsed time: lines headless, a spinner on a terminal, nothing under 1 s."""

from __future__ import annotations

import io

import pytest
from helpers import wait_until

from runbook_lib.views import waiting


@pytest.mark.parametrize(("seconds", "text"), [
    (0.4, "0 s"), (12.9, "12 s"), (60, "1 min 00 s"), (185, "3 min 05 s"),
], ids=["under-a-second", "seconds", "a-minute", "minutes"])
def test_elapsed_text(seconds, text):
    assert waiting.elapsed_text(seconds) == text


def test_headless_lines_every_few_seconds():
    out = io.StringIO()
    with waiting.log_lines("building", out, every=0.1, first=0.1) as shown:
        wait_until(lambda: shown.lines >= 2, timeout=10, what="two progress lines")
    text = out.getvalue()
    assert text.startswith("\n"), "the first line leaves the runner's open title line"
    lines = text.lstrip("\n").splitlines()
    assert len(lines) >= 2
    assert all(line.startswith("building: still waiting (") for line in lines)


def test_a_quick_block_shows_nothing():
    out = io.StringIO()
    with waiting.log_lines("quick", out, every=0.1, first=5):
        pass
    with waiting.terminal_spinner(out):
        pass
    assert out.getvalue() == ""


def test_terminal_spinner_erases_itself(monkeypatch):
    monkeypatch.setattr(waiting, "FIRST_AFTER", 0.05)
    monkeypatch.setattr(waiting, "TICK", 0.05)
    out = io.StringIO()
    with waiting.terminal_spinner(out):
        wait_until(lambda: " s" in out.getvalue(), timeout=10, what="the spinner drawn")
    text = out.getvalue()
    assert any(frame in text for frame in waiting.SPINNER) and " s" in text
    assert text.endswith("\b")  # the last write moves back over the erased spinner


def test_headless_waiting_never_writes_to_the_cell_output(capsys, monkeypatch):
    """Lines go to the process's own stderr, which a kernel does not send to the notebook."""
    process_stderr = io.StringIO()
    monkeypatch.setattr(waiting.sys, "__stderr__", process_stderr)
    monkeypatch.setattr(waiting, "LINE_EVERY", 0.05)
    with waiting.waiting("report", headless=True):
        wait_until(lambda: "still waiting" in process_stderr.getvalue(), timeout=10,
                   what="a progress line on the process's stderr")
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    assert "report: still waiting" in process_stderr.getvalue()


def test_under_runbook_run_a_kernel_leaves_the_progress_lines_to_the_runner(monkeypatch, capfd):
    monkeypatch.setenv("RUNBOOK_HEADLESS", "1")
    monkeypatch.setenv(waiting.RUNNER_REPORTS_ENV, "1")
    with waiting.waiting("pushing the sample history"):
        pass
    assert "pushing the sample history" not in capfd.readouterr().err


def test_under_runbook_run_progress_lines_stand_alone_and_ok_follows_its_title():
    """The runner's title line is left open; "still waiting" lines each start a line of their
    own, and the ending repeats the title before "ok" (one stream, as in a CI log)."""
    from pathlib import Path

    from runbook_lib.app.runner import NotebookResult, ending_line

    out = io.StringIO()
    title = "[9/14] 09_run_and_watch Run and watch ..."
    out.write(title + " ")
    with waiting.log_lines("[9/14] 09_run_and_watch", out, every=0.1, first=0.1) as shown:
        wait_until(lambda: shown.lines >= 2, timeout=10, what="two progress lines")
    done = NotebookResult("09_run_and_watch", Path("x.ipynb"), None, True, 0.4)
    out.write(ending_line(title, done, shown.lines) + "\n")
    lines = out.getvalue().splitlines()
    assert shown.lines >= 2 and lines[0].strip() == title
    assert all(line.startswith("[9/14] 09_run_and_watch: still waiting (")
               for line in lines[1:-1]), lines
    assert lines[-1] == f"{title} ok (0.4s)"


def test_a_quick_notebook_ends_its_own_title_line():
    from pathlib import Path

    from runbook_lib.app.runner import NotebookResult, ending_line

    failed = NotebookResult("01_preflight", Path("x.ipynb"), None, False, 1.25)
    assert ending_line("[1/14] 01_preflight ...", failed, 0) == "FAILED (1.2s)"
