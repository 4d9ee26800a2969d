"""Rehearse your own app: two fixture apps that are not the sample app go through the whole
local pipeline with their own buildspec: green, red (triaged from the CodeBuild test report),
green again. See tests/fixtures/apps/README.md."""

from __future__ import annotations

import re
import shutil
import uuid
from pathlib import Path

import pytest

from runbook_lib.buildspec import lint
from runbook_lib.core.params import Params
from runbook_lib.local.server import process
from runbook_lib.operate import executions, history, own_app, sample_repo, test_reports, triage
from runbook_lib.operate.logs import read_build_log
from runbook_lib.setup import bucket, codebuild, config_store, iam, pipeline

APPS = Path(__file__).parents[1] / "fixtures" / "apps"


def _register(session, tmp_path: Path, app: str, fixture: str) -> tuple[Params, Path]:
    """Copy the fixture into a git repository and register it, as `runbook local repo add`."""
    repo = tmp_path / fixture
    shutil.copytree(APPS / fixture, repo)
    sample_repo._git(repo, "init", "-q", "-b", "main")
    sample_repo._git(repo, "add", "-A")
    sample_repo._git(repo, "commit", "-q", "-m", f"Add {fixture}")
    params = Params(app_name=app, source_repo=f"acme/{app}", secret_names=(),
                    secure_config_names=(), cache_mode="none")
    process.register_repo(session.endpoint_url, params.source_repo, repo)
    return params, repo


def _set_up(session, params: Params) -> None:
    """Notebooks 2-7, through the library: the build project reads the repo's buildspec."""
    names = params.names()
    history.prepare_local_source(session, params, apply=True)
    for plan in (bucket.plan_artifact_bucket(session, params, names),
                 bucket.plan_deploy_buckets(session, params, names),
                 iam.plan_roles(session, params, names),
                 codebuild.plan_build_project(session, params, names),
                 config_store.plan_config(session, params, names),
                 pipeline.plan_pipeline(session, params, names)):
        plan.apply()


def _follow(session, params: Params, push=None) -> executions.ExecutionResult:
    """Push (or follow the first run), approve when asked, and return how the run ended."""
    name = params.names().pipeline
    if push is None:
        runs = [e for e in executions.list_executions(session, name) if not e.finished]
        run_id = runs[-1].execution_id
    else:
        known = {e.execution_id for e in executions.list_executions(session, name)}
        push()
        run_id = executions.wait_for_new_execution(session, name, known, timeout=60).execution_id
    result = executions.wait_for_execution(session, name, run_id, 300, stop_at_approval=True)
    answered: set[str] = set()
    while not result.finished:
        for pending in executions.pending_approvals(session, name):
            if pending.execution_id == run_id and pending.token not in answered:
                executions.answer_approval(session, pending, True, "rehearsal")
                answered.add(pending.token)
        result = executions.wait_for_execution(session, name, run_id, 300,
                                               stop_at_approval=True)
    return result


CASES = {
    "python-calc": (Path("calc/__init__.py"), "return a / b", "return a // b + 1",
                    "tests.test_calc.test_divide"),
    "static-site": (Path("site/index.html"), 'href="about.html"', 'href="missing.html"',
                    "links.index.html"),
}


@pytest.mark.parametrize("fixture", sorted(CASES))
def test_own_app_green_red_green(session, tmp_path, fixture):
    path, good, bad, failing = CASES[fixture]
    params, repo = _register(session, tmp_path, f"own-{uuid.uuid4().hex[:6]}", fixture)
    # Notebook 04 checks the repository's own buildspec, not the sample app's.
    own = own_app.repository_buildspec(session, params)
    assert own == str(repo / "buildspec.yml")
    assert lint.check_file(own).ok
    _set_up(session, params)
    assert history.ensure_local_repository(session, params) == repo  # not replaced

    assert _follow(session, params).status == "Succeeded"

    source = (repo / path).read_text()
    red = _follow(session, params, lambda: sample_repo.commit_file(
        repo, path, source.replace(good, bad), "Break it"))
    assert red.status == "Failed"
    failed = executions.failed_action(session, params.names().pipeline, red.execution_id)
    assert failed.stage == "Build"
    reports = test_reports.read_test_reports(session, failed.external_id)
    assert [t.test for t in reports.failing] == [failing]
    verdict = triage.triage_build(read_build_log(session, failed.external_id), reports=reports)
    assert verdict.failing_tests == reports.names()
    assert re.search(r"\d+ passed, 1 failed", reports.render())

    green = _follow(session, params, lambda: sample_repo.commit_file(
        repo, path, source, "Fix it"))
    assert green.status == "Succeeded"
