"""`runbook report` against a local AWS holding the canonical history, plus the run-and-watch
library on the same history (one history for the module: it takes a while to push)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from datetime import UTC, datetime

import pytest
from helpers import set_up_app

from runbook_lib.core.session import AwsSession
from runbook_lib.operate import executions, history, report, watch
from runbook_lib.views import progress

# Slow; and its module-scoped fixture is minutes of work, so its tests share one worker under
# pytest-xdist (conftest.py) instead of each worker building it again.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("report_command")]


@pytest.fixture(scope="module")
def canonical(local_aws):
    """Setup steps and the canonical history (green, broken test, fix) for a unique app."""
    app = f"rep-{uuid.uuid4().hex[:6]}"
    session = AwsSession("local", "us-east-1", endpoint_url=local_aws.endpoint_url)
    params = set_up_app(session, app)
    names = params.names()
    steps = history.run_canonical_history(session, params, names, timeout=300,
                                          rehearse_gates=False)
    assert [s.status for s in steps] == ["Succeeded", "Failed", "Succeeded"]
    return session, names, steps


def _runbook(local_aws, *args):
    env = {**os.environ, "AWS_ENDPOINT_URL": local_aws.endpoint_url, "AWS_REGION": "us-east-1"}
    env.pop("AWS_PROFILE", None)
    return subprocess.run([sys.executable, "-m", "runbook_lib.app.cli", *args], env=env,
                          capture_output=True, text=True, timeout=300)


def test_report_renders_html_with_code_hidden_and_the_failing_test(canonical, local_aws,
                                                                   tmp_path):
    _, names, _ = canonical
    out = tmp_path / "health.html"
    result = _runbook(local_aws, "report", "--pipeline", names.pipeline, "--days", "1",
                      "--out", str(out))
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    page = out.read_text()
    assert re.search(r'<img[^>]+src="data:image/png;base64,', page)
    body = re.sub(r"<(style|script)\b.*?</\1>", "", page, flags=re.S)
    assert "jp-CodeMirrorEditor" not in body and "jp-InputPrompt" not in body
    assert "highlight hl-ipython3" not in body
    assert "build_health_report(" not in body and "from runbook_lib import" not in body
    assert "greets by name" in page
    assert "failure rate" in page


def test_missing_pipeline_exits_non_zero_naming_it(local_aws, tmp_path):
    result = _runbook(local_aws, "report", "--pipeline", "no-such-pipeline",
                      "--out", str(tmp_path / "r.html"))
    assert result.returncode != 0
    assert "pipeline no-such-pipeline not found" in result.stderr
    assert not (tmp_path / "r.html").exists()


def test_health_report_data(canonical):
    session, names, steps = canonical
    health = report.build_health_report(session, names.pipeline, 1)
    assert [e.execution_id for e in health.executions] == [s.execution_id
                                                           for s in reversed(steps)]
    assert health.failure_rate == pytest.approx(1 / 3)
    (failure,) = health.failures
    assert failure.details.stage == "Build"
    assert "greets by name" in failure.failing_tests
    assert any(line.startswith("not ok") for line in failure.excerpt)
    with pytest.raises(report.ReportError, match="no executions since"):
        report.build_health_report(session, names.pipeline, 1,
                                   now=datetime(2000, 1, 1, tzinfo=UTC))


def test_watch_reports_each_stage_once_and_ends_in_the_final_state(canonical):
    session, names, steps = canonical
    lines: list[str] = []
    chosen = executions.choose_execution(session, names.pipeline, "latest")
    assert chosen == steps[-1].execution_id
    final = watch.watch_execution(session, names.pipeline, chosen,
                                       progress.TextProgress(lines.append), timeout=30)
    assert final.status == "Succeeded" and final.fraction == 1.0
    stage_names = [s.name for s in final.stages]
    assert [line.split(":")[0] for line in lines] == stage_names
    assert {row[1] for row in progress.stage_rows(final)} == {"Succeeded"}
    assert executions.failure_details(session, names.pipeline, chosen) is None


def test_failure_points_at_build_and_log(canonical):
    session, names, steps = canonical
    failure = executions.latest_failure(session, names.pipeline)
    assert failure.execution_id == steps[1].execution_id
    assert (failure.stage, failure.build_status) == ("Build", "FAILED")
    assert failure.build_id.startswith(f"{names.build_project}:")
    assert failure.log_group == names.log_group and failure.log_stream
    events = session.client("logs").get_log_events(
        logGroupName=failure.log_group, logStreamName=failure.log_stream)["events"]
    assert events


def test_health_report_reads_each_page_once_and_shows_progress(canonical):
    session, names, _ = canonical
    session.recorder.reset()
    lines: list[str] = []
    health = report.build_health_report(session, names.pipeline, 1, max_failures=0,
                                        on_progress=lines.append)
    reads = session.recorder.reads
    assert reads[("codepipeline", "ListPipelineExecutions")] == 1
    assert reads[("codepipeline", "ListActionExecutions")] == 1
    assert reads[("codepipeline", "GetPipeline")] == 1
    assert len(health.records) == len(health.executions) == 3
    assert lines[0] == "read 3 executions" and lines[-1].startswith("read ")
