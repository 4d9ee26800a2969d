"""The setup overview (`runbook status`, notebook 00): its AWS call count and wall time, on an
empty account and on a converged one, reading steps in parallel and one at a time.

Run by ``make bench`` beside the engine figures, against a local AWS of its own (a subprocess).
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

from benchmarks.engine_bench import Result
from runbook_lib.core.params import Params
from runbook_lib.core.session import AwsSession
from runbook_lib.local.server import process
from runbook_lib.operate import overview


def run_all(workdir: Path, runs: int = 5) -> list[Result]:
    status = process.start(workdir / "overview-state")
    saved = os.environ.get("RUNBOOK_HEADLESS")
    os.environ["RUNBOOK_HEADLESS"] = "1"  # local placeholders for secrets while applying
    try:
        session = AwsSession("local", "us-east-1", endpoint_url=status.endpoint_url)
        params = Params(app_name="bench-overview")
        names = params.names(session.account_id())
        results = [_measure("overview, empty account", session, params, names, runs)]
        for step in overview.SETUP_STEPS:
            for plan_fn in step.plans:
                plan_fn(session, params, names).apply()
        results.append(_measure("overview, converged", session, params, names, runs))
        results.append(_measure("overview, converged, 1 worker", session, params, names, runs,
                                workers=1))
        return results
    finally:
        if saved is None:
            os.environ.pop("RUNBOOK_HEADLESS", None)
        else:
            os.environ["RUNBOOK_HEADLESS"] = saved
        process.stop(workdir / "overview-state")


def _measure(label: str, session: AwsSession, params: Params, names, runs: int,
             workers: int = 4) -> Result:
    """Median seconds of ``runs`` overviews, and the calls one overview makes."""
    seconds = []
    for _ in range(runs):
        session.recorder.reset()
        start = time.perf_counter()
        overview.read_steps(session, params, names, workers=workers)
        overview.read_latest_run(session, names.pipeline)
        seconds.append(time.perf_counter() - start)
    reads = sum(session.recorder.reads.values())
    return Result(label, f"median {statistics.median(seconds) * 1000:.0f} ms over {runs} runs, "
                         f"{reads} read calls, {session.recorder.mutating_count} mutating")
