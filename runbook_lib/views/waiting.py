"""Never a silent wait: elapsed time on every wait longer than a second.

``with waiting("running the sample history"):`` shows, while the block runs,

- in JupyterLab: a spinner with the elapsed time, updated in place, replaced by a tick (or a
  cross) and the total when the block ends;
- headless: a line every few seconds on the process's own stderr (the terminal of
  ``runbook run``), never in the notebook's outputs, so nbval's stored outputs stay
  deterministic;
- in a terminal (``runbook run``): a spinner with the elapsed time at the end of the current
  line, erased when done; a line every few seconds when stderr is not a terminal (CI logs).

Nothing is shown for a block that ends within the first second.
"""

from __future__ import annotations

import contextlib
import html
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import TextIO

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
FIRST_AFTER = 1.0  # seconds before anything is shown
LINE_EVERY = 10.0  # seconds between headless lines
TICK = 0.25  # seconds between spinner frames


def elapsed_text(seconds: float) -> str:
    """12 s, 3 min 05 s: whole seconds, minutes past a minute."""
    whole = int(seconds)
    if whole < 60:
        return f"{whole} s"
    return f"{whole // 60} min {whole % 60:02d} s"


class _Ticker:
    """A daemon thread that calls ``show(elapsed)`` every ``every`` seconds after ``first``."""

    def __init__(self, show: Callable[[float], None], every: float, first: float) -> None:
        self._show, self._every, self._first = show, every, first
        self._stop = threading.Event()
        self._start = time.monotonic()
        self._thread = threading.Thread(target=self._run, daemon=True, name="runbook-waiting")

    def _run(self) -> None:
        if self._stop.wait(self._first):
            return
        while not self._stop.is_set():
            self._show(time.monotonic() - self._start)
            self._stop.wait(self._every)

    def __enter__(self) -> _Ticker:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=2)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self._start


class Shown:
    """How many progress lines a wait wrote: a caller that left a line open (``runbook run``'s
    title) repeats that line's start once lines came in between."""

    def __init__(self) -> None:
        self.lines = 0


@contextlib.contextmanager
def log_lines(label: str, stream: TextIO | None = None, every: float | None = None,
              first: float | None = None) -> Iterator[Shown]:
    """Headless: ``label: still waiting (20 s)`` every ``every`` seconds on ``stream``
    (default: the process's own stderr, which a notebook's outputs do not capture)."""
    out = stream or sys.__stderr__ or sys.stderr  # __stderr__ is None without a console
    every = LINE_EVERY if every is None else every
    first = every if first is None else first
    shown = Shown()

    def _line(elapsed: float) -> None:
        # The first line starts a line of its own: `runbook run` left its title line open.
        lead = "" if shown.lines else "\n"
        shown.lines += 1
        out.write(f"{lead}{label}: still waiting ({elapsed_text(elapsed)})\n")
        out.flush()

    with _Ticker(_line, every, first):
        yield shown


@contextlib.contextmanager
def terminal_spinner(stream: TextIO | None = None) -> Iterator[Shown]:
    """A spinner and the elapsed time at the end of the current terminal line, then erased."""
    out = stream or sys.stderr
    shown = [0]
    frames = iter(range(10**9))

    def _draw(elapsed: float) -> None:
        text = f"{SPINNER[next(frames) % len(SPINNER)]} {elapsed_text(elapsed)}"
        out.write("\b" * shown[0] + text)
        out.flush()
        shown[0] = len(text)

    with _Ticker(_draw, TICK, FIRST_AFTER):
        yield Shown()  # drawn at the end of the open line, and erased: no line of its own
    if shown[0]:
        out.write("\b" * shown[0] + " " * shown[0] + "\b" * shown[0])
        out.flush()


@contextlib.contextmanager
def for_terminal(label: str, stream: TextIO | None = None) -> Iterator[Shown]:
    """A spinner on a terminal, a line every few seconds otherwise (CI logs); yields how many
    lines were written."""
    out = stream or sys.stderr
    interactive = hasattr(out, "isatty") and out.isatty()
    with terminal_spinner(out) if interactive else log_lines(label, out) as shown:
        yield shown


@contextlib.contextmanager
def in_jupyterlab(label: str) -> Iterator[None]:
    """A spinner widget with the elapsed time, updated in place; a tick or cross at the end."""
    import ipywidgets as w
    from IPython.display import display

    status = w.HTML("")  # empty, so a quick block leaves nothing to see
    status.add_class("runbook-waiting")
    display(status)  # from the cell's own thread, so the output lands under the cell
    shown = [False]
    frames = iter(range(10**9))

    def _draw(elapsed: float) -> None:
        shown[0] = True
        frame = SPINNER[next(frames) % len(SPINNER)]
        status.value = f"{frame} {html.escape(label)} · {elapsed_text(elapsed)}"

    ticker = _Ticker(_draw, TICK, FIRST_AFTER)
    ok = False
    try:
        with ticker:
            yield
        ok = True
    finally:
        if shown[0]:
            mark = "✔" if ok else "✖"
            status.value = f"{mark} {html.escape(label)} · {elapsed_text(ticker.elapsed)}"


RUNNER_REPORTS_ENV = "RUNBOOK_RUNNER_REPORTS_PROGRESS"


def waiting(label: str, headless: bool | None = None):
    """The right progress for where the code runs (see the module docstring).

    Under ``runbook run`` the runner already prints a line every few seconds for the notebook
    that is running, so a kernel's own headless lines would say the same thing twice.
    """
    from runbook_lib.core.headless import is_headless

    if is_headless() if headless is None else headless:
        if os.environ.get(RUNNER_REPORTS_ENV) == "1":
            return contextlib.nullcontext()
        return log_lines(label)
    return in_jupyterlab(label)
