"""The README's commands, typed as a stranger types them: `make run` twice in a row from an empty
state, and `runbook run -p apply=True` alone, which must finish although its first run waits
for a human at the manual approval.

Each runs in a clean environment (no AWS_* variables, a state folder of its own) and must end
with exit 0, no traceback and no stray kernel message, in bounded time.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
RUNBOOK = str(Path(sys.executable).with_name("runbook"))
NOISE = ("Traceback", "KeyboardInterrupt", "[IPKernelApp]")


def _quickstart_commands() -> list[str]:
    """The commands of the README's first shell block, comments dropped."""
    block = re.search(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert block, "the README has no quick-start shell block"
    return [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]


def _clean_env(state: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and k not in ("RUNBOOK_HEADLESS", "MPLBACKEND")}
    env["RUNBOOK_STATE_DIR"] = str(state)
    return env


def _run(command: list[str], env: dict[str, str], timeout: float) -> str:
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    for noise in NOISE:
        assert noise not in output, f"{noise!r} in the output of {command}:\n{output[-4000:]}"
    return output


def _out_dir(output: str) -> Path:
    found = re.search(r"executed notebooks and HTML: (\S+)", output)
    assert found, output[-2000:]
    return Path(found.group(1))


def test_make_run_twice_in_a_row(tmp_path):
    assert "make run" in _quickstart_commands()
    env = _clean_env(tmp_path / "state")
    # The second run finds the parameters file rehearsing another app (or pointing at real AWS)
    # leaves behind: make run still rehearses the sample app locally, and leaves the file be.
    left = tmp_path / "runbook.toml"
    left.write_text('target = "aws"\n\n[parameters]\napp_name = "my-app"\n'
                    'source_repo = "my-org/my-app"\n')
    outs = []
    try:
        for attempt in range(2):
            output = _run(["make", "run"], env | ({"RUNBOOK_PARAMS_FILE": str(left)}
                                                  if attempt else {}), timeout=900)
            out = _out_dir(output)
            outs.append(out)
            assert (out / "index.html").exists() and (out / "pipeline_health.html").exists()
            assert "[report] pipeline health ... ok" in output
            assert "sample-app-pipeline" in output and "my-app" not in output
        assert left.read_text().startswith('target = "aws"')
        _fleet_report_agrees_with_the_health_report(env)
    finally:
        for out in outs:
            if out.is_relative_to(ROOT / "out"):
                shutil.rmtree(out, ignore_errors=True)


def _fleet_report_agrees_with_the_health_report(env: dict[str, str]) -> None:
    """The fleet report's done-when on make run's own pipeline: its sample history reached the
    archive through the real event path (rule -> Firehose -> gzipped objects in S3, plus the
    backfill of the run that started before the archive existed), and the fleet figures equal
    the pipeline's own health report for the same window."""
    from runbook_lib.core.params import Params
    from runbook_lib.core.session import AwsSession
    from runbook_lib.operate import durations, fleet, report
    from runbook_lib.setup.event_archive_spec import ArchiveNames

    exports = dict(line[len("export "):].split("=", 1) for line in _run(
        [RUNBOOK, "local", "env"], env, timeout=120).splitlines() if line.startswith("export "))
    keys = {k: exports[k].strip("'") for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RUNBOOK_STATE_DIR", env["RUNBOOK_STATE_DIR"])
        for key, value in keys.items():
            patch.setenv(key, value)
        session = AwsSession("local", "us-east-1", endpoint_url=exports["AWS_ENDPOINT_URL"])
        params = Params(app_name="sample-app")
        names = params.names()
        window = fleet.window_for(30)
        found = fleet.build_fleet_report(session, ArchiveNames.derive(names, params).bucket,
                                         window)
        health = report.build_health_report(session, names.pipeline, 30)
    _run([RUNBOOK, "local", "stop"], env, timeout=120)  # `local env` started it again
    row = {r["pipeline"]: r for r in found.tables["pipelines"].dicts()}[names.pipeline]
    counts = health.status_counts()
    assert row["runs"] == len(health.executions) > 3, (row, counts)
    assert (row["succeeded"], row["failed"]) == (counts.get("Succeeded", 0),
                                                 counts.get("Failed", 0)), (row, counts)
    assert row["failure_rate"] == pytest.approx(health.failure_rate)
    ok = [report.execution_seconds(e) for e in health.executions if e.status == "Succeeded"]
    median = durations.percentile([s for s in ok if s is not None], 50)
    assert row["p50_ms"] / 1000 == pytest.approx(median, abs=1.0)  # event time vs lastUpdate


def test_runbook_run_apply_alone_reports_the_waiting_approval(tmp_path):
    """No sample history: the pipeline's first run waits at the approval, and the run says so
    (stage, action, how to answer) instead of waiting ten minutes and failing."""
    env = _clean_env(tmp_path / "state")
    output = _run([RUNBOOK, "run", "-p", "apply=True", "--out", str(tmp_path / "out")], env,
                  timeout=600)
    watched = (tmp_path / "out" / "09_run_and_watch.ipynb").read_text()
    assert "waits for approval at Approve-production/Approve" in watched
    assert "aws codepipeline put-approval-result --pipeline-name sample-app-pipeline" in watched
    assert re.search(r"\[(\d+)/\1\] rollback +Rollback \.\.\. ok", output), output[-2000:]
    rollback = (tmp_path / "out" / "13_rollback.ipynb").read_text()
    assert "nothing to roll back" in rollback
