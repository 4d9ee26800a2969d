"""The lifecycle figure: `make run`'s whole story (14 notebooks, the sample history with its
blocked and rolled-back releases, the health report) in notebook time, on a fresh local AWS
under the rehearsal clock, as `make run` runs it.

Notebook time is the sum of the per-notebook times `runbook run` prints: each from the moment
the runner takes the notebook's kernel (started while the notebooks before ran) to its last
cell, so the sum is the notebooks' own elapsed time end to end, nothing overlapped left out.
Wall time adds the local AWS's start, the HTML still being written and the process around it.
The load average at the end of each run is printed with the figure: on a shared 2-core
machine it moves the figure more than any change does.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.report import Result, verdict

TARGET_SECONDS = 45.0
TIME_FACTOR = "20"  # as the Makefile's run target
_LINE = re.compile(r"\] (\S+)\s.*?(ok|FAILED) \((\d+(?:\.\d+)?)s\)")


def run_all(runs: int = 1) -> list[Result]:
    """One `runbook run` per repetition (each on its own fresh state folder); the median."""
    figures = [_one_run() for _ in range(max(1, runs))]
    figures.sort(key=lambda f: f[0])
    notebook_s, wall_s, failed, slowest, load = figures[len(figures) // 2]
    ok = not failed and notebook_s <= TARGET_SECONDS
    detail = f"; FAILED: {', '.join(failed)}" if failed else ""
    return [Result("lifecycle: make run, notebook time (14 + report)",
                   f"{notebook_s:.1f} s (wall {wall_s:.1f} s; slowest {slowest}; "
                   f"time factor {TIME_FACTOR}; load {load:.1f}){detail}; "
                   + verdict(ok, f"target <= {TARGET_SECONDS:g} s"))]


def _one_run() -> tuple[float, float, list[str], str, float]:
    root = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory(prefix="runbook-lifecycle-") as tmp:
        env = {**os.environ, "RUNBOOK_STATE_DIR": str(Path(tmp) / "state"),
               "RUNBOOK_LOCAL_TIME_FACTOR": TIME_FACTOR}
        env.pop("AWS_ENDPOINT_URL", None)
        start = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "runbook_lib.app.cli", "run", "-p", "apply=true",
             "-p", "push_sample_history=true", "--report", "--out", str(Path(tmp) / "out")],
            cwd=root, env=env, capture_output=True, text=True, timeout=1800)
        wall = time.monotonic() - start
    times = [(m.group(1), m.group(2), float(m.group(3))) for m in _LINE.finditer(done.stdout)]
    failed = [name for name, status, _ in times if status != "ok"]
    if done.returncode and not failed:
        failed = [f"exit {done.returncode}: {done.stderr.strip()[-200:]}"]
    slowest = max(times, key=lambda t: t[2], default=("none", "", 0.0))
    return (sum(t[2] for t in times), wall, failed, f"{slowest[0]} {slowest[2]:.1f} s",
            os.getloadavg()[0])
