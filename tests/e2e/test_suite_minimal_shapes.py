"""Issue 12: the whole notebook suite and the health report under shape chaos.

A local AWS started with ``RUNBOOK_LOCAL_SHAPES=minimal`` answers the operating reads with only
what botocore's model requires (plus identifiers, statuses and times), list results shuffled.
``runbook run`` of every notebook, with the whole sample history pushed (its release gates
included: a release blocked by the alarm gate, one rolled back after its deploy) and the health
report, must still pass, and its outputs must name the commits the runs built.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from runbook_lib.core.local_credentials import read_credentials
from runbook_lib.core.session import AwsSession
from runbook_lib.local.server import process, shapes
from runbook_lib.operate import summaries

pytestmark = pytest.mark.slow

PIPELINE = "sample-app-pipeline"


@pytest.fixture(scope="module")
def minimal_local(tmp_path_factory):
    state = tmp_path_factory.mktemp("minimal-state")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(shapes.ENV, "minimal")  # the server process inherits it
        # The gates' one-minute waits in seconds, as `make run` rehearses them.
        status = process.start(state, time_factor=20)
    exported = read_credentials(state).environment(status.endpoint_url)  # the printed exports
    env = {**os.environ, **exported, "RUNBOOK_STATE_DIR": str(state)}
    env.pop("AWS_PROFILE", None)
    env.pop(shapes.ENV, None)  # only the server reshapes; the suite is ordinary
    yield status.endpoint_url, env
    process.stop(state)


def _outputs(notebook) -> str:
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(out.get("text", "")) + "".join(
        out.get("data", {}).get("text/plain", "")) for cell in cells
        for out in cell.get("outputs", []))


def test_suite_and_report_name_commits_under_minimal_shapes(minimal_local, tmp_path):
    endpoint, env = minimal_local
    out = tmp_path / "run"
    result = subprocess.run([sys.executable, "-m", "runbook_lib.app.cli", "run", "-p",
                             "apply=true", "-p", "push_sample_history=true", "--report",
                             "--out", str(out)], env=env, capture_output=True, text=True,
                            timeout=3000)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    session = AwsSession("local", "us-east-1", endpoint_url=endpoint)
    runs = summaries.list_executions(session, PIPELINE)
    # A rollback runs no Source action, and its target is in the optional rollbackMetadata
    # the minimal shapes leave out: its commit is the one thing the data does not allow.
    built = [e for e in runs if e.execution_type != "ROLLBACK"]
    commits = {e.commit_id[:7] for e in built}
    assert built and "" not in commits  # every run named, from the Source action alone

    report = (out / "pipeline_health.html").read_text(encoding="utf-8")
    assert all(c in report for c in commits)
    texts = {nb.stem: _outputs(nb) for nb in out.glob("*.ipynb")}
    print({name: text[-2000:] for name, text in texts.items()})  # shown when this test fails
    durations = next(t for name, t in texts.items() if "durations" in name)
    assert all(c in durations for c in commits)
    watched = next(t for name, t in texts.items() if "watch" in name)
    assert any(e.execution_id in watched for e in runs)
    # The gate steps ran whole: one release kept out, one rolled back by CodePipeline.
    assert "kept out of production by the alarm gate" in watched
    assert "rolled back after the deploy by the post-deploy watch" in watched
    assert not any("(commit unknown)" in t or "execution unknown" in t for t in texts.values())
