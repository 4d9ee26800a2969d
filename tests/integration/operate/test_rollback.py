"""Rollback on the local AWS: planning, RollbackStage and a pinned re-run, verification."""

from __future__ import annotations

import uuid

import pytest
from helpers import approve_and_finish, push_to_approval, set_up_app

from runbook_lib.core.errors import ParameterError
from runbook_lib.core.session import AwsSession
from runbook_lib.operate import history, rollback, sample_repo

A, B, C = "a" * 40, "b" * 40, "c" * 40


@pytest.fixture(scope="module")
def two_releases(full_stack):
    """An app with two production deployments of two different commits."""
    session, params = full_stack
    name = params.names().pipeline
    repo = history.ensure_local_repository(session, params)
    for note in ("one", "two"):
        run = push_to_approval(session, params,
                               lambda n=note: sample_repo.push_release_note(repo, n, "main"))
        approve_and_finish(session, name, run)
    return session, params


def test_rollback_by_stage_then_by_revision(two_releases):
    session, params = two_releases
    names = params.names()
    deployments = rollback.production_deployments(session, names.pipeline, "Deploy-production")
    assert [d.message for d in deployments[:2]] == ["Release note: two", "Release note: one"]
    current, previous = deployments[0], deployments[1]
    assert rollback.verify_production(session, params, names, current.commit_id).ok

    session.recorder.reset()
    rb = rollback.plan_rollback(session, params, names)
    assert session.recorder.mutating_count == 0
    assert rb.target.execution_id == previous.execution_id and rb.plan.has_changes
    assert rollback.follow(session, rb) is None
    assert "no rollback started" in rollback.outcome_text(rb, None)

    rb.plan.apply()
    result = rollback.follow(session, rb, 300)
    assert result.status == "Succeeded"
    check = rollback.verify_after(session, params, names, rb, result)
    assert check.ok, check.render()
    assert f"({previous.short})" in check.label

    # Production now runs "one" again; roll forward to "two" by a pinned, re-approved run.
    rb = rollback.plan_rollback(session, params, names, target_commit=current.commit_id[:10],
                                method="revision")
    assert rb.needs_approval and rb.target.commit_id == current.commit_id
    rb.plan.apply()
    waiting = rollback.follow(session, rb, 300)
    assert not waiting.finished and "approve it in notebook 11" in rollback.outcome_text(
        rb, waiting)
    assert rollback.verify_after(session, params, names, rb, waiting).ok is None
    approve_and_finish(session, names.pipeline, rb.execution_id)
    assert rollback.verify_production(session, params, names, current.commit_id).ok

    same = rollback.plan_rollback(session, params, names, target_commit=current.commit_id)
    assert not same.plan.has_changes


def test_unknown_method_is_refused_before_any_call(two_releases):
    session, params = two_releases
    session.recorder.reset()
    with pytest.raises(ParameterError):
        rollback.plan_rollback(session, params, params.names(), method="redeploy")
    assert sum(session.recorder.calls.values()) == 0


def test_other_deploy_providers_are_verified_by_hand(two_releases):
    session, params = two_releases
    check = rollback.verify_production(session, params.replace(deploy_provider="ecs"),
                                       params.names(), A)
    assert check.ok is None and "manual" in check.render()


def test_nothing_deployed_yet_is_a_plan_with_nothing_to_do(local_aws):
    """A fresh pipeline whose first run waits for approval: the runbook reports, not fails."""
    session = AwsSession("local", "us-east-1", endpoint_url=local_aws.endpoint_url)
    params = set_up_app(session, f"rn-{uuid.uuid4().hex[:6]}")
    names = params.names()
    session.recorder.reset()
    rb = rollback.plan_rollback(session, params, names)
    assert session.recorder.mutating_count == 0
    assert rb.target is None and not rb.plan.has_changes
    assert rollback.follow(session, rb) is None
    assert rollback.outcome_text(rb, None) == (
        "nothing to roll back: nothing has been deployed to production yet, so there is "
        "nothing to roll back to")
    check = rollback.verify_after(session, params, names, rb, None)
    assert check.ok is None and "nothing has been deployed" in check.render()
    # A target the operator names and that does not exist is still an error.
    with pytest.raises(rollback.NoRollbackTarget):
        rollback.plan_rollback(session, params, names, target_execution_id="nope")
