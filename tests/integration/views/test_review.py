"""Plans as a review against the local AWS: nb.review_plan refuses a look-alike, and headless
runs fail."""

from __future__ import annotations

import pytest

from runbook_lib.core.errors import RunbookError
from runbook_lib.core.headless import HEADLESS_ENV
from runbook_lib.views import review


def test_nb_review_plan_refuses_a_look_alike_and_headless_runs_fail(session, params, names,
                                                                      monkeypatch, capsys):
    from runbook_lib.setup import bucket
    from runbook_lib.views import nb

    session.client("s3").create_bucket(Bucket=names.artifact_bucket)  # no ownership tags
    ctx = nb.Context(params, session, names)
    plan = nb.review_plan(bucket.plan_artifact_bucket, ctx)
    assert plan.step == "artifact bucket" and not plan.changes
    assert names.artifact_bucket in review.apply_blocked_reason(plan)
    monkeypatch.setenv(HEADLESS_ENV, "1")
    with pytest.raises(RunbookError, match="artifact bucket was not applied"):
        nb.show_plan(plan, apply=False)
    assert f"refused: s3 bucket {names.artifact_bucket}" in capsys.readouterr().out
