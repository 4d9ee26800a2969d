"""Where the suite's time and CPU go: with RUNBOOK_TEST_TIMELINE=<folder>, each pytest process
(the controller and every xdist worker) appends one JSON line per test to
``<folder>/<worker>.jsonl``: node id, wall start and end, and the CPU seconds the worker and the
children it waited for (the `runbook` commands, nbval's kernels) spent meanwhile. Servers started
in a subprocess of their own are not children anyone waits for, so their CPU is not counted.

``python tools/test_timeline.py <folder>`` reads the lines back (per-test CPU, workers' idle
time, the tail). Off unless the variable is set; it costs two ``getrusage`` calls per test.
"""

from __future__ import annotations

import json
import os
import resource
import time
from pathlib import Path

import pytest

_FOLDER = os.environ.get("RUNBOOK_TEST_TIMELINE", "")


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    if not _FOLDER:
        yield
        return
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    start, cpu_before = time.time(), _cpu_seconds()
    yield
    line = {"nodeid": item.nodeid, "worker": worker, "start": start, "end": time.time(),
            "cpu": round(_cpu_seconds() - cpu_before, 3)}
    folder = Path(_FOLDER)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"{worker}.jsonl", "a", encoding="utf-8") as out:
        out.write(json.dumps(line) + "\n")
