"""The canonical history's release-gate chapter on the local AWS: after the three pushes, one
release is kept out of production by the alarm gate and one is rolled back after its deploy;
run-and-watch explains both, and the gate counts see them."""

from __future__ import annotations

import uuid

import pytest
from helpers import set_up_app

from runbook_lib.core.session import AwsSession
from runbook_lib.local.codepipeline.rules import MINUTE_ENV
from runbook_lib.operate import gates, history

pytestmark = pytest.mark.slow


def test_history_blocks_one_release_and_rolls_one_back(local_aws, monkeypatch):
    # A gate's minute lasts two seconds here: the post-deploy watch is the window in which the
    # rehearsal sees the watch and fires the alarm (a poll of several reads, seconds under load).
    monkeypatch.setenv(MINUTE_ENV, "2")
    app = f"gat-{uuid.uuid4().hex[:6]}"
    session = AwsSession("local", "us-east-1", endpoint_url=local_aws.endpoint_url)
    params = set_up_app(session, app)
    names = params.names()
    steps = history.run_canonical_history(session, params, names, timeout=300)
    assert [s.status for s in steps] == ["Succeeded", "Failed", "Succeeded", "Failed", "Failed"]
    blocked, rolled_back = steps[3], steps[4]
    assert "alarm gate" in blocked.row()[3] and "ALARM" in blocked.row()[3]
    assert "rolled back" in rolled_back.row()[3]
    assert ("Deploy-production", "Failed") in blocked.stages
    # the rollback has taken the stage over by the time the record is read: still its own row
    assert ("Deploy-production", "Failed") in rolled_back.stages, rolled_back.stages
    counts = gates.gate_counts(session, names.pipeline)
    assert (counts.blocked, counts.rolled_back) == (1, 1)
    production = [g for g in gates.gate_states(session, names.pipeline)
                  if g.stage == "Deploy-production"]
    assert {g.block: g.status for g in production} == {"beforeEntry": "Succeeded",
                                                       "onSuccess": "Failed"}
    _defaults_find_the_interesting_thing(session, params, names, steps)


def _defaults_find_the_interesting_thing(session, params, names, steps):
    """After the history, with default parameters: triage's build is the broken test's (not
    the gate-stopped or rolled-back runs', which had no failed build); watching follows the
    newest run a push started, not CodePipeline's automated rollback; the newest failure is
    found; and the pipeline the rehearsal gated reads as converged, the rehearsal named."""
    from runbook_lib.operate import executions, logs, overview, summaries

    broken = steps[1]
    ref = logs.locate_build(session, names.pipeline)
    assert (ref.execution_id, ref.status) == (broken.execution_id, "Failed"), ref.describe()
    newest = summaries.list_executions(session, names.pipeline, limit=1)[0]
    assert executions.is_automated_rollback(newest), newest
    chosen = executions.choose_execution(session, names.pipeline, "latest")
    assert chosen == steps[4].execution_id
    assert executions.latest_failure(session, names.pipeline) is not None
    pipeline_step = next(s for s in overview.SETUP_STEPS if s.name == "pipeline")
    state = overview.read_step(session, params, names, pipeline_step)
    assert (state.state, state.detail) == (overview.CONVERGED, overview.REHEARSED), state
    assert "approved for you" in steps[0].row()[3]
    assert "on your behalf" in history.answered_text(steps)
    gated = executions.run_failure(session, names.pipeline, steps[3].execution_id)
    assert (gated.stage, gated.action) == ("Deploy-production", executions.STAGE_CONDITION)
    assert "ALARM" in gated.summary
