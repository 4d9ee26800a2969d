"""The build sandbox's cost: the same builds with and without bubblewrap, interleaved.

One local AWS runs in this process, so the benchmark can switch the sandbox off between builds
(as ``--unsandboxed-builds`` on a machine without bubblewrap would); every figure is the
runner's own record (``startTime``/``endTime`` of the build or of its BUILD phase), so polling
adds nothing to it.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from benchmarks.local_builds import build_seconds
from benchmarks.report import Result, verdict
from runbook_lib.core.session import AwsSession
from runbook_lib.local.codebuild import sandbox
from runbook_lib.local.server.server import LocalAwsServer

ENVIRONMENT = {"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0",
               "computeType": "BUILD_GENERAL1_SMALL"}


def run_all(workdir: Path, runs: int = 7) -> list[Result]:
    if not sandbox.support().available:
        return [Result("build sandbox", f"not measured: {sandbox.support().reason}")]
    server = LocalAwsServer(workdir / "state", port=0).start_thread()
    try:
        cb = AwsSession("local", "us-east-1", endpoint_url=server.endpoint_url).client(
            "codebuild")
        return [_compare(cb, "build start -> end, 1 command", ["echo ok"], runs, "build",
                         lambda s, u: (s - u < 0.150, "target < 150 ms per build")),
                _compare(cb, "BUILD phase, 200 x `sh -c 'echo step'`",
                         ["sh -c 'echo step'"] * 200, runs, "BUILD",
                         lambda s, u: (s / u < 1.1, "target < 10 %"))]
    finally:
        server.shutdown()


def _compare(cb, label: str, commands: list[str], runs: int, span: str, target) -> Result:
    name = f"bench-sandbox-{len(commands)}"
    spec = "version: 0.2\nphases:\n  build:\n    commands:\n" + "".join(
        f"      - {json.dumps(c)}\n" for c in commands)
    cb.create_project(name=name, source={"type": "NO_SOURCE", "buildspec": spec},
                      artifacts={"type": "NO_ARTIFACTS"}, environment=dict(ENVIRONMENT),
                      serviceRole="arn:aws:iam::123456789012:role/bench")
    sandboxed, bare = [], []
    for _ in range(runs):  # interleaved, so drift in machine load hits both alike
        for on, samples in ((True, sandboxed), (False, bare)):
            _force(on)
            try:
                samples.append(build_seconds(
                    cb, cb.start_build(projectName=name)["build"]["id"], span))
            finally:
                _force(True)
    s, u = statistics.median(sandboxed), statistics.median(bare)
    met, text = target(s, u)
    return Result(f"sandbox: {label}",
                  f"sandboxed {s * 1000:.0f} ms, unsandboxed {u * 1000:.0f} ms (medians of "
                  f"{runs}), cost {(s - u) * 1000:+.0f} ms ({(s / u - 1) * 100:+.0f} %); "
                  + verdict(met, text))


def _force(on: bool) -> None:
    """Sandbox on (as probed), or off as where bubblewrap cannot run and the server was
    started with ``--unsandboxed-builds``."""
    sandbox._state["support"] = sandbox.Support(True) if on else sandbox.Support(False, "bench")
    sandbox.allow_unsandboxed(not on)
