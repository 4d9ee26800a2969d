"""Rehearse your own app: two fixture apps that are not the sample app, through the local pipeline.

As the README's "Rehearse your own app" says: register the repository with `runbook local repo
add`, point the suite at it, and the build runs the repository's own buildspec.yml (checked in
notebook 04). Each app goes green (its first run reaches the approval), red (a commit breaks a
test: the run fails in the build, and build-log triage names the failing test from the build's
test report), and green again.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from helpers import git, operator_local, operator_runbook, push_and_follow

from runbook_lib.core.session import AwsSession
from runbook_lib.operate import pipeline_state, summaries

pytestmark = pytest.mark.slow

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "apps"
SETUP = ["preflight", "bucket", "iam", "buildspec", "build-project", "config", "pipeline",
         "monitoring", "run"]

# app -> (file the breaking change edits, text replaced, replacement, failing test named)
APPS = {
    "pylib": ("src/pylib/__init__.py", '.strip("-")', "", "test_words_are_joined_by_dashes"),
    "site": ("site/index.html", 'href="about.html"', 'href="contact.html"', "index.html"),
}


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    with operator_local(tmp_path_factory.mktemp("own-app-state")) as started:
        yield started


def _outputs(notebook: Path) -> str:
    cells = json.loads(notebook.read_text())["cells"]
    return "\n".join("".join(o.get("text", "")) + json.dumps(o.get("data", {}))
                     for c in cells if c["cell_type"] == "code" for o in c.get("outputs", []))


def _push_and_wait(session: AwsSession, pipeline: str, repo: Path, message: str):
    return push_and_follow(session, pipeline, lambda: git(repo, "commit", "-qam", message))


@pytest.mark.parametrize("app", sorted(APPS))
def test_own_app_green_red_green(app, local, tmp_path):
    endpoint, env = local
    repo = tmp_path / app
    shutil.copytree(FIXTURES / app, repo, ignore=shutil.ignore_patterns("__pycache__"))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", f"{app}: first release")
    repo_id = f"acme/{app}"
    operator_runbook(env, "local", "repo", "add", repo_id, str(repo))

    params = ["-p", "apply=True", "-p", f"app_name={app}", "-p", f"source_repo={repo_id}"]
    out = tmp_path / "out"
    operator_runbook(env, "run", *params, "--only", *SETUP, "--out", str(out))

    # Notebook 04 checked the repository's own buildspec, not a template.
    assert f"{repo_id}@main:buildspec.yml: valid" in _outputs(out / "04_buildspec.ipynb")
    # Green: the run that creating the pipeline started built and waits for approval.
    assert "waits for approval at Approve-production/Approve" in _outputs(
        out / "09_run_and_watch.ipynb")

    session = AwsSession("local", "us-east-1", endpoint_url=endpoint)
    pipeline = f"{app}-pipeline"
    path, old, new, failing = APPS[app]
    source = repo / path
    original = source.read_text()
    source.write_text(original.replace(old, new))
    red = _push_and_wait(session, pipeline, repo, "a change that breaks a test")
    assert red.status == "Failed", (red, [(e.execution_id, e.status, e.commit_id)
                                          for e in summaries.list_executions(session, pipeline)])
    assert [s for s, status in pipeline_state.stage_statuses(session, pipeline, red.execution_id)
            if status == "Failed"] == ["Build"]

    triage_out = tmp_path / "triage"
    operator_runbook(env, "run", "-p", f"app_name={app}", "-p", f"source_repo={repo_id}",
                     "--only", "build-logs", "--out", str(triage_out))
    assert failing in _outputs(triage_out / "10_build_logs.ipynb")

    # The first release still holds the production approval: answer it, as an operator would,
    # so the fix's run can reach the approval itself.
    for approval in pipeline_state.pending_approvals(session, pipeline):
        pipeline_state.answer_approval(session, approval, True, "first release checked in staging")
    source.write_text(original)
    green = _push_and_wait(session, pipeline, repo, "fix")
    assert not green.finished and green.status == "InProgress", green
    assert dict(pipeline_state.stage_statuses(session, pipeline, green.execution_id))[
        "Build"] == "Succeeded"
