"""What the benchmarks that run builds on a local AWS share: a build's measured span.

The span is read from the build's own record (its start and end, or a phase's), as the runner
measured it, so the benchmark's polling adds nothing to the figure; it polls slowly, leaving the
two cores to the build.
"""

from __future__ import annotations

import time


def build_seconds(cb, build_id: str, span: str = "BUILD", timeout: float = 300) -> float:
    """Seconds of ``span`` of a build that must succeed: ``"build"`` for the whole build,
    else a phase type (``BUILD``, ``INSTALL`` ...). Raises when it fails or runs past
    ``timeout`` seconds, naming the build."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        build = cb.batch_get_builds(ids=[build_id])["builds"][0]
        if build["buildComplete"]:
            if build["buildStatus"] != "SUCCEEDED":
                raise RuntimeError(f"benchmark build {build_id} ended {build['buildStatus']}")
            if span == "build":
                return (build["endTime"] - build["startTime"]).total_seconds()
            phase = next(p for p in build["phases"] if p["phaseType"] == span)
            return (phase["endTime"] - phase["startTime"]).total_seconds()
        time.sleep(0.25)
    raise TimeoutError(f"benchmark build {build_id} still running after {timeout:.0f}s")
