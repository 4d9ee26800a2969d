"""Rehearse your own app: two fixture apps that are not the sample app, through the local pipeline.

As the README's "Rehearse your own app" says: register the repository with `runbook local repo
add`, point the suite at it, and the build runs the repository's own buildspec.yml (checked in
notebook 04). Each app goes green (its first run reaches the approval), red (a commit breaks a
test: the run fails in the build, and build-log triage names the failing test from the build's
test report), and green again.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from runbook_lib.core.session import AwsSession
from runbook_lib.local.server import process
from runbook_lib.operate import executions, pipeline_state, summaries

pytestmark = pytest.mark.slow

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "apps"
RUNBOOK = str(Path(sys.executable).with_name("runbook"))
SETUP = ["preflight", "bucket", "iam", "buildspec", "build-project", "config", "pipeline",
         "monitoring", "run"]
GIT = ["git", "-c", "user.name=Operator", "-c", "user.email=operator@example.com"]

# app -> (file the breaking change edits, text replaced, replacement, failing test named)
APPS = {
    "pylib": ("src/pylib/__init__.py", '.strip("-")', "", "test_words_are_joined_by_dashes"),
    "site": ("site/index.html", 'href="about.html"', 'href="contact.html"', "index.html"),
}


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    state = tmp_path_factory.mktemp("own-app-state")
    status = process.start(state)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ENDPOINT_URL=status.endpoint_url, RUNBOOK_STATE_DIR=str(state),
               AWS_REGION="us-east-1")
    yield status.endpoint_url, env
    process.stop(state)


def _git(repo: Path, *args: str) -> None:
    subprocess.run([*GIT, *args], cwd=repo, check=True, capture_output=True)


def _runbook(env: dict, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([RUNBOOK, *args], env=env, capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    return done


def _outputs(notebook: Path) -> str:
    cells = json.loads(notebook.read_text())["cells"]
    return "\n".join("".join(o.get("text", "")) + json.dumps(o.get("data", {}))
                     for c in cells if c["cell_type"] == "code" for o in c.get("outputs", []))


def _push_and_wait(session: AwsSession, pipeline: str, repo: Path, message: str):
    known = {e.execution_id for e in summaries.list_executions(session, pipeline)}
    _git(repo, "commit", "-qam", message)
    run = executions.wait_for_new_execution(session, pipeline, known, timeout=120)
    return executions.wait_for_execution(session, pipeline, run.execution_id, 600,
                                         stop_at_approval=True)


@pytest.mark.parametrize("app", sorted(APPS))
def test_own_app_green_red_green(app, local, tmp_path):
    endpoint, env = local
    repo = tmp_path / app
    shutil.copytree(FIXTURES / app, repo, ignore=shutil.ignore_patterns("__pycache__"))
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", f"{app}: first release")
    repo_id = f"acme/{app}"
    _runbook(env, "local", "repo", "add", repo_id, str(repo))

    params = ["-p", "apply=True", "-p", f"app_name={app}", "-p", f"source_repo={repo_id}"]
    out = tmp_path / "out"
    _runbook(env, "run", *params, "--only", *SETUP, "--out", str(out))

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
    _runbook(env, "run", "-p", f"app_name={app}", "-p", f"source_repo={repo_id}",
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
