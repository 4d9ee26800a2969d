"""The canonical history's release-gate chapter on the local AWS: after the three pushes, one
release is kept out of production by the alarm gate and one is rolled back after its deploy;
run-and-watch explains both, and the gate counts see them."""

from __future__ import annotations

import uuid

import pytest

from runbook_lib.core.params import Params
from runbook_lib.core.session import AwsSession
from runbook_lib.local.codepipeline.rules import MINUTE_ENV
from runbook_lib.operate import gates, history
from runbook_lib.setup import bucket, codebuild, config_store, iam, pipeline

pytestmark = pytest.mark.slow


def test_history_blocks_one_release_and_rolls_one_back(local_aws, monkeypatch):
    monkeypatch.setenv(MINUTE_ENV, "0.5")  # a gate's minute lasts half a second here
    app = f"gat-{uuid.uuid4().hex[:6]}"
    params = Params(app_name=app, source_repo=f"acme/{app}", secret_names=(),
                    secure_config_names=())
    session = AwsSession("local", "us-east-1", endpoint_url=local_aws.endpoint_url)
    names = params.names()
    for plan in (bucket.plan_artifact_bucket, bucket.plan_deploy_buckets, iam.plan_roles,
                 codebuild.plan_build_project, config_store.plan_config):
        plan(session, params, names).apply()
    history.prepare_local_source(session, params, True)
    pipeline.plan_pipeline(session, params, names).apply()
    steps = history.run_canonical_history(session, params, names, timeout=300)
    assert [s.status for s in steps] == ["Succeeded", "Failed", "Succeeded", "Failed", "Failed"]
    blocked, rolled_back = steps[3], steps[4]
    assert "alarm gate" in blocked.row()[3] and "ALARM" in blocked.row()[3]
    assert "rolled back" in rolled_back.row()[3]
    assert ("Deploy-production", "Failed") in blocked.stages
    counts = gates.gate_counts(session, names.pipeline)
    assert (counts.blocked, counts.rolled_back) == (1, 1)
    production = [g for g in gates.gate_states(session, names.pipeline)
                  if g.stage == "Deploy-production"]
    assert {g.block: g.status for g in production} == {"beforeEntry": "Succeeded",
                                                       "onSuccess": "Failed"}
